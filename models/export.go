package models

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/offsession/offsession/scoring"
)

// Export writes the account's history as CSV: one row per retry, with the
// features of the decision that scheduled it and whether it was approved:
// what Train learns from, for the data team to study. attempt is the
// retry's attempt number (2 for the first retry); the feature columns are
// the codes of scoring.Features (README.md, "The export's codes"), among
// them attempt_number, that number's bucket.
func (s *Service) Export(ctx context.Context, w io.Writer) (int, error) {
	examples, err := s.Dataset(ctx, nil)
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	header := append([]string{"payment_id", "attempt", "decided_at", "started_at"}, scoring.FeatureNames...)
	if err := cw.Write(append(header, "approved")); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	rec := make([]string, 0, len(header)+1)
	for _, e := range examples {
		rec = append(rec[:0], e.PaymentID, strconv.Itoa(e.Number), e.DecidedAt.UTC().Format(time.RFC3339), e.StartedAt.UTC().Format(time.RFC3339))
		for _, v := range e.Row.X {
			rec = append(rec, strconv.Itoa(int(v)))
		}
		rec = append(rec, strconv.FormatBool(e.Row.Approved))
		if err := cw.Write(rec); err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
	}
	cw.Flush()
	return len(examples), cw.Error()
}
