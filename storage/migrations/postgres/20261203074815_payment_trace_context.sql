-- Modify "off_session_payments" table
ALTER TABLE "off_session_payments" ADD COLUMN "trace_context" character varying NULL;
