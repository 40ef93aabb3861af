package models

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/scoring"
)

// offPolicyKernel is how near the logged time of a retry must be to the
// time a policy picks for it to count for that policy: the smart
// planner's own smoothing width on each side. Not tuned.
const offPolicyKernel = 3 * time.Hour

// offPolicyChunk bounds the IDs of one IN query.
const offPolicyChunk = 500

// offPolicy estimates, on the held-out first retries, the approval rate
// of the first retries the model would plan and the heuristic would, from
// the propensity each logged decision recorded (a decision that recorded
// none was deterministic: 1). Each policy picks its time for the logged
// decision's context and window, as the planner would (without advice
// delays, which are not stored); the logged retry counts for it when it
// was made within offPolicyKernel of that time, as if the policy spread
// its choice evenly over the kernel's hours, weighted by that chance over
// the logged one. The estimate is self-normalised, with the delta
// method's 95% interval. It says how each policy's first retry would fare,
// not a payment's recovery over its retries.
func (s *Service) offPolicy(ctx context.Context, model *scoring.Model, held []Example) (*scoring.OffPolicy, error) {
	var first []Example
	var ids []string
	for _, e := range held {
		if e.Context != nil {
			first = append(first, e)
			ids = append(ids, e.PaymentID)
		}
	}
	prop := map[string]float64{}
	until := map[string]time.Time{}
	maxRetries := map[string]int{}
	for i := 0; i < len(ids); i += offPolicyChunk {
		chunk := ids[i:min(i+offPolicyChunk, len(ids))]
		atts, err := s.db.Attempt.Query().
			Where(attempt.PaymentIDIn(chunk...), attempt.Number(2)).
			Select(attempt.FieldPaymentID, attempt.FieldScheduling).
			All(ctx)
		if err != nil {
			return nil, fmt.Errorf("off-policy: read propensities: %w", err)
		}
		for _, a := range atts {
			if p := a.Scheduling.Propensity; p != nil && *p > 0 {
				prop[a.PaymentID] = *p
			}
		}
		pays, err := s.db.OffSessionPayment.Query().
			Where(offsessionpayment.IDIn(chunk...)).
			Select(offsessionpayment.FieldID, offsessionpayment.FieldRetryUntil, offsessionpayment.FieldMaxRetries).
			All(ctx)
		if err != nil {
			return nil, fmt.Errorf("off-policy: read windows: %w", err)
		}
		for _, p := range pays {
			if p.RetryUntil != nil {
				until[p.ID] = *p.RetryUntil
			}
			maxRetries[p.ID] = p.MaxRetries
		}
	}
	smart := retry.NewSmartPlanner(0, 1)
	candidate := &retry.ActiveModel{Version: "candidate", Model: model}
	slots := float64(2*offPolicyKernel/time.Hour + 1)
	var mw, hw, rs []float64
	logged := 0.0
	for _, e := range first {
		c := *e.Context
		end, ok := until[e.PaymentID]
		if !ok {
			continue
		}
		in := retry.Input{
			Now: e.DecidedAt, Earliest: e.DecidedAt, LastAttemptAt: c.LastAttemptAt, FirstAttemptAt: c.FirstFailureAt,
			RetryUntil: end, MaxRetries: max(maxRetries[e.PaymentID], 1), Strategy: retry.StrategySmart,
			Location: c.Location, Scoring: &c, DeclineCode: c.DeclineCode, Decline: retry.Classification{Class: retry.Soft},
			Brand: c.Brand, Funding: c.Funding, Country: c.Country, Cadence: c.Cadence, Amount: c.Amount,
		}
		p0 := 1.0
		if p, ok := prop[e.PaymentID]; ok {
			p0 = p
		}
		weight := func(pl retry.Planner, in retry.Input) float64 {
			d, err := pl.Plan(ctx, in)
			if err != nil || d.Stop {
				return 0
			}
			if gap := e.StartedAt.Sub(d.At); gap < -offPolicyKernel || gap > offPolicyKernel {
				return 0
			}
			return 1 / slots / p0
		}
		in.Model = candidate
		m := weight(smart, in)
		in.Model = nil
		h := weight(retry.HeuristicPlanner{}, in)
		r := 0.0
		if e.Row.Approved {
			r = 1
		}
		mw, hw, rs = append(mw, m), append(hw, h), append(rs, r)
		logged += r
	}
	out := &scoring.OffPolicy{Decisions: len(rs), Kernel: "±" + offPolicyKernel.String()}
	if len(rs) == 0 {
		return out, nil
	}
	out.Logged = logged / float64(len(rs))
	out.Model, out.Heuristic = snips(mw, rs), snips(hw, rs)
	return out, nil
}

// snips is the self-normalised weighted mean of rs with weights ws, with
// a 95% interval: the delta method's, widened to at least the Wilson
// interval of as many rows as the weights are worth (EffectiveRows). When
// a few rows of small propensity carry most of the weight, the delta
// method's variance is near zero around their outcome, however few they
// are; the Wilson interval of their effective count is not.
func snips(ws, rs []float64) scoring.Estimate {
	var e scoring.Estimate
	var sw, sw2, swr float64
	for i, w := range ws {
		if w > 0 {
			e.Matched++
		}
		sw, sw2, swr = sw+w, sw2+w*w, swr+w*rs[i]
	}
	if sw == 0 {
		return e
	}
	e.Value = swr / sw
	e.EffectiveRows = sw * sw / sw2
	v := 0.0
	for i, w := range ws {
		d := rs[i] - e.Value
		v += w * w * d * d
	}
	se := math.Sqrt(v) / sw
	lo, hi := wilson(e.Value, e.EffectiveRows)
	e.Lower, e.Upper = math.Max(math.Min(e.Value-1.96*se, lo), 0), math.Min(math.Max(e.Value+1.96*se, hi), 1)
	return e
}

// wilson is the 95% Wilson score interval of a rate p observed on n rows.
func wilson(p, n float64) (float64, float64) {
	const z = 1.96
	d := 1 + z*z/n
	c := (p + z*z/(2*n)) / d
	h := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n)) / d
	return c - h, c + h
}
