# offsession. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
GOFLAGS ?=
PKGS := ./...

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@grep -hE '^[a-zA-Z/_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: run
run: ## Run the server on SQLite (offsession.db) with a seeded demo account.
	@echo "building offsession (the first build takes a few minutes, later ones seconds)..."
	$(GO) run . demo

.PHONY: build
build: ## Build the offsession binary into ./bin.
	$(GO) build -o bin/offsession .

.PHONY: generate
generate: ## Regenerate ent and gqlgen code (the whole pipeline).
	$(GO) generate .
	gofmt -w graph ent

.PHONY: migration
migration: ## Write a new versioned migration from the ent schema: make migration name=add_x (needs PostgreSQL).
	@test -n "$(name)" || (echo "usage: make migration name=add_something" && exit 2)
	$(GO) run storage/migrations/gen.go -name $(name)

.PHONY: verify
verify: generate lint ## Regenerate and fail if generated code drifted; lint.
	@git diff --exit-code -- ent graph gqlgen.yml go.mod go.sum || (echo "generated code is out of date: run make generate and commit" && exit 1)
	@test -z "$$(git status --porcelain -- ent graph)" || (git status --porcelain -- ent graph; echo "generate made new files: commit them" && exit 1)

.PHONY: lint
lint: ## gofmt and go vet.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" && exit 1)
	$(GO) vet $(PKGS)

.PHONY: test
test: ## Run the tests (on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set).
	$(GO) test -count=1 -timeout 30m $(PKGS)

.PHONY: test/race
test/race: ## Run the tests with the race detector.
	$(GO) test -race -count=1 -timeout 45m $(PKGS)

.PHONY: dashboard
dashboard: ## Rebuild the dashboard's embedded assets (dashboard/dist) from dashboard/web through npm.
	cd dashboard/web && npm ci --no-audit --no-fund && npm run build

.PHONY: verify-dashboard
verify-dashboard: dashboard ## Rebuild the dashboard and fail if the committed build differs.
	@git diff --exit-code -- dashboard/dist || (echo "dashboard/dist is out of date: run make dashboard and commit" && exit 1)
	@test -z "$$(git status --porcelain -- dashboard/dist)" || (git status --porcelain -- dashboard/dist; echo "make dashboard made new files: commit them" && exit 1)

.PHONY: screenshots
screenshots: ## Retake the README's dashboard screenshots (docs/screenshots) in headless Chromium.
	cd dashboard/web && npm ci --no-audit --no-fund
	OFFSESSION_BROWSER_TESTS=1 OFFSESSION_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestDashboardInChromium ./app

.PHONY: bench
bench: ## Print the benchmark table (set TEST_DATABASE_URL for the PostgreSQL rows).
	$(GO) run ./cmd/bench

.PHONY: bench-recovery
bench-recovery: ## Recovery of 20,000 failed payments by each retry strategy (POPULATION=alternative for the second population).
	$(GO) run ./cmd/benchrecovery -population $(or $(POPULATION),default) $(BENCH_RECOVERY_FLAGS)

.PHONY: bench-worlds
bench-worlds: ## The merchant's A/B protocol on the 12 report worlds (WORLDS=tuning for the tuning worlds, or seeds by commas).
	$(GO) run ./cmd/benchrecovery -worlds $(or $(WORLDS),report) $(BENCH_WORLDS_FLAGS)

.PHONY: bench-routing
bench-routing: ## Recovery under priority and auto routing when one of two processors degrades.
	$(GO) run ./cmd/benchrecovery -routing -cohort $(or $(COHORT),5000)

.PHONY: bench-train
bench-train: ## Time training a retry model on 1,000,000 attempts.
	$(GO) run ./cmd/benchtrain -attempts 1000000
