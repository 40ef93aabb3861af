-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_off_session_payments" table
CREATE TABLE `new_off_session_payments` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `backup_payment_methods` json NULL, `amount` integer NOT NULL, `currency` text NOT NULL, `cadence` text NOT NULL, `capture_method` text NOT NULL DEFAULT ('automatic'), `target_date` text NULL, `description` text NULL, `statement_descriptor_suffix` text NULL, `metadata` json NULL, `status` text NOT NULL DEFAULT ('pending'), `failure_reason` text NULL, `amount_capturable` integer NOT NULL DEFAULT (0), `amount_received` integer NOT NULL DEFAULT (0), `retry_strategy` text NOT NULL DEFAULT ('none'), `max_retries` integer NOT NULL DEFAULT (0), `retry_schedule` json NULL, `holdout` bool NOT NULL DEFAULT (false), `holdout_strategy` text NOT NULL DEFAULT ('scheduled'), `model_version` text NULL, `retry_until` datetime NULL, `attempt_count` integer NOT NULL DEFAULT (0), `next_attempt_at` datetime NULL, `next_attempt_plan` json NULL, `capture_before` datetime NULL, `pending_action` text NULL, `capture_amount` integer NULL, `canceled_at` datetime NULL, `succeeded_at` datetime NULL, `failed_at` datetime NULL, `due_at` datetime NULL, `lease_owner` text NULL, `lease_expires_at` datetime NULL, `version` integer NOT NULL DEFAULT (0), `customer_id` text NOT NULL, `mandate_id` text NOT NULL, `test_clock_id` text NULL, `payment_method_id` text NOT NULL, `retry_policy_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `off_session_payments_customers_payments` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE NO ACTION, CONSTRAINT `off_session_payments_mandates_payments` FOREIGN KEY (`mandate_id`) REFERENCES `mandates` (`id`) ON DELETE NO ACTION, CONSTRAINT `off_session_payments_test_clocks_test_clock` FOREIGN KEY (`test_clock_id`) REFERENCES `test_clocks` (`id`) ON DELETE SET NULL, CONSTRAINT `off_session_payments_payment_methods_payments` FOREIGN KEY (`payment_method_id`) REFERENCES `payment_methods` (`id`) ON DELETE NO ACTION, CONSTRAINT `off_session_payments_retry_policies_payments` FOREIGN KEY (`retry_policy_id`) REFERENCES `retry_policies` (`id`) ON DELETE SET NULL);
-- Copy rows from old table "off_session_payments" to new temporary table "new_off_session_payments"
INSERT INTO `new_off_session_payments` (`id`, `created_at`, `updated_at`, `account_id`, `backup_payment_methods`, `amount`, `currency`, `cadence`, `capture_method`, `target_date`, `description`, `statement_descriptor_suffix`, `metadata`, `status`, `failure_reason`, `amount_capturable`, `amount_received`, `retry_strategy`, `max_retries`, `retry_schedule`, `holdout`, `model_version`, `retry_until`, `attempt_count`, `next_attempt_at`, `next_attempt_plan`, `capture_before`, `pending_action`, `capture_amount`, `canceled_at`, `succeeded_at`, `failed_at`, `due_at`, `lease_owner`, `lease_expires_at`, `version`, `customer_id`, `mandate_id`, `test_clock_id`, `payment_method_id`, `retry_policy_id`) SELECT `id`, `created_at`, `updated_at`, `account_id`, `backup_payment_methods`, `amount`, `currency`, `cadence`, `capture_method`, `target_date`, `description`, `statement_descriptor_suffix`, `metadata`, `status`, `failure_reason`, `amount_capturable`, `amount_received`, `retry_strategy`, `max_retries`, `retry_schedule`, `holdout`, `model_version`, `retry_until`, `attempt_count`, `next_attempt_at`, `next_attempt_plan`, `capture_before`, `pending_action`, `capture_amount`, `canceled_at`, `succeeded_at`, `failed_at`, `due_at`, `lease_owner`, `lease_expires_at`, `version`, `customer_id`, `mandate_id`, `test_clock_id`, `payment_method_id`, `retry_policy_id` FROM `off_session_payments`;
-- Drop "off_session_payments" table after copying rows
DROP TABLE `off_session_payments`;
-- Rename temporary table "new_off_session_payments" to "off_session_payments"
ALTER TABLE `new_off_session_payments` RENAME TO `off_session_payments`;
-- Create index "offsessionpayment_account_id_created_at" to table: "off_session_payments"
CREATE INDEX `offsessionpayment_account_id_created_at` ON `off_session_payments` (`account_id`, `created_at`);
-- Create index "offsessionpayment_due_at" to table: "off_session_payments"
CREATE INDEX `offsessionpayment_due_at` ON `off_session_payments` (`due_at`) WHERE due_at IS NOT NULL;
-- Create index "offsessionpayment_account_id_status" to table: "off_session_payments"
CREATE INDEX `offsessionpayment_account_id_status` ON `off_session_payments` (`account_id`, `status`);
-- Add column "demoted_at" to table: "retry_models"
ALTER TABLE `retry_models` ADD COLUMN `demoted_at` datetime NULL;
-- Add column "demotion_reason" to table: "retry_models"
ALTER TABLE `retry_models` ADD COLUMN `demotion_reason` text NULL;
-- Create "new_retry_policies" table
CREATE TABLE `new_retry_policies` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `name` text NOT NULL, `strategy` text NOT NULL, `window` text NOT NULL, `window_seconds` integer NOT NULL, `max_retries` integer NOT NULL, `schedule` json NULL, `holdout_share` real NOT NULL DEFAULT (0), `holdout_strategy` text NOT NULL DEFAULT ('scheduled'), `is_default` bool NOT NULL DEFAULT (false), PRIMARY KEY (`id`));
-- Copy rows from old table "retry_policies" to new temporary table "new_retry_policies"
INSERT INTO `new_retry_policies` (`id`, `created_at`, `updated_at`, `account_id`, `name`, `strategy`, `window`, `window_seconds`, `max_retries`, `schedule`, `holdout_share`, `is_default`) SELECT `id`, `created_at`, `updated_at`, `account_id`, `name`, `strategy`, `window`, `window_seconds`, `max_retries`, `schedule`, `holdout_share`, `is_default` FROM `retry_policies`;
-- Drop "retry_policies" table after copying rows
DROP TABLE `retry_policies`;
-- Rename temporary table "new_retry_policies" to "retry_policies"
ALTER TABLE `new_retry_policies` RENAME TO `retry_policies`;
-- Create index "retrypolicy_account_id_created_at" to table: "retry_policies"
CREATE INDEX `retrypolicy_account_id_created_at` ON `retry_policies` (`account_id`, `created_at`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
