package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// TestFirstAttemptBackfill: the first_attempt migration fills a payment's
// first attempt's outcome, decline code, processor and finish time in
// from its attempts, for payments made before the columns existed. Run
// over payments the service made (approved, declined, one not yet
// attempted) with those columns cleared, it gives back exactly what the
// service wrote.
func TestFirstAttemptBackfill(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		b := apitest.New(t, st)
		for _, token := range []string{"pm_card_visa", "pm_card_chargeDeclinedInsufficientFunds", "pm_card_chargeDeclinedStolenCard"} {
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: token})
			b.CreatePayment(t, b.A.Keys.Secret, apitest.PaymentInput(c, 900, nil)).RequireOK(t)
		}
		b.RunDue(t)
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		b.CreatePayment(t, b.A.Keys.Secret, apitest.PaymentInput(c, 900, nil)).RequireOK(t) // not attempted yet

		const cols = "id, first_outcome, first_decline_code, first_processor_id, first_finished_at"
		read := func() []string {
			rows, err := st.DB.QueryContext(ctx, "SELECT "+cols+" FROM off_session_payments ORDER BY id")
			require.NoError(t, err)
			defer rows.Close()
			var out []string
			for rows.Next() {
				v := make([]any, 5)
				p := make([]any, 5)
				for i := range v {
					p[i] = &v[i]
				}
				require.NoError(t, rows.Scan(p...))
				out = append(out, fmt.Sprint(v...))
			}
			require.NoError(t, rows.Err())
			return out
		}
		want := read()
		require.Len(t, want, 4)
		var set, unset int
		for _, r := range want {
			if strings.HasSuffix(r, "<nil> <nil> <nil> <nil>") {
				unset++
			} else {
				set++
			}
		}
		require.Equal(t, 3, set, "the service wrote the first attempts' facts: %v", want)
		require.Equal(t, 1, unset, "and none for the payment not attempted yet: %v", want)

		_, err := st.DB.ExecContext(ctx, "UPDATE off_session_payments SET first_outcome = NULL, first_decline_code = NULL, first_processor_id = NULL, first_finished_at = NULL")
		require.NoError(t, err)
		all, err := storage.Migrations(st.Dialect)
		require.NoError(t, err)
		var backfill string
		for _, m := range all {
			if strings.HasSuffix(m.Version, "_first_attempt") {
				i := strings.Index(m.SQL, "UPDATE off_session_payments")
				require.Positive(t, i, "the migration backfills")
				backfill = m.SQL[i:]
			}
		}
		require.NotEmpty(t, backfill)
		_, err = st.DB.ExecContext(ctx, backfill)
		require.NoError(t, err)
		require.Equal(t, want, read())
	})
}
