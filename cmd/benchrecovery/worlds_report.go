package main

// What -worlds measures and prints (worlds.go runs the protocol).

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
)

// measureArms counts, for the March payments in group whose first attempt
// was declined, each arm's recoveries and attempts, and audits every retry
// of the run against the networks' rules.
func measureArms(ctx context.Context, db *ent.Client, group map[string]string, r *worldResult) error {
	atts, err := attemptRows(ctx, db)
	if err != nil {
		return err
	}
	declined := map[string]bool{}
	retries := map[string][]time.Time{}
	firstRetry := map[string]bool{}
	res := map[string]*armResult{}
	for _, a := range atts {
		if a.IsRetry {
			retries[a.Fingerprint] = append(retries[a.Fingerprint], a.StartedAt)
			if overBudget(a.Network, retries[a.Fingerprint]) {
				r.Violations++
			}
		}
		g, ok := group[a.PaymentID]
		if !ok {
			continue
		}
		if a.Number == 1 {
			if a.Outcome == string(attempt.OutcomeApproved) {
				continue
			}
			declined[a.PaymentID] = true
			if res[g] == nil {
				res[g] = &armResult{}
			}
			res[g].Payments++
		}
		if !declined[a.PaymentID] {
			continue
		}
		x := res[g]
		x.Attempts++
		approved := a.Outcome == string(attempt.OutcomeApproved)
		if approved {
			x.Recovered++
		}
		if a.IsRetry && !firstRetry[a.PaymentID] {
			firstRetry[a.PaymentID] = true
			x.FirstRetries++
			if approved {
				x.FirstApproved++
			}
		}
	}
	for g, x := range res {
		k, cold := strings.CutPrefix(g, "c")
		n, _ := strconv.Atoi(k)
		if cold {
			r.Cold[abArms[n].name] = *x
		} else {
			r.Arms[abArms[n].name] = *x
		}
	}
	return nil
}

// printWorlds prints the per-world table and the medians the issue asks
// about.
func printWorlds(w io.Writer, rs []worldResult, perArm int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "world\tsmart\theuristic\tsched 8/14d\toracle\tsmart-heur (SE)\tsmart/best\tsmart/oracle\tatt/rec smart\tatt/rec heur\tcold smart\tcold heur\tcold diff (SE)\tOPE first retry [95%]\tsmart first retry\tmodel\tviolations\t")
	var vsBest, vsOracle, attSmart, attHeur []float64
	below, coldBelow, covered, activated := 0, 0, 0, 0
	for _, r := range rs {
		s, h, sc, or := r.Arms["smart"], r.Arms["heuristic"], r.Arms["scheduled 8 in 14d"], r.Arms["oracle"]
		diff, se := s.rate()-h.rate(), math.Hypot(s.se(), h.se())
		if diff < -se {
			below++
		}
		cs, ch := r.Cold["smart"], r.Cold["heuristic"]
		cdiff, cse := cs.rate()-ch.rate(), math.Hypot(cs.se(), ch.se())
		if cdiff < -cse {
			coldBelow++
		}
		best := max(h.rate(), sc.rate())
		vsBest = append(vsBest, s.rate()/best)
		vsOracle = append(vsOracle, s.rate()/or.rate())
		attSmart = append(attSmart, float64(s.Attempts)/float64(max(s.Recovered, 1)))
		attHeur = append(attHeur, float64(h.Attempts)/float64(max(h.Recovered, 1)))
		first := float64(s.FirstApproved) / float64(max(s.FirstRetries, 1))
		if r.OffPolicyHi > 0 && first >= r.OffPolicyLo && first <= r.OffPolicyHi {
			covered++
		}
		model := r.Model + " refused"
		if r.Activated {
			model = r.Model + " active"
			activated++
		}
		fmt.Fprintf(tw, "%d\t%.1f%%\t%.1f%%\t%.1f%%\t%.1f%%\t%+.1f (%.1f)\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f%%\t%.1f%%\t%+.1f (%.1f)\t%.3f [%.3f, %.3f]\t%.3f\t%s\t%d\t\n",
			r.World, 100*s.rate(), 100*h.rate(), 100*sc.rate(), 100*or.rate(), 100*diff, 100*se, s.rate()/best, s.rate()/or.rate(),
			attSmart[len(attSmart)-1], attHeur[len(attHeur)-1], 100*cs.rate(), 100*ch.rate(), 100*cdiff, 100*cse,
			r.OffPolicy, r.OffPolicyLo, r.OffPolicyHi, first, model, r.Violations)
	}
	tw.Flush()
	minArm := math.MaxInt
	for _, r := range rs {
		for _, a := range r.Arms {
			minArm = min(minArm, a.Payments)
		}
	}
	fmt.Fprintf(w, "\n%d worlds, at least %d declined payments per arm (asked %d); models activated in %d\n", len(rs), minArm, perArm, activated)
	fmt.Fprintf(w, "smart below the heuristic by more than one SE: %d worlds; cold start: %d worlds\n", below, coldBelow)
	fmt.Fprintf(w, "median smart / best of (heuristic, scheduled 8 in 14d): %.2f\n", median(vsBest))
	fmt.Fprintf(w, "median smart / oracle: %.2f\n", median(vsOracle))
	fmt.Fprintf(w, "median attempts per recovered payment: smart %.2f, heuristic %.2f\n", median(attSmart), median(attHeur))
	fmt.Fprintf(w, "off-policy interval covers the smart arm's first retries in %d of %d worlds\n", covered, len(rs))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
