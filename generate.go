package main

// The whole code generation pipeline: ent (with entgql's GraphQL schema),
// then gqlgen. `make generate` runs it; `make verify` fails on any drift.
//go:generate go run -mod=mod ./ent/entc.go
//go:generate go run -mod=mod github.com/99designs/gqlgen generate
