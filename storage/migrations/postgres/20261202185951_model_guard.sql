-- Modify "off_session_payments" table
ALTER TABLE "off_session_payments" ADD COLUMN "holdout_strategy" character varying NOT NULL DEFAULT 'scheduled';
-- Modify "retry_models" table
ALTER TABLE "retry_models" ADD COLUMN "demoted_at" timestamptz NULL, ADD COLUMN "demotion_reason" character varying NULL;
-- Modify "retry_policies" table
ALTER TABLE "retry_policies" ADD COLUMN "holdout_strategy" character varying NOT NULL DEFAULT 'scheduled';
