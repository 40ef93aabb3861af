package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/ent/webhookdelivery"
	"github.com/offsession/offsession/metrics"
	"github.com/offsession/offsession/netguard"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// Defaults of DelivererConfig.
const (
	BackoffBaseDefault = 30 * time.Second
	BackoffMaxDefault  = 30 * time.Minute
	TimeoutDefault     = 10 * time.Second
	leaseDefault       = time.Minute
	batchDefault       = 32
	sendersDefault     = 8
	keptAttempts       = 20
)

// DelivererConfig tunes delivery. Zero fields take their defaults.
type DelivererConfig struct {
	// BackoffBase is the wait after the first failure; each failure doubles
	// it, up to BackoffMax. Defaults BackoffBaseDefault (30 s) and
	// BackoffMaxDefault (30 min).
	BackoffBase, BackoffMax time.Duration
	// Timeout bounds one POST. Default TimeoutDefault (10 s).
	Timeout time.Duration
	// Owner names this process in leases.
	Owner string
	// Guard allows the addresses deliveries may connect to, checked again
	// at every connection. Default a guard that refuses every non-public
	// address.
	Guard *netguard.Guard
	// Metrics counts claims and delivery attempts; nil counts nothing.
	Metrics *metrics.Metrics
}

// Deliverer sends due deliveries.
type Deliverer struct {
	store *storage.Store
	db    *ent.Client
	http  *http.Client
	clock clockwork.Clock
	log   *slog.Logger
	cfg   DelivererConfig
}

// NewDeliverer returns a deliverer.
func NewDeliverer(store *storage.Store, clock clockwork.Clock, log *slog.Logger, cfg DelivererConfig) *Deliverer {
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = BackoffBaseDefault
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = BackoffMaxDefault
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = TimeoutDefault
	}
	if cfg.Guard == nil {
		cfg.Guard = netguard.New(netguard.Config{})
	}
	return &Deliverer{
		store: store, db: store.Client, clock: clock, log: log, cfg: cfg,
		http: &http.Client{
			Transport:     cfg.Guard.Transport(),
			Timeout:       cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// dueDeliveries selects the due deliveries that head their object's queue:
// no earlier delivery of the same object to the same endpoint is pending.
const dueDeliveries = `SELECT d.id FROM webhook_deliveries d
	WHERE d.next_attempt_at IS NOT NULL AND d.next_attempt_at <= {now}
	  AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= {now})
	  AND NOT EXISTS (
		SELECT 1 FROM webhook_deliveries e
		WHERE e.endpoint_id = d.endpoint_id AND e.object_id = d.object_id AND e.status = 'pending'
		  AND (e.object_version < d.object_version OR (e.object_version = d.object_version AND e.id < d.id)))
	ORDER BY d.next_attempt_at
	LIMIT {limit}`

// RunDue sends the due deliveries, a batch at a time, until none is due.
func (d *Deliverer) RunDue(ctx context.Context) error {
	ctx = viewer.SystemContext(ctx)
	for {
		ids, err := d.claim(ctx, batchDefault)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(sendersDefault)
		for _, id := range ids {
			g.Go(func() error {
				defer func() {
					if v := recover(); v != nil {
						d.log.ErrorContext(gctx, "panic delivering a webhook", "delivery", id, "panic", v)
					}
				}()
				if err := d.send(gctx, id); err != nil {
					d.log.ErrorContext(gctx, "webhook delivery", "delivery", id, "err", err)
				}
				return nil
			})
		}
		_ = g.Wait()
		if len(ids) < batchDefault {
			return nil
		}
	}
}

func (d *Deliverer) claim(ctx context.Context, limit int) ([]string, error) {
	now := d.clock.Now().UTC()
	ids, err := d.store.Lease(ctx, "webhook_deliveries", dueDeliveries, d.cfg.Owner, now.Add(leaseDefault), now, limit)
	if err == nil {
		d.cfg.Metrics.Claimed("webhooks", len(ids))
	}
	return ids, err
}

// Queue counts the deliveries still pending and the age of the oldest at
// now, for the metrics.
func (d *Deliverer) Queue(ctx context.Context, now time.Time) (int, time.Duration, error) {
	ctx = viewer.SystemContext(ctx)
	var rows []struct {
		Count  int        `json:"count"`
		Oldest *time.Time `json:"oldest"`
	}
	if err := d.db.WebhookDelivery.Query().
		Where(webhookdelivery.NextAttemptAtNotNil(), webhookdelivery.StatusEQ(webhookdelivery.StatusPending)).
		Aggregate(ent.Count(), ent.As(ent.Min(webhookdelivery.FieldCreatedAt), "oldest")).
		Scan(ctx, &rows); err != nil {
		return 0, 0, fmt.Errorf("count pending webhook deliveries: %w", err)
	}
	if len(rows) == 0 || rows[0].Count == 0 || rows[0].Oldest == nil {
		return 0, 0, nil
	}
	return rows[0].Count, now.Sub(*rows[0].Oldest), nil
}

// Payload is the body of a delivery: the event.
type Payload struct {
	ID            string         `json:"id"`
	Type          string         `json:"type"`
	Created       time.Time      `json:"created"`
	ObjectID      string         `json:"object_id"`
	ObjectVersion int64          `json:"object_version"`
	Data          map[string]any `json:"data"`
}

func (d *Deliverer) send(ctx context.Context, id string) error {
	del, err := d.db.WebhookDelivery.Get(ctx, id)
	if err != nil {
		return err
	}
	if del.LeaseOwner != d.cfg.Owner || del.Status != webhookdelivery.StatusPending {
		return nil
	}
	ep, err := del.QueryEndpoint().Only(ctx)
	if err != nil {
		return err
	}
	ev, err := d.db.Event.Get(ctx, del.EventID)
	if err != nil {
		return err
	}
	body, err := json.Marshal(Payload{ID: ev.ID, Type: ev.Type, Created: ev.CreatedAt.UTC(), ObjectID: ev.ObjectID, ObjectVersion: ev.ObjectVersion, Data: ev.Data})
	if err != nil {
		return err
	}
	start := d.clock.Now()
	status, sendErr := d.post(ctx, ep.URL, ep.Secret, ev.ID, body, start)
	attempt := schematype.DeliveryAttempt{At: start.UTC(), StatusCode: status, DurationMS: d.clock.Since(start).Milliseconds()}
	d.cfg.Metrics.WebhookAttempt(result(sendErr, status))
	if sendErr != nil {
		// The listed error says what kind of failure it was, never the
		// network details behind it.
		attempt.Error = describe(sendErr, status)
		d.log.InfoContext(ctx, "webhook delivery failed", "delivery", id, "endpoint", ep.ID, "err", sendErr)
	}
	log := append(del.Attempts, attempt)
	if len(log) > keptAttempts {
		log = log[len(log)-keptAttempts:]
	}
	upd := d.db.WebhookDelivery.UpdateOneID(id).
		Where(webhookdelivery.LeaseOwner(d.cfg.Owner)).
		AddAttemptCount(1).
		SetAttempts(log).
		ClearLeaseOwner().ClearLeaseExpiresAt()
	now := d.clock.Now().UTC()
	switch {
	case sendErr == nil:
		upd.SetStatus(webhookdelivery.StatusDelivered).SetDeliveredAt(now).ClearNextAttemptAt()
	default:
		next := now.Add(d.backoff(del.AttemptCount + 1))
		if next.After(del.GiveUpAt) {
			upd.SetStatus(webhookdelivery.StatusFailed).ClearNextAttemptAt()
			d.cfg.Metrics.WebhookAttempt(metrics.WebhookGivenUp)
			d.log.WarnContext(ctx, "webhook delivery given up", "delivery", id, "endpoint", ep.ID, "event", ev.ID)
		} else {
			upd.SetNextAttemptAt(next)
		}
	}
	if err := upd.Exec(ctx); err != nil && !ent.IsNotFound(err) {
		return fmt.Errorf("record delivery %s: %w", id, err)
	}
	return nil
}

// describe names a delivery failure for the endpoint's owner: the status
// an endpoint answered, or one of two fixed reasons. The dial error's text,
// and whether the guard refused the address, stay in the server's log, so
// that the log cannot map which internal hosts and ports answer.
func describe(err error, status int) string {
	var ne net.Error
	switch {
	case status != 0:
		return fmt.Sprintf("the endpoint answered %d", status)
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "connection failed"
}

// result is a delivery attempt's result, for the metrics.
func result(err error, status int) string {
	var ne net.Error
	switch {
	case err == nil:
		return metrics.WebhookDelivered
	case status != 0:
		return metrics.WebhookHTTPError
	case errors.As(err, &ne) && ne.Timeout():
		return metrics.WebhookTimeout
	}
	return metrics.WebhookConnectionError
}

// backoff is the wait after the nth failure.
func (d *Deliverer) backoff(n int) time.Duration {
	b := d.cfg.BackoffBase
	for i := 1; i < n && b < d.cfg.BackoffMax; i++ {
		b *= 2
	}
	return min(b, d.cfg.BackoffMax)
}

// post sends one delivery; a 2xx answer delivers it.
func (d *Deliverer) post(ctx context.Context, url, secret, eventID string, body []byte, at time.Time) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "offsession-webhooks/1")
	req.Header.Set("Offsession-Event-Id", eventID)
	req.Header.Set(SignatureHeader, Sign(secret, at, body))
	resp, err := d.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("endpoint answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
