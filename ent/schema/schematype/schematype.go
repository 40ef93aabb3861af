// Package schematype holds the Go types stored as JSON columns by the ent
// schema and exposed as GraphQL object types.
package schematype

import (
	"encoding/json"
	"io"
	"time"

	"github.com/offsession/offsession/apierror"
)

// ProcessorToken is one processor's handle on a payment method: the token
// that processor charges, and the network transaction ID of the
// customer-initiated payment that set the credential up. The token is
// write-only: it is never returned by the API.
type ProcessorToken struct {
	ProcessorID          string `json:"processor_id"`
	Token                string `json:"token"`
	NetworkTransactionID string `json:"network_transaction_id,omitempty"`
}

// BackupPaymentMethod is a payment method a payment moves to, under its
// own mandate, when the one before it cannot be charged.
type BackupPaymentMethod struct {
	PaymentMethodID string `json:"payment_method_id"`
	MandateID       string `json:"mandate_id"`
}

// DeliveryAttempt is one try at delivering an event to a webhook endpoint.
type DeliveryAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// StringMap is a map of string keys to string values: metadata on objects,
// settings on processors. It is the GraphQL scalar StringMap, a JSON object
// whose values are all strings.
type StringMap map[string]string

// MarshalGQL writes the map as a JSON object.
func (m StringMap) MarshalGQL(w io.Writer) {
	if m == nil {
		m = StringMap{}
	}
	b, err := json.Marshal(map[string]string(m))
	if err != nil {
		// A map of strings always marshals; keep the writer valid anyway.
		b = []byte("{}")
	}
	_, _ = w.Write(b)
}

// UnmarshalGQL reads a JSON object of strings.
func (m *StringMap) UnmarshalGQL(v any) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return apierror.Invalid("", "want an object of string values")
	}
	out := make(StringMap, len(obj))
	for k, val := range obj {
		s, ok := val.(string)
		if !ok {
			return apierror.Invalid("", "the value of %q must be a string", k)
		}
		out[k] = s
	}
	*m = out
	return nil
}

// RouteConditions select the payments a route takes. Every condition that
// is set must hold; an empty list or nil bound matches anything.
type RouteConditions struct {
	Currencies       []string  `json:"currencies,omitempty"`
	Brands           []string  `json:"brands,omitempty"`
	Fundings         []string  `json:"fundings,omitempty"`
	IssuingCountries []string  `json:"issuing_countries,omitempty"`
	AmountMin        *int64    `json:"amount_min,omitempty"`
	AmountMax        *int64    `json:"amount_max,omitempty"`
	Cadences         []string  `json:"cadences,omitempty"`
	Metadata         StringMap `json:"metadata,omitempty"`
}

// RouteProcessor is one processor of a route.
type RouteProcessor struct {
	ProcessorID string `json:"processor_id"`
	// Weight is the processor's share with volume_split.
	Weight int `json:"weight,omitempty"`
}
