package app_test

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/internal/seed"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// TestRule5ThreeReplicasShareTheWork: three server processes on one
// PostgreSQL database execute 10,000 due retries. The simulator records
// each processor idempotency key exactly once, and every payment ends
// succeeded or failed with its retries exhausted.
func TestRule5ThreeReplicasShareTheWork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	t.Parallel()
	const n = 10_000
	dbURL := storagetest.URL(t, dialect.Postgres)
	ctx := context.Background()
	st, err := storage.Open(ctx, dbURL)
	require.NoError(t, err)
	defer st.Close()
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	sys := viewer.SystemContext(ctx)
	acct, _, err := auth.CreateAccount(sys, st.Client, "replicas")
	require.NoError(t, err)
	prc, err := st.Client.Processor.Create().SetAccountID(acct.ID).SetName("Simulator").SetType(processor.TypeSimulator).Save(sys)
	require.NoError(t, err)
	now := time.Now().UTC()
	err = seed.DueRetries{
		AccountID: acct.ID, ProcessorID: prc.ID, N: n, Now: now,
		DueAt: func(i int) time.Time { return now.Add(-time.Duration(i%600) * time.Second) },
		Token: func(i int) string {
			if i%2 == 0 {
				return "pm_card_visa"
			}
			return "pm_card_chargeDeclinedInsufficientFunds"
		},
	}.Write(ctx, st.Client)
	require.NoError(t, err)

	start := time.Now()
	var servers []*exec.Cmd
	for range 3 {
		servers = append(servers, startServer(t, dbURL, "OFFSESSION_WORKERS=8", "OFFSESSION_ATTEMPT_LEASE=30s", "OFFSESSION_PROCESSOR_TIMEOUT=10s"))
	}
	require.Eventually(t, func() bool {
		open, err := st.Client.OffSessionPayment.Query().
			Where(offsessionpayment.StatusIn(offsessionpayment.StatusPendingRetry, offsessionpayment.StatusProcessing)).
			Count(sys)
		return err == nil && open == 0
	}, 5*time.Minute, 100*time.Millisecond)
	t.Logf("3 replicas executed %d due retries in %s", n, time.Since(start).Round(time.Millisecond))
	for _, s := range servers {
		require.NoError(t, s.Process.Signal(syscall.SIGTERM))
		_, _ = s.Process.Wait()
	}

	all, err := st.Client.OffSessionPayment.Query().WithAttempts().All(sys)
	require.NoError(t, err)
	require.Len(t, all, n)
	charges, err := st.Client.SimulatorCharge.Query().All(sys)
	require.NoError(t, err)
	byKey := map[string]*ent.SimulatorCharge{}
	for _, c := range charges {
		byKey[c.IdempotencyKey] = c
	}
	require.Len(t, charges, n, "one charge per retry, each key once")
	for _, p := range all {
		require.Len(t, p.Edges.Attempts, 2, p.ID)
		var retry *ent.Attempt
		for _, a := range p.Edges.Attempts {
			if a.Number == 2 {
				retry = a
			}
		}
		require.NotNil(t, retry, p.ID)
		c, ok := byKey[retry.IdempotencyKey]
		require.True(t, ok, "retry of %s reached the processor", p.ID)
		require.Equal(t, 1, c.Calls, "retry of %s sent once", p.ID)
		switch c.Token {
		case "pm_card_visa":
			require.Equal(t, offsessionpayment.StatusSucceeded, p.Status, p.ID)
		default:
			require.Equal(t, offsessionpayment.StatusFailed, p.Status, p.ID)
			require.Equal(t, offsessionpayment.FailureReasonRetriesExhausted, *p.FailureReason, p.ID)
		}
	}
}
