-- Modify "attempts" table
ALTER TABLE "attempts" ADD COLUMN "payment_method_id" character varying NULL;
-- Modify "off_session_payments" table
ALTER TABLE "off_session_payments" ADD COLUMN "backup_payment_methods" jsonb NULL;
