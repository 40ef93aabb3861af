-- Create "routes" table
CREATE TABLE "routes" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "name" character varying NOT NULL, "priority" bigint NOT NULL, "enabled" boolean NOT NULL DEFAULT true, "conditions" jsonb NOT NULL, "strategy" character varying NOT NULL, "processors" jsonb NOT NULL, "exploration_share" double precision NOT NULL DEFAULT 0.05, "cost_aware" boolean NOT NULL DEFAULT false, PRIMARY KEY ("id"));
-- Create index "route_account_id_created_at" to table: "routes"
CREATE INDEX "route_account_id_created_at" ON "routes" ("account_id", "created_at");
-- Create "simulator_charges" table
CREATE TABLE "simulator_charges" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "processor_id" character varying NOT NULL, "idempotency_key" character varying NOT NULL, "token" character varying NOT NULL, "at" timestamptz NOT NULL, "amount" bigint NOT NULL, "currency" character varying NOT NULL, "manual_capture" boolean NOT NULL, "outcome" character varying NOT NULL, "decline_code" character varying NULL, "network_advice_code" character varying NULL, "network_decline_code" character varying NULL, "calls" bigint NOT NULL DEFAULT 1, "amount_captured" bigint NOT NULL DEFAULT 0, "voided" boolean NOT NULL DEFAULT false, PRIMARY KEY ("id"));
-- Create index "simulator_charges_idempotency_key_key" to table: "simulator_charges"
CREATE UNIQUE INDEX "simulator_charges_idempotency_key_key" ON "simulator_charges" ("idempotency_key");
-- Create index "simulatorcharge_token_at" to table: "simulator_charges"
CREATE INDEX "simulatorcharge_token_at" ON "simulator_charges" ("token", "at");
-- Create "test_clocks" table
CREATE TABLE "test_clocks" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "name" character varying NULL, "frozen_time" timestamptz NOT NULL, "status" character varying NOT NULL DEFAULT 'ready', "advancing_to" timestamptz NULL, "lease_owner" character varying NULL, "lease_expires_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "testclock_account_id_created_at" to table: "test_clocks"
CREATE INDEX "testclock_account_id_created_at" ON "test_clocks" ("account_id", "created_at");
-- Create "retry_models" table
CREATE TABLE "retry_models" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "version" bigint NOT NULL, "status" character varying NOT NULL DEFAULT 'training', "algorithm" character varying NOT NULL, "parameters" jsonb NULL, "features" jsonb NULL, "trained_from" timestamptz NULL, "trained_to" timestamptz NULL, "train_rows" bigint NOT NULL DEFAULT 0, "test_rows" bigint NOT NULL DEFAULT 0, "metrics" jsonb NULL, "progress" double precision NOT NULL DEFAULT 0, "error" character varying NULL, "training_seconds" bigint NULL, "model" bytea NULL, "activated_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "retrymodel_account_id_created_at" to table: "retry_models"
CREATE INDEX "retrymodel_account_id_created_at" ON "retry_models" ("account_id", "created_at");
-- Create index "retrymodel_account_id_status" to table: "retry_models"
CREATE INDEX "retrymodel_account_id_status" ON "retry_models" ("account_id", "status");
-- Create index "retrymodel_account_id_version" to table: "retry_models"
CREATE UNIQUE INDEX "retrymodel_account_id_version" ON "retry_models" ("account_id", "version");
-- Create "events" table
CREATE TABLE "events" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "type" character varying NOT NULL, "object_id" character varying NOT NULL, "object_type" character varying NOT NULL, "object_version" bigint NOT NULL, "data" jsonb NOT NULL, PRIMARY KEY ("id"));
-- Create index "event_account_id_created_at" to table: "events"
CREATE INDEX "event_account_id_created_at" ON "events" ("account_id", "created_at");
-- Create index "event_object_id_object_version" to table: "events"
CREATE INDEX "event_object_id_object_version" ON "events" ("object_id", "object_version");
-- Create "idempotency_keys" table
CREATE TABLE "idempotency_keys" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "key" character varying NOT NULL, "operation" character varying NOT NULL, "request_hash" character varying NOT NULL, "resource_id" character varying NOT NULL, "expires_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- Create index "idempotencykey_account_id_created_at" to table: "idempotency_keys"
CREATE INDEX "idempotencykey_account_id_created_at" ON "idempotency_keys" ("account_id", "created_at");
-- Create index "idempotencykey_account_id_key" to table: "idempotency_keys"
CREATE UNIQUE INDEX "idempotencykey_account_id_key" ON "idempotency_keys" ("account_id", "key");
-- Create index "idempotencykey_expires_at" to table: "idempotency_keys"
CREATE INDEX "idempotencykey_expires_at" ON "idempotency_keys" ("expires_at");
-- Create "api_keys" table
CREATE TABLE "api_keys" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "name" character varying NOT NULL DEFAULT '', "role" character varying NOT NULL, "hash" character varying NOT NULL, "redacted" character varying NOT NULL, "revoked_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "api_keys_hash_key" to table: "api_keys"
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys" ("hash");
-- Create index "apikey_account_id_created_at" to table: "api_keys"
CREATE INDEX "apikey_account_id_created_at" ON "api_keys" ("account_id", "created_at");
-- Create "accounts" table
CREATE TABLE "accounts" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, PRIMARY KEY ("id"));
-- Create "customers" table
CREATE TABLE "customers" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "external_ref" character varying NULL, "email" character varying NULL, "name" character varying NULL, "country" character varying NULL, "time_zone" character varying NOT NULL DEFAULT 'UTC', "metadata" jsonb NULL, "test_clock_id" character varying NULL, PRIMARY KEY ("id"), CONSTRAINT "customers_test_clocks_test_clock" FOREIGN KEY ("test_clock_id") REFERENCES "test_clocks" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "customer_account_id_created_at" to table: "customers"
CREATE INDEX "customer_account_id_created_at" ON "customers" ("account_id", "created_at");
-- Create index "customer_account_id_external_ref" to table: "customers"
CREATE INDEX "customer_account_id_external_ref" ON "customers" ("account_id", "external_ref");
-- Create "payment_methods" table
CREATE TABLE "payment_methods" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "type" character varying NOT NULL DEFAULT 'card', "brand" character varying NOT NULL, "funding" character varying NOT NULL, "last4" character varying NOT NULL, "exp_month" bigint NOT NULL, "exp_year" bigint NOT NULL, "issuing_country" character varying NULL, "fingerprint" character varying NOT NULL, "processor_tokens" jsonb NOT NULL, "status" character varying NOT NULL DEFAULT 'active', "invalid_reason" character varying NULL, "metadata" jsonb NULL, "customer_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "payment_methods_customers_payment_methods" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "paymentmethod_account_id_created_at" to table: "payment_methods"
CREATE INDEX "paymentmethod_account_id_created_at" ON "payment_methods" ("account_id", "created_at");
-- Create index "paymentmethod_fingerprint" to table: "payment_methods"
CREATE INDEX "paymentmethod_fingerprint" ON "payment_methods" ("fingerprint");
-- Create "mandates" table
CREATE TABLE "mandates" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "usage" character varying NOT NULL, "terms_text" character varying NULL, "terms_url" character varying NULL, "terms_version" character varying NOT NULL, "timing_and_frequency" character varying NOT NULL, "amount_determination" character varying NOT NULL, "cancellation_policy" character varying NOT NULL, "acceptance_type" character varying NOT NULL, "acceptance_ip_address" character varying NULL, "acceptance_user_agent" character varying NULL, "accepted_at" timestamptz NOT NULL, "use_limit" character varying NOT NULL, "max_amount" bigint NOT NULL, "currency" character varying NOT NULL, "interval" character varying NULL, "interval_count" bigint NULL, "status" character varying NOT NULL DEFAULT 'active', "reserved_payment_id" character varying NULL, "revoked_at" timestamptz NULL, "revocation_reason" character varying NULL, "metadata" jsonb NULL, "customer_id" character varying NOT NULL, "payment_method_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "mandates_customers_mandates" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "mandates_payment_methods_mandates" FOREIGN KEY ("payment_method_id") REFERENCES "payment_methods" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "mandate_account_id_created_at" to table: "mandates"
CREATE INDEX "mandate_account_id_created_at" ON "mandates" ("account_id", "created_at");
-- Create "retry_policies" table
CREATE TABLE "retry_policies" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "name" character varying NOT NULL, "strategy" character varying NOT NULL, "window" character varying NOT NULL, "window_seconds" bigint NOT NULL, "max_retries" bigint NOT NULL, "schedule" jsonb NULL, "holdout_share" double precision NOT NULL DEFAULT 0, "is_default" boolean NOT NULL DEFAULT false, PRIMARY KEY ("id"));
-- Create index "retrypolicy_account_id_created_at" to table: "retry_policies"
CREATE INDEX "retrypolicy_account_id_created_at" ON "retry_policies" ("account_id", "created_at");
-- Create "off_session_payments" table
CREATE TABLE "off_session_payments" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "amount" bigint NOT NULL, "currency" character varying NOT NULL, "cadence" character varying NOT NULL, "capture_method" character varying NOT NULL DEFAULT 'automatic', "target_date" character varying NULL, "description" character varying NULL, "statement_descriptor_suffix" character varying NULL, "metadata" jsonb NULL, "status" character varying NOT NULL DEFAULT 'pending', "failure_reason" character varying NULL, "amount_capturable" bigint NOT NULL DEFAULT 0, "amount_received" bigint NOT NULL DEFAULT 0, "retry_strategy" character varying NOT NULL DEFAULT 'none', "max_retries" bigint NOT NULL DEFAULT 0, "retry_schedule" jsonb NULL, "holdout" boolean NOT NULL DEFAULT false, "model_version" character varying NULL, "retry_until" timestamptz NULL, "attempt_count" bigint NOT NULL DEFAULT 0, "next_attempt_at" timestamptz NULL, "next_attempt_plan" jsonb NULL, "capture_before" timestamptz NULL, "pending_action" character varying NULL, "capture_amount" bigint NULL, "canceled_at" timestamptz NULL, "succeeded_at" timestamptz NULL, "failed_at" timestamptz NULL, "due_at" timestamptz NULL, "lease_owner" character varying NULL, "lease_expires_at" timestamptz NULL, "version" bigint NOT NULL DEFAULT 0, "customer_id" character varying NOT NULL, "mandate_id" character varying NOT NULL, "test_clock_id" character varying NULL, "payment_method_id" character varying NOT NULL, "retry_policy_id" character varying NULL, PRIMARY KEY ("id"), CONSTRAINT "off_session_payments_customers_payments" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "off_session_payments_mandates_payments" FOREIGN KEY ("mandate_id") REFERENCES "mandates" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "off_session_payments_payment_methods_payments" FOREIGN KEY ("payment_method_id") REFERENCES "payment_methods" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "off_session_payments_retry_policies_payments" FOREIGN KEY ("retry_policy_id") REFERENCES "retry_policies" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "off_session_payments_test_clocks_test_clock" FOREIGN KEY ("test_clock_id") REFERENCES "test_clocks" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "offsessionpayment_account_id_created_at" to table: "off_session_payments"
CREATE INDEX "offsessionpayment_account_id_created_at" ON "off_session_payments" ("account_id", "created_at");
-- Create index "offsessionpayment_account_id_status" to table: "off_session_payments"
CREATE INDEX "offsessionpayment_account_id_status" ON "off_session_payments" ("account_id", "status");
-- Create index "offsessionpayment_due_at" to table: "off_session_payments"
CREATE INDEX "offsessionpayment_due_at" ON "off_session_payments" ("due_at") WHERE (due_at IS NOT NULL);
-- Create "processors" table
CREATE TABLE "processors" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "name" character varying NOT NULL, "type" character varying NOT NULL, "credentials" character varying NULL, "base_url" character varying NULL, "enabled" boolean NOT NULL DEFAULT true, "cost_percent_bps" bigint NOT NULL DEFAULT 0, "cost_fixed" bigint NOT NULL DEFAULT 0, "settings" jsonb NULL, PRIMARY KEY ("id"));
-- Create index "processor_account_id_created_at" to table: "processors"
CREATE INDEX "processor_account_id_created_at" ON "processors" ("account_id", "created_at");
-- Create "attempts" table
CREATE TABLE "attempts" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "customer_id" character varying NOT NULL DEFAULT '', "number" bigint NOT NULL, "card_fingerprint" character varying NOT NULL, "card_network" character varying NOT NULL, "segment" character varying NOT NULL DEFAULT '', "token" character varying NOT NULL, "network_transaction_id" character varying NULL, "is_retry" boolean NOT NULL DEFAULT false, "calls" bigint NOT NULL DEFAULT 0, "idempotency_key" character varying NOT NULL, "outcome" character varying NOT NULL DEFAULT 'in_flight', "decline_class" character varying NULL, "decline_code" character varying NULL, "network_advice_code" character varying NULL, "network_decline_code" character varying NULL, "processor_reference" character varying NULL, "message" character varying NULL, "scheduled_at" timestamptz NOT NULL, "started_at" timestamptz NOT NULL, "finished_at" timestamptz NULL, "latency_ms" bigint NULL, "routing" jsonb NULL, "scheduling" jsonb NULL, "payment_id" character varying NOT NULL, "processor_id" character varying NULL, PRIMARY KEY ("id"), CONSTRAINT "attempts_off_session_payments_attempts" FOREIGN KEY ("payment_id") REFERENCES "off_session_payments" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "attempts_processors_attempts" FOREIGN KEY ("processor_id") REFERENCES "processors" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "attempt_account_id_card_fingerprint_started_at" to table: "attempts"
CREATE INDEX "attempt_account_id_card_fingerprint_started_at" ON "attempts" ("account_id", "card_fingerprint", "started_at");
-- Create index "attempt_account_id_created_at" to table: "attempts"
CREATE INDEX "attempt_account_id_created_at" ON "attempts" ("account_id", "created_at");
-- Create index "attempt_customer_id_started_at" to table: "attempts"
CREATE INDEX "attempt_customer_id_started_at" ON "attempts" ("customer_id", "started_at");
-- Create index "attempt_finished_at" to table: "attempts"
CREATE INDEX "attempt_finished_at" ON "attempts" ("finished_at");
-- Create index "attempt_payment_id_number" to table: "attempts"
CREATE UNIQUE INDEX "attempt_payment_id_number" ON "attempts" ("payment_id", "number");
-- Create index "attempts_idempotency_key_key" to table: "attempts"
CREATE UNIQUE INDEX "attempts_idempotency_key_key" ON "attempts" ("idempotency_key");
-- Create "webhook_endpoints" table
CREATE TABLE "webhook_endpoints" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "url" character varying NOT NULL, "event_types" jsonb NULL, "secret" character varying NOT NULL, "enabled" boolean NOT NULL DEFAULT true, "description" character varying NULL, PRIMARY KEY ("id"));
-- Create index "webhookendpoint_account_id_created_at" to table: "webhook_endpoints"
CREATE INDEX "webhookendpoint_account_id_created_at" ON "webhook_endpoints" ("account_id", "created_at");
-- Create "webhook_deliveries" table
CREATE TABLE "webhook_deliveries" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "account_id" character varying NOT NULL, "event_id" character varying NOT NULL, "event_type" character varying NOT NULL, "object_id" character varying NOT NULL, "object_version" bigint NOT NULL, "status" character varying NOT NULL DEFAULT 'pending', "attempt_count" bigint NOT NULL DEFAULT 0, "attempts" jsonb NULL, "next_attempt_at" timestamptz NULL, "delivered_at" timestamptz NULL, "give_up_at" timestamptz NOT NULL, "lease_owner" character varying NULL, "lease_expires_at" timestamptz NULL, "endpoint_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "webhook_deliveries_webhook_endpoints_deliveries" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- Create index "webhookdelivery_account_id_created_at" to table: "webhook_deliveries"
CREATE INDEX "webhookdelivery_account_id_created_at" ON "webhook_deliveries" ("account_id", "created_at");
-- Create index "webhookdelivery_endpoint_id_object_id_object_version" to table: "webhook_deliveries"
CREATE INDEX "webhookdelivery_endpoint_id_object_id_object_version" ON "webhook_deliveries" ("endpoint_id", "object_id", "object_version");
-- Create index "webhookdelivery_next_attempt_at" to table: "webhook_deliveries"
CREATE INDEX "webhookdelivery_next_attempt_at" ON "webhook_deliveries" ("next_attempt_at") WHERE (next_attempt_at IS NOT NULL);
