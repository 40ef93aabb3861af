package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Snapshot is the state of the durable queues, read from the database.
type Snapshot struct {
	// PaymentsByStatus counts every payment by status.
	PaymentsByStatus map[string]int
	// DuePayments are the payments due now (on the wall clock) that no
	// worker holds: the scheduler's backlog.
	DuePayments int
	// PendingWebhooks are the deliveries not yet delivered or given up,
	// and OldestPendingWebhook the age of the oldest of them.
	PendingWebhooks      int
	OldestPendingWebhook time.Duration
}

// SnapshotFunc reads a Snapshot.
type SnapshotFunc func(context.Context) (Snapshot, error)

// storeCollector reads the queues from the database at each scrape. The
// database is the source of truth, shared by every replica: a gauge kept
// in memory would count only this replica's transitions and start from
// zero at each restart. The price is a GROUP BY over the payments and two
// counts over partial indexes per scrape, bounded by a timeout. Every
// replica reports the same numbers: aggregate them with max, not sum.
type storeCollector struct {
	read                               SnapshotFunc
	timeout                            time.Duration
	log                                *slog.Logger
	payments, due, pending, oldest, up *prometheus.Desc
	statuses                           []string
	eliminated                         func() int
	eliminatedDesc                     *prometheus.Desc
}

// ObserveStore registers the gauges read from the database at scrape:
// offsession_payments{status}, offsession_due_payments,
// offsession_webhook_deliveries_pending,
// offsession_webhook_oldest_pending_age_seconds and
// offsession_store_scrape_success. statuses are reported even when none
// has a payment; eliminated, when set, counts the processors routing has
// eliminated (offsession_processors_eliminated).
func (m *Metrics) ObserveStore(read SnapshotFunc, statuses []string, eliminated func() int, timeout time.Duration, log *slog.Logger) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(&storeCollector{
		read: read, timeout: timeout, log: log, statuses: statuses, eliminated: eliminated,
		payments: prometheus.NewDesc("offsession_payments", "Off-session payments by status, now.", []string{"status"}, nil),
		due:      prometheus.NewDesc("offsession_due_payments", "Payments due now that no worker holds: the scheduler's backlog.", nil, nil),
		pending:  prometheus.NewDesc("offsession_webhook_deliveries_pending", "Webhook deliveries not yet delivered or given up.", nil, nil),
		oldest:   prometheus.NewDesc("offsession_webhook_oldest_pending_age_seconds", "Age of the oldest pending webhook delivery (0 when none).", nil, nil),
		up:       prometheus.NewDesc("offsession_store_scrape_success", "1 when the gauges read from the database at this scrape were read, else 0.", nil, nil),
		eliminatedDesc: prometheus.NewDesc("offsession_processors_eliminated",
			"Processors this replica's router holds eliminated after technical failures.", nil, nil),
	})
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.payments
	ch <- c.due
	ch <- c.pending
	ch <- c.oldest
	ch <- c.up
	ch <- c.eliminatedDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.eliminated != nil {
		ch <- prometheus.MustNewConstMetric(c.eliminatedDesc, prometheus.GaugeValue, float64(c.eliminated()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	s, err := c.read(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "read the queue gauges for /metrics", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, st := range c.statuses {
		ch <- prometheus.MustNewConstMetric(c.payments, prometheus.GaugeValue, float64(s.PaymentsByStatus[st]), st)
	}
	ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(s.DuePayments))
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(s.PendingWebhooks))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, max(s.OldestPendingWebhook, 0).Seconds())
}
