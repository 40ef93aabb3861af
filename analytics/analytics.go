// Package analytics answers dashboards' questions about recovery: of the
// payments created in a time range, how many were approved at once, how
// many failed first and were recovered (count, amount, attempts, days) or
// failed for good, grouped by one dimension. Each answer is one GROUP BY
// in the database, over the account's payments by creation time (the
// tenancy index) joined to their first attempt (a unique index): no rows
// are loaded.
package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"entgo.io/ent/dialect"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// Dimension is what recovery is grouped by.
type Dimension string

// The dimensions. The decline code and processor are the first attempt's;
// the card's are the payment method's; strategy and model version are the
// payment's; day is the day (UTC) the payment was created.
const (
	All            Dimension = ""
	DeclineCode    Dimension = "DECLINE_CODE"
	Brand          Dimension = "BRAND"
	Funding        Dimension = "FUNDING"
	IssuingCountry Dimension = "ISSUING_COUNTRY"
	Processor      Dimension = "PROCESSOR"
	Strategy       Dimension = "STRATEGY"
	ModelVersion   Dimension = "MODEL_VERSION"
	Day            Dimension = "DAY"
)

// MaxRange bounds the time range of one question.
const MaxRange = 400 * 24 * time.Hour

// Row is recovery in one group and currency.
type Row struct {
	// Key is the group's value; nil for All, or where the value is unknown
	// (a first attempt approved has no decline code).
	Key      *string
	Currency string
	// Payments created in the range whose first attempt has finished.
	Payments             int
	FirstAttemptApproved int
	// FailedFirst: the first attempt was declined or failed.
	FailedFirst int
	// Of those: recovered by a later attempt (succeeded, or authorized for
	// capture), with their amount; still retrying; failed for good.
	Recovered       int
	RecoveredAmount int64
	Retrying        int
	Failed          int
	// AttemptsOnFailedFirst counts every attempt made for the payments
	// whose first attempt failed.
	AttemptsOnFailedFirst int
	// DaysToRecovery is the mean, from the first attempt to success.
	DaysToRecovery float64
}

// FirstAttemptApprovalRate is the share of payments approved at once.
func (r Row) FirstAttemptApprovalRate() float64 { return ratio(r.FirstAttemptApproved, r.Payments) }

// RecoveryRate is the share of failed-first payments recovered.
func (r Row) RecoveryRate() float64 { return ratio(r.Recovered, r.FailedFirst) }

// AttemptsPerRecovery is every attempt spent on failed-first payments per
// payment recovered.
func (r Row) AttemptsPerRecovery() float64 { return ratio(r.AttemptsOnFailedFirst, r.Recovered) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Recovery groups the caller's payments created in [from, to) by by.
func Recovery(ctx context.Context, st *storage.Store, from, to time.Time, by Dimension) ([]*Row, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.AccountID == "" {
		return nil, apierror.Forbiddenf("recovery analytics are an account's: use an API key of the account")
	}
	switch {
	case !to.After(from):
		return nil, apierror.Invalid("to", "must be after from")
	case to.Sub(from) > MaxRange:
		return nil, apierror.Invalid("to", "a range is at most %d days", int(MaxRange/(24*time.Hour)))
	}
	key, err := keyOf(st.Dialect, by)
	if err != nil {
		return nil, err
	}
	days := fmt.Sprintf("(julianday(%s) - julianday(%s))", sqliteTime("p.succeeded_at"), sqliteTime("p.first_finished_at"))
	if st.Dialect == dialect.Postgres {
		days = "(EXTRACT(EPOCH FROM (p.succeeded_at - p.first_finished_at)) / 86400.0)"
	}
	const (
		firstFailed = "p.first_outcome <> 'approved'"
		recovered   = firstFailed + " AND p.status IN ('succeeded', 'requires_capture')"
		retrying    = firstFailed + " AND p.status IN ('pending', 'processing', 'pending_retry', 'paused', 'requires_review')"
	)
	sum := func(cond, value string) string {
		return fmt.Sprintf("COALESCE(SUM(CASE WHEN %s THEN %s ELSE 0 END), 0)", cond, value)
	}
	arg := func(n int) string { return "?" }
	if st.Dialect == dialect.Postgres {
		arg = func(n int) string { return fmt.Sprintf("$%d", n) }
	}
	query := fmt.Sprintf(`SELECT %s AS k, p.currency, COUNT(*), %s, %s, %s, %s, %s, %s, %s,
		AVG(CASE WHEN %s AND p.succeeded_at IS NOT NULL THEN %s END)
	FROM off_session_payments p
	%s
	WHERE p.account_id = %s AND p.created_at >= %s AND p.created_at < %s AND p.first_outcome IS NOT NULL
	GROUP BY k, p.currency
	ORDER BY k, p.currency`,
		key, sum("p.first_outcome = 'approved'", "1"), sum(firstFailed, "1"), sum(recovered, "1"), sum(recovered, "p.amount"),
		sum(retrying, "1"), sum(firstFailed+" AND p.status = 'failed'", "1"), sum(firstFailed, "p.attempt_count"),
		recovered, days, joinCard(by), arg(1), arg(2), arg(3))
	args := []any{v.AccountID, from.UTC(), to.UTC()}
	rows, err := st.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("recovery analytics: %w", err)
	}
	defer rows.Close()
	out := []*Row{}
	for rows.Next() {
		var r Row
		var k sql.NullString
		var d sql.NullFloat64
		if err := rows.Scan(&k, &r.Currency, &r.Payments, &r.FirstAttemptApproved, &r.FailedFirst, &r.Recovered,
			&r.RecoveredAmount, &r.Retrying, &r.Failed, &r.AttemptsOnFailedFirst, &d); err != nil {
			return nil, fmt.Errorf("recovery analytics: %w", err)
		}
		if k.Valid && by != All {
			r.Key = &k.String
		}
		r.DaysToRecovery = d.Float64
		out = append(out, &r)
	}
	return out, rows.Err()
}

// joinCard joins the payment method, for the dimensions that are the card's.
func joinCard(by Dimension) string {
	switch by {
	case Brand, Funding, IssuingCountry:
		return "JOIN payment_methods pm ON pm.id = p.payment_method_id"
	}
	return ""
}

// keyOf is the SQL expression of a dimension.
func keyOf(d string, by Dimension) (string, error) {
	switch by {
	case All:
		return "''", nil
	case DeclineCode:
		return "p.first_decline_code", nil
	case Brand:
		return "pm.brand", nil
	case Funding:
		return "pm.funding", nil
	case IssuingCountry:
		return "pm.issuing_country", nil
	case Processor:
		return "p.first_processor_id", nil
	case Strategy:
		return "p.retry_strategy", nil
	case ModelVersion:
		return "NULLIF(p.model_version, '')", nil
	case Day:
		if d == dialect.Postgres {
			return "((p.created_at AT TIME ZONE 'UTC')::date)::text", nil
		}
		// Stored in UTC, as "2006-01-02 15:04:05... +0000 UTC" (sqliteTime).
		return "substr(p.created_at, 1, 10)", nil
	}
	return "", apierror.Invalid("groupBy", "unknown dimension %q", by)
}

// sqliteTime reads a time column as SQLite's date functions do: the
// driver stores Go's time.String() form, "2006-01-02 15:04:05.999999999
// +0000 UTC", always in UTC here, whose date and time come before " +".
func sqliteTime(col string) string {
	return fmt.Sprintf("substr(%s, 1, instr(%s, ' +') - 1)", col, col)
}
