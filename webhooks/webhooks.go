// Package webhooks delivers the account's events to its webhook endpoints.
// A delivery is queued in the same transaction as the event (Enqueue), so
// none is lost; it is sent signed (Sign, Verify), retried with exponential
// backoff for up to three days, and the deliveries of one object's events go
// out in order. It never decides anything about payments.
package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/webhookendpoint"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/metrics"
	"github.com/offsession/offsession/netguard"
	"github.com/offsession/offsession/validate"
)

// SignatureHeader carries the signature of a delivery.
const SignatureHeader = "Offsession-Signature"

// GiveUpAfter is how long a delivery is retried before it is given up.
const GiveUpAfter = 3 * 24 * time.Hour

// Sign returns the signature header of body sent at t: "t=UNIX,v1=HEX",
// where HEX is HMAC-SHA256 with the endpoint's secret over "UNIX.body".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte("."))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("signature does not match")
	ErrStale        = errors.New("signature timestamp is outside the tolerance")
)

// Verify checks a delivery as a receiver should: the header's HMAC over its
// timestamp and the body, with the endpoint's secret, and a timestamp
// within tolerance of now, against replays.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			continue
		case k == "t":
			ts = v
		case k == "v1":
			sigs = append(sigs, v)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadSignature
	}
	want := mac(secret, ts, body)
	if !slices.ContainsFunc(sigs, func(s string) bool { return hmac.Equal([]byte(s), []byte(want)) }) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}

// Enqueue queues a delivery of ev to each enabled endpoint of its account
// that takes its type. It runs in the transaction that writes the event.
func Enqueue(ctx context.Context, tx *ent.Tx, ev *ent.Event) error {
	eps, err := tx.WebhookEndpoint.Query().
		Where(webhookendpoint.AccountID(ev.AccountID), webhookendpoint.Enabled(true)).
		All(ctx)
	if err != nil {
		return fmt.Errorf("find webhook endpoints: %w", err)
	}
	for _, ep := range eps {
		if len(ep.EventTypes) > 0 && !slices.Contains(ep.EventTypes, ev.Type) {
			continue
		}
		err := tx.WebhookDelivery.Create().
			SetAccountID(ev.AccountID).
			SetEndpointID(ep.ID).
			SetEventID(ev.ID).
			SetEventType(ev.Type).
			SetObjectID(ev.ObjectID).
			SetObjectVersion(ev.ObjectVersion).
			SetNextAttemptAt(ev.CreatedAt.UTC()).
			SetGiveUpAt(ev.CreatedAt.UTC().Add(GiveUpAfter)).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("queue delivery of %s to %s: %w", ev.ID, ep.ID, err)
		}
	}
	return nil
}

// CreateEndpointInput is the input of createWebhookEndpoint.
type CreateEndpointInput struct {
	IdempotencyKey *string  `json:"-"`
	URL            string   `json:"url"`
	EventTypes     []string `json:"eventTypes,omitempty"`
	Description    *string  `json:"description,omitempty"`
}

// CreatedEndpoint is a new endpoint with its signing secret, shown once
// (and again on an idempotent replay of the same request).
type CreatedEndpoint struct {
	WebhookEndpoint *ent.WebhookEndpoint
	Secret          string
}

// Endpoints manages webhook endpoints.
type Endpoints struct {
	db         *ent.Client
	keys       *idempotency.Keys
	eventTypes []string
	guard      *netguard.Guard
}

// NewEndpoints returns the endpoint service; eventTypes are the types an
// endpoint may ask for, and guard checks their URLs (nil: a guard that
// refuses every non-public address).
func NewEndpoints(db *ent.Client, clock clockwork.Clock, eventTypes []string, guard *netguard.Guard) *Endpoints {
	if guard == nil {
		guard = netguard.New(netguard.Config{})
	}
	return &Endpoints{db: db, keys: idempotency.New(db, clock, 0), eventTypes: eventTypes, guard: guard}
}

// WithMetrics returns e counting idempotency conflicts on m.
func (e *Endpoints) WithMetrics(m *metrics.Metrics) *Endpoints {
	e.keys.WithMetrics(m)
	return e
}

// Create makes an endpoint with a fresh secret.
func (e *Endpoints) Create(ctx context.Context, in CreateEndpointInput) (*CreatedEndpoint, error) {
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(in.URL) > 2048 {
		return nil, apierror.Invalid("input.url", "must be an http(s) URL")
	}
	if err := e.guard.CheckURL(ctx, in.URL); err != nil {
		return nil, apierror.InvalidReason("input.url", "address_not_allowed", "%s", err)
	}
	for i, t := range in.EventTypes {
		if !slices.Contains(e.eventTypes, t) {
			return nil, apierror.Invalid(fmt.Sprintf("input.eventTypes[%d]", i), "unknown event type %q", t)
		}
	}
	if err := validate.OptionalText("input.description", in.Description, validate.MaxTextLen); err != nil {
		return nil, err
	}
	return idempotency.Create(ctx, e.keys, "createWebhookEndpoint", in.IdempotencyKey, in, func(tx *ent.Tx) (*CreatedEndpoint, string, error) {
		secret, err := newSecret()
		if err != nil {
			return nil, "", err
		}
		ep, err := tx.WebhookEndpoint.Create().
			SetURL(in.URL).
			SetEventTypes(in.EventTypes).
			SetSecret(secret).
			SetNillableDescription(in.Description).
			Save(ctx)
		if err != nil {
			return nil, "", err
		}
		return &CreatedEndpoint{WebhookEndpoint: ep.Unwrap(), Secret: ep.Secret}, ep.ID, nil
	}, e.created)
}

// created reads an endpoint just created, with its secret.
func (e *Endpoints) created(ctx context.Context, id string) (*CreatedEndpoint, error) {
	ep, err := e.db.WebhookEndpoint.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &CreatedEndpoint{WebhookEndpoint: ep, Secret: ep.Secret}, nil
}

func newSecret() (string, error) {
	const chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b strings.Builder
	b.WriteString("whsec_")
	for i := 0; i < 32; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		if err != nil {
			return "", fmt.Errorf("make webhook secret: %w", err)
		}
		b.WriteByte(chars[n.Int64()])
	}
	return b.String(), nil
}
