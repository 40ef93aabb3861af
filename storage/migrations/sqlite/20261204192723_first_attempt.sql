-- Add column "first_outcome" to table: "off_session_payments"
ALTER TABLE `off_session_payments` ADD COLUMN `first_outcome` text NULL;
-- Add column "first_decline_code" to table: "off_session_payments"
ALTER TABLE `off_session_payments` ADD COLUMN `first_decline_code` text NULL;
-- Add column "first_processor_id" to table: "off_session_payments"
ALTER TABLE `off_session_payments` ADD COLUMN `first_processor_id` text NULL;
-- Add column "first_finished_at" to table: "off_session_payments"
ALTER TABLE `off_session_payments` ADD COLUMN `first_finished_at` datetime NULL;
-- Backfill the payments whose first attempt had finished.
UPDATE off_session_payments SET first_outcome = a.outcome, first_decline_code = a.decline_code, first_processor_id = a.processor_id, first_finished_at = a.finished_at FROM attempts AS a WHERE a.payment_id = off_session_payments.id AND a.number = 1 AND a.outcome <> 'in_flight';
