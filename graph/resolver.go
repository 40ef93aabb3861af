// Package graph is offsession's GraphQL API: the gqlgen server over the ent
// types and the payments service. Resolvers are one or two lines; anything
// with rules is a payments method. This file holds the Resolver, the one
// place dependencies are injected.
package graph

import (
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/webhooks"
)

//go:generate go run -mod=mod github.com/99designs/gqlgen generate

// Resolver is the resolver root.
type Resolver struct {
	client    *ent.Client
	payments  *payments.Service
	endpoints *webhooks.Endpoints
	router    *routing.Router
	models    *models.Service
}

// NewResolver returns the resolver root.
func NewResolver(client *ent.Client, svc *payments.Service, endpoints *webhooks.Endpoints, router *routing.Router, mdl *models.Service) *Resolver {
	return &Resolver{client: client, payments: svc, endpoints: endpoints, router: router, models: mdl}
}
