-- Create "api_keys" table
CREATE TABLE `api_keys` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `name` text NOT NULL DEFAULT (''), `role` text NOT NULL, `hash` text NOT NULL, `redacted` text NOT NULL, `revoked_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "api_keys_hash_key" to table: "api_keys"
CREATE UNIQUE INDEX `api_keys_hash_key` ON `api_keys` (`hash`);
-- Create index "apikey_account_id_created_at" to table: "api_keys"
CREATE INDEX `apikey_account_id_created_at` ON `api_keys` (`account_id`, `created_at`);
-- Create "accounts" table
CREATE TABLE `accounts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, PRIMARY KEY (`id`));
-- Create "attempts" table
CREATE TABLE `attempts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `customer_id` text NOT NULL DEFAULT (''), `number` integer NOT NULL, `card_fingerprint` text NOT NULL, `card_network` text NOT NULL, `segment` text NOT NULL DEFAULT (''), `token` text NOT NULL, `network_transaction_id` text NULL, `is_retry` bool NOT NULL DEFAULT (false), `calls` integer NOT NULL DEFAULT (0), `idempotency_key` text NOT NULL, `outcome` text NOT NULL DEFAULT ('in_flight'), `decline_class` text NULL, `decline_code` text NULL, `network_advice_code` text NULL, `network_decline_code` text NULL, `processor_reference` text NULL, `message` text NULL, `scheduled_at` datetime NOT NULL, `started_at` datetime NOT NULL, `finished_at` datetime NULL, `latency_ms` integer NULL, `routing` json NULL, `scheduling` json NULL, `payment_id` text NOT NULL, `processor_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `attempts_off_session_payments_attempts` FOREIGN KEY (`payment_id`) REFERENCES `off_session_payments` (`id`) ON DELETE NO ACTION, CONSTRAINT `attempts_processors_attempts` FOREIGN KEY (`processor_id`) REFERENCES `processors` (`id`) ON DELETE SET NULL);
-- Create index "attempts_idempotency_key_key" to table: "attempts"
CREATE UNIQUE INDEX `attempts_idempotency_key_key` ON `attempts` (`idempotency_key`);
-- Create index "attempt_account_id_created_at" to table: "attempts"
CREATE INDEX `attempt_account_id_created_at` ON `attempts` (`account_id`, `created_at`);
-- Create index "attempt_payment_id_number" to table: "attempts"
CREATE UNIQUE INDEX `attempt_payment_id_number` ON `attempts` (`payment_id`, `number`);
-- Create index "attempt_account_id_card_fingerprint_started_at" to table: "attempts"
CREATE INDEX `attempt_account_id_card_fingerprint_started_at` ON `attempts` (`account_id`, `card_fingerprint`, `started_at`);
-- Create index "attempt_finished_at" to table: "attempts"
CREATE INDEX `attempt_finished_at` ON `attempts` (`finished_at`);
-- Create index "attempt_customer_id_started_at" to table: "attempts"
CREATE INDEX `attempt_customer_id_started_at` ON `attempts` (`customer_id`, `started_at`);
-- Create "customers" table
CREATE TABLE `customers` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `external_ref` text NULL, `email` text NULL, `name` text NULL, `country` text NULL, `time_zone` text NOT NULL DEFAULT ('UTC'), `metadata` json NULL, `test_clock_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `customers_test_clocks_test_clock` FOREIGN KEY (`test_clock_id`) REFERENCES `test_clocks` (`id`) ON DELETE SET NULL);
-- Create index "customer_account_id_created_at" to table: "customers"
CREATE INDEX `customer_account_id_created_at` ON `customers` (`account_id`, `created_at`);
-- Create index "customer_account_id_external_ref" to table: "customers"
CREATE INDEX `customer_account_id_external_ref` ON `customers` (`account_id`, `external_ref`);
-- Create "events" table
CREATE TABLE `events` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `type` text NOT NULL, `object_id` text NOT NULL, `object_type` text NOT NULL, `object_version` integer NOT NULL, `data` json NOT NULL, PRIMARY KEY (`id`));
-- Create index "event_account_id_created_at" to table: "events"
CREATE INDEX `event_account_id_created_at` ON `events` (`account_id`, `created_at`);
-- Create index "event_object_id_object_version" to table: "events"
CREATE INDEX `event_object_id_object_version` ON `events` (`object_id`, `object_version`);
-- Create "idempotency_keys" table
CREATE TABLE `idempotency_keys` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `key` text NOT NULL, `operation` text NOT NULL, `request_hash` text NOT NULL, `resource_id` text NOT NULL, `expires_at` datetime NOT NULL, PRIMARY KEY (`id`));
-- Create index "idempotencykey_account_id_created_at" to table: "idempotency_keys"
CREATE INDEX `idempotencykey_account_id_created_at` ON `idempotency_keys` (`account_id`, `created_at`);
-- Create index "idempotencykey_account_id_key" to table: "idempotency_keys"
CREATE UNIQUE INDEX `idempotencykey_account_id_key` ON `idempotency_keys` (`account_id`, `key`);
-- Create index "idempotencykey_expires_at" to table: "idempotency_keys"
CREATE INDEX `idempotencykey_expires_at` ON `idempotency_keys` (`expires_at`);
-- Create "mandates" table
CREATE TABLE `mandates` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `usage` text NOT NULL, `terms_text` text NULL, `terms_url` text NULL, `terms_version` text NOT NULL, `timing_and_frequency` text NOT NULL, `amount_determination` text NOT NULL, `cancellation_policy` text NOT NULL, `acceptance_type` text NOT NULL, `acceptance_ip_address` text NULL, `acceptance_user_agent` text NULL, `accepted_at` datetime NOT NULL, `use_limit` text NOT NULL, `max_amount` integer NOT NULL, `currency` text NOT NULL, `interval` text NULL, `interval_count` integer NULL, `status` text NOT NULL DEFAULT ('active'), `reserved_payment_id` text NULL, `revoked_at` datetime NULL, `revocation_reason` text NULL, `metadata` json NULL, `customer_id` text NOT NULL, `payment_method_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `mandates_customers_mandates` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE NO ACTION, CONSTRAINT `mandates_payment_methods_mandates` FOREIGN KEY (`payment_method_id`) REFERENCES `payment_methods` (`id`) ON DELETE NO ACTION);
-- Create index "mandate_account_id_created_at" to table: "mandates"
CREATE INDEX `mandate_account_id_created_at` ON `mandates` (`account_id`, `created_at`);
-- Create "off_session_payments" table
CREATE TABLE `off_session_payments` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `amount` integer NOT NULL, `currency` text NOT NULL, `cadence` text NOT NULL, `capture_method` text NOT NULL DEFAULT ('automatic'), `target_date` text NULL, `description` text NULL, `statement_descriptor_suffix` text NULL, `metadata` json NULL, `status` text NOT NULL DEFAULT ('pending'), `failure_reason` text NULL, `amount_capturable` integer NOT NULL DEFAULT (0), `amount_received` integer NOT NULL DEFAULT (0), `retry_strategy` text NOT NULL DEFAULT ('none'), `max_retries` integer NOT NULL DEFAULT (0), `retry_schedule` json NULL, `holdout` bool NOT NULL DEFAULT (false), `model_version` text NULL, `retry_until` datetime NULL, `attempt_count` integer NOT NULL DEFAULT (0), `next_attempt_at` datetime NULL, `next_attempt_plan` json NULL, `capture_before` datetime NULL, `pending_action` text NULL, `capture_amount` integer NULL, `canceled_at` datetime NULL, `succeeded_at` datetime NULL, `failed_at` datetime NULL, `due_at` datetime NULL, `lease_owner` text NULL, `lease_expires_at` datetime NULL, `version` integer NOT NULL DEFAULT (0), `customer_id` text NOT NULL, `mandate_id` text NOT NULL, `test_clock_id` text NULL, `payment_method_id` text NOT NULL, `retry_policy_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `off_session_payments_customers_payments` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE NO ACTION, CONSTRAINT `off_session_payments_mandates_payments` FOREIGN KEY (`mandate_id`) REFERENCES `mandates` (`id`) ON DELETE NO ACTION, CONSTRAINT `off_session_payments_test_clocks_test_clock` FOREIGN KEY (`test_clock_id`) REFERENCES `test_clocks` (`id`) ON DELETE SET NULL, CONSTRAINT `off_session_payments_payment_methods_payments` FOREIGN KEY (`payment_method_id`) REFERENCES `payment_methods` (`id`) ON DELETE NO ACTION, CONSTRAINT `off_session_payments_retry_policies_payments` FOREIGN KEY (`retry_policy_id`) REFERENCES `retry_policies` (`id`) ON DELETE SET NULL);
-- Create index "offsessionpayment_account_id_created_at" to table: "off_session_payments"
CREATE INDEX `offsessionpayment_account_id_created_at` ON `off_session_payments` (`account_id`, `created_at`);
-- Create index "offsessionpayment_due_at" to table: "off_session_payments"
CREATE INDEX `offsessionpayment_due_at` ON `off_session_payments` (`due_at`) WHERE due_at IS NOT NULL;
-- Create index "offsessionpayment_account_id_status" to table: "off_session_payments"
CREATE INDEX `offsessionpayment_account_id_status` ON `off_session_payments` (`account_id`, `status`);
-- Create "payment_methods" table
CREATE TABLE `payment_methods` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `type` text NOT NULL DEFAULT ('card'), `brand` text NOT NULL, `funding` text NOT NULL, `last4` text NOT NULL, `exp_month` integer NOT NULL, `exp_year` integer NOT NULL, `issuing_country` text NULL, `fingerprint` text NOT NULL, `processor_tokens` json NOT NULL, `status` text NOT NULL DEFAULT ('active'), `invalid_reason` text NULL, `metadata` json NULL, `customer_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `payment_methods_customers_payment_methods` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`) ON DELETE NO ACTION);
-- Create index "paymentmethod_account_id_created_at" to table: "payment_methods"
CREATE INDEX `paymentmethod_account_id_created_at` ON `payment_methods` (`account_id`, `created_at`);
-- Create index "paymentmethod_fingerprint" to table: "payment_methods"
CREATE INDEX `paymentmethod_fingerprint` ON `payment_methods` (`fingerprint`);
-- Create "processors" table
CREATE TABLE `processors` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `name` text NOT NULL, `type` text NOT NULL, `credentials` text NULL, `base_url` text NULL, `enabled` bool NOT NULL DEFAULT (true), `cost_percent_bps` integer NOT NULL DEFAULT (0), `cost_fixed` integer NOT NULL DEFAULT (0), `settings` json NULL, PRIMARY KEY (`id`));
-- Create index "processor_account_id_created_at" to table: "processors"
CREATE INDEX `processor_account_id_created_at` ON `processors` (`account_id`, `created_at`);
-- Create "retry_models" table
CREATE TABLE `retry_models` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `version` integer NOT NULL, `status` text NOT NULL DEFAULT ('training'), `algorithm` text NOT NULL, `parameters` json NULL, `features` json NULL, `trained_from` datetime NULL, `trained_to` datetime NULL, `train_rows` integer NOT NULL DEFAULT (0), `test_rows` integer NOT NULL DEFAULT (0), `metrics` json NULL, `progress` real NOT NULL DEFAULT (0), `error` text NULL, `training_seconds` integer NULL, `model` blob NULL, `activated_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "retrymodel_account_id_created_at" to table: "retry_models"
CREATE INDEX `retrymodel_account_id_created_at` ON `retry_models` (`account_id`, `created_at`);
-- Create index "retrymodel_account_id_version" to table: "retry_models"
CREATE UNIQUE INDEX `retrymodel_account_id_version` ON `retry_models` (`account_id`, `version`);
-- Create index "retrymodel_account_id_status" to table: "retry_models"
CREATE INDEX `retrymodel_account_id_status` ON `retry_models` (`account_id`, `status`);
-- Create "retry_policies" table
CREATE TABLE `retry_policies` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `name` text NOT NULL, `strategy` text NOT NULL, `window` text NOT NULL, `window_seconds` integer NOT NULL, `max_retries` integer NOT NULL, `schedule` json NULL, `holdout_share` real NOT NULL DEFAULT (0), `is_default` bool NOT NULL DEFAULT (false), PRIMARY KEY (`id`));
-- Create index "retrypolicy_account_id_created_at" to table: "retry_policies"
CREATE INDEX `retrypolicy_account_id_created_at` ON `retry_policies` (`account_id`, `created_at`);
-- Create "routes" table
CREATE TABLE `routes` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `name` text NOT NULL, `priority` integer NOT NULL, `enabled` bool NOT NULL DEFAULT (true), `conditions` json NOT NULL, `strategy` text NOT NULL, `processors` json NOT NULL, `exploration_share` real NOT NULL DEFAULT (0.05), `cost_aware` bool NOT NULL DEFAULT (false), PRIMARY KEY (`id`));
-- Create index "route_account_id_created_at" to table: "routes"
CREATE INDEX `route_account_id_created_at` ON `routes` (`account_id`, `created_at`);
-- Create "simulator_charges" table
CREATE TABLE `simulator_charges` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `processor_id` text NOT NULL, `idempotency_key` text NOT NULL, `token` text NOT NULL, `at` datetime NOT NULL, `amount` integer NOT NULL, `currency` text NOT NULL, `manual_capture` bool NOT NULL, `outcome` text NOT NULL, `decline_code` text NULL, `network_advice_code` text NULL, `network_decline_code` text NULL, `calls` integer NOT NULL DEFAULT (1), `amount_captured` integer NOT NULL DEFAULT (0), `voided` bool NOT NULL DEFAULT (false), PRIMARY KEY (`id`));
-- Create index "simulator_charges_idempotency_key_key" to table: "simulator_charges"
CREATE UNIQUE INDEX `simulator_charges_idempotency_key_key` ON `simulator_charges` (`idempotency_key`);
-- Create index "simulatorcharge_token_at" to table: "simulator_charges"
CREATE INDEX `simulatorcharge_token_at` ON `simulator_charges` (`token`, `at`);
-- Create "test_clocks" table
CREATE TABLE `test_clocks` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `name` text NULL, `frozen_time` datetime NOT NULL, `status` text NOT NULL DEFAULT ('ready'), `advancing_to` datetime NULL, `lease_owner` text NULL, `lease_expires_at` datetime NULL, PRIMARY KEY (`id`));
-- Create index "testclock_account_id_created_at" to table: "test_clocks"
CREATE INDEX `testclock_account_id_created_at` ON `test_clocks` (`account_id`, `created_at`);
-- Create "webhook_deliveries" table
CREATE TABLE `webhook_deliveries` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `event_id` text NOT NULL, `event_type` text NOT NULL, `object_id` text NOT NULL, `object_version` integer NOT NULL, `status` text NOT NULL DEFAULT ('pending'), `attempt_count` integer NOT NULL DEFAULT (0), `attempts` json NULL, `next_attempt_at` datetime NULL, `delivered_at` datetime NULL, `give_up_at` datetime NOT NULL, `lease_owner` text NULL, `lease_expires_at` datetime NULL, `endpoint_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `webhook_deliveries_webhook_endpoints_deliveries` FOREIGN KEY (`endpoint_id`) REFERENCES `webhook_endpoints` (`id`) ON DELETE NO ACTION);
-- Create index "webhookdelivery_account_id_created_at" to table: "webhook_deliveries"
CREATE INDEX `webhookdelivery_account_id_created_at` ON `webhook_deliveries` (`account_id`, `created_at`);
-- Create index "webhookdelivery_next_attempt_at" to table: "webhook_deliveries"
CREATE INDEX `webhookdelivery_next_attempt_at` ON `webhook_deliveries` (`next_attempt_at`) WHERE next_attempt_at IS NOT NULL;
-- Create index "webhookdelivery_endpoint_id_object_id_object_version" to table: "webhook_deliveries"
CREATE INDEX `webhookdelivery_endpoint_id_object_id_object_version` ON `webhook_deliveries` (`endpoint_id`, `object_id`, `object_version`);
-- Create "webhook_endpoints" table
CREATE TABLE `webhook_endpoints` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `account_id` text NOT NULL, `url` text NOT NULL, `event_types` json NULL, `secret` text NOT NULL, `enabled` bool NOT NULL DEFAULT (true), `description` text NULL, PRIMARY KEY (`id`));
-- Create index "webhookendpoint_account_id_created_at" to table: "webhook_endpoints"
CREATE INDEX `webhookendpoint_account_id_created_at` ON `webhook_endpoints` (`account_id`, `created_at`);
