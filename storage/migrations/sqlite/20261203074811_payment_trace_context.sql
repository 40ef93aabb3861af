-- Add column "trace_context" to table: "off_session_payments"
ALTER TABLE `off_session_payments` ADD COLUMN `trace_context` text NULL;
