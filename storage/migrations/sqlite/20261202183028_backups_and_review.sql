-- Add column "payment_method_id" to table: "attempts"
ALTER TABLE `attempts` ADD COLUMN `payment_method_id` text NULL;
-- Add column "backup_payment_methods" to table: "off_session_payments"
ALTER TABLE `off_session_payments` ADD COLUMN `backup_payment_methods` json NULL;
