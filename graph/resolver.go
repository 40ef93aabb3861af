// Package graph is offsession's GraphQL API: the gqlgen server over the ent
// types and the payments service. Resolvers are one or two lines; anything
// with rules is a payments method. This file holds the Resolver, the one
// place dependencies are injected.
package graph

import (
	"github.com/jonboulle/clockwork"
	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/retry/policies"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/routing/routes"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/testclocks"
	"github.com/offsession/offsession/webhooks"
)

//go:generate go run -mod=mod github.com/99designs/gqlgen generate

// Services are what the resolvers call.
type Services struct {
	DB         *ent.Client
	Store      *storage.Store
	Clock      clockwork.Clock
	Payments   *payments.Service
	Customers  *customers.Service
	Clocks     *testclocks.Service
	Processors *processors.Configs
	Routes     *routes.Service
	Policies   *policies.Service
	Endpoints  *webhooks.Endpoints
	Router     *routing.Router
	Models     *models.Service
}

// Resolver is the resolver root.
type Resolver struct {
	client     *ent.Client
	store      *storage.Store
	clock      clockwork.Clock
	payments   *payments.Service
	customers  *customers.Service
	clocks     *testclocks.Service
	processors *processors.Configs
	routes     *routes.Service
	policies   *policies.Service
	endpoints  *webhooks.Endpoints
	router     *routing.Router
	models     *models.Service
}

// NewResolver returns the resolver root.
func NewResolver(s Services) *Resolver {
	return &Resolver{client: s.DB, store: s.Store, clock: s.Clock, payments: s.Payments, customers: s.Customers, clocks: s.Clocks, processors: s.Processors, routes: s.Routes, policies: s.Policies, endpoints: s.Endpoints, router: s.Router, models: s.Models}
}

// deref is *p, or the zero value when p is nil (an absent argument).
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
