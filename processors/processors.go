// Package processors builds the connector of each configured processor
// (processors/stripe, processors/simulator). A connector reports what the
// processor said (processors/connector) and never decides retries:
// classifying outcomes and scheduling retries belong to the payments and
// retry packages.
package processors

import (
	"fmt"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/netguard"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/processors/simulator"
	"github.com/offsession/offsession/processors/stripe"
)

// Registry builds the connector for a configured processor.
type Registry struct {
	db    *ent.Client
	guard *netguard.Guard
}

// NewRegistry returns a registry whose simulator keeps its ledger in db
// and whose connectors reach processors only at the addresses guard allows
// (nil: a guard that refuses every non-public address).
func NewRegistry(db *ent.Client, guard *netguard.Guard) *Registry {
	if guard == nil {
		guard = netguard.New(netguard.Config{})
	}
	return &Registry{db: db, guard: guard}
}

// Supports reports whether p has a connector this build can call.
func (r *Registry) Supports(p *ent.Processor) bool {
	_, err := r.Connector(p)
	return err == nil
}

// Connector returns the connector for p.
func (r *Registry) Connector(p *ent.Processor) (connector.Connector, error) {
	switch p.Type {
	case processor.TypeSimulator:
		return simulator.New(r.db, p), nil
	case processor.TypeStripe:
		return stripe.New(p, r.guard)
	default:
		return nil, fmt.Errorf("processor %s: connector %q is not available", p.ID, p.Type)
	}
}
