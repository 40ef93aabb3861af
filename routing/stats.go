package routing

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/offsession/offsession/retry"
)

// Defaults of StatsConfig.
const (
	WindowDefault            = 200
	HealthWindowDefault      = 10
	EliminateAfterDefault    = 3
	ProbeIntervalDefault     = 30 * time.Second
	eliminationMinAttempts   = 3
	successPriorSuccesses    = 1.0
	successPriorObservations = 2.0
)

// StatsConfig tunes the statistics. Zero fields take their defaults.
type StatsConfig struct {
	// Window is how many recent scored outcomes per processor and segment
	// make its success rate. Default WindowDefault.
	Window int
	// HealthWindow is how many recent calls per processor are watched for
	// technical failures. Default HealthWindowDefault.
	HealthWindow int
	// EliminateAfter technical failures among the last HealthWindow calls
	// eliminate a processor. Default EliminateAfterDefault.
	EliminateAfter int
	// ProbeInterval is how often an eliminated processor gets one probe
	// attempt. Default ProbeIntervalDefault.
	ProbeInterval time.Duration
}

func (c StatsConfig) withDefaults() StatsConfig {
	if c.Window <= 0 {
		c.Window = WindowDefault
	}
	if c.HealthWindow <= 0 {
		c.HealthWindow = HealthWindowDefault
	}
	if c.EliminateAfter <= 0 {
		c.EliminateAfter = EliminateAfterDefault
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = ProbeIntervalDefault
	}
	return c
}

// Observation is one processor call's outcome.
type Observation struct {
	ProcessorID string
	Segment     string
	At          time.Time
	Class       retry.Class
	DeclineCode string
}

// cardDeclines are issuer answers about the card or the cardholder's money,
// the same at any processor: they never count for or against a processor.
var cardDeclines = map[string]bool{
	"insufficient_funds": true, "withdrawal_count_limit_exceeded": true, "card_velocity_exceeded": true,
	"expired_card": true, "incorrect_cvc": true,
}

// scored tells whether an outcome counts in a processor's success rate, and
// as a success or not.
func scored(o Observation) (counts, success bool) {
	switch o.Class {
	case retry.Approved:
		return true, true
	case retry.Technical:
		return true, false
	case retry.Hard, retry.NeedsNewCardData:
		return false, false
	}
	return !cardDeclines[o.DeclineCode], false
}

// ring is a fixed-size window of booleans.
type ring struct {
	vals []bool
	next int
	full bool
}

func newRing(n int) *ring { return &ring{vals: make([]bool, n)} }

func (r *ring) add(v bool) {
	r.vals[r.next] = v
	r.next = (r.next + 1) % len(r.vals)
	if r.next == 0 {
		r.full = true
	}
}

func (r *ring) counts() (trues, n int) {
	n = r.next
	if r.full {
		n = len(r.vals)
	}
	for i := 0; i < n; i++ {
		if r.vals[i] {
			trues++
		}
	}
	return trues, n
}

// health is a processor's recent technical record.
type health struct {
	technical    *ring // true: the call failed technically
	eliminatedAt time.Time
	lastProbe    time.Time
}

// Stats are the routing statistics of this process.
type Stats struct {
	cfg StatsConfig
	mu  sync.Mutex
	// rates per processor, then per segment.
	rates  map[string]map[string]*ring
	health map[string]*health
}

// NewStats returns empty statistics.
func NewStats(cfg StatsConfig) *Stats {
	return &Stats{cfg: cfg.withDefaults(), rates: map[string]map[string]*ring{}, health: map[string]*health{}}
}

// Observe records one processor call's outcome, and reports whether it
// eliminated the processor.
func (s *Stats) Observe(o Observation) (eliminated bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.observe(o)
}

// Eliminated counts the processors eliminated now.
func (s *Stats) Eliminated() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.health {
		if !h.eliminatedAt.IsZero() {
			n++
		}
	}
	return n
}

func (s *Stats) observe(o Observation) (eliminated bool) {
	h := s.healthOf(o.ProcessorID)
	technical := o.Class == retry.Technical
	h.technical.add(technical)
	failures, _ := h.technical.counts()
	switch {
	case !h.eliminatedAt.IsZero() && !technical:
		h.eliminatedAt = time.Time{} // a probe went through
		h.technical = newRing(s.cfg.HealthWindow)
	case h.eliminatedAt.IsZero() && failures >= s.cfg.EliminateAfter:
		h.eliminatedAt = o.At
		eliminated = true
	}
	if counts, ok := scored(o); counts {
		segs, found := s.rates[o.ProcessorID]
		if !found {
			segs = map[string]*ring{}
			s.rates[o.ProcessorID] = segs
		}
		r, found := segs[o.Segment]
		if !found {
			r = newRing(s.cfg.Window)
			segs[o.Segment] = r
		}
		r.add(ok)
	}
	return eliminated
}

func (s *Stats) healthOf(id string) *health {
	h, ok := s.health[id]
	if !ok {
		h = &health{technical: newRing(s.cfg.HealthWindow)}
		s.health[id] = h
	}
	return h
}

// Replace rebuilds the statistics from observations, oldest first: what the
// database says all replicas saw recently.
func (s *Stats) Replace(obs []Observation) {
	fresh := NewStats(s.cfg)
	for _, o := range obs {
		fresh.observe(o)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Keep probe times: they are this process's own pacing.
	for id, h := range s.health {
		if fh, ok := fresh.health[id]; ok {
			fh.lastProbe = h.lastProbe
		}
	}
	s.rates, s.health = fresh.rates, fresh.health
}

// Rate is a processor's success rate in a segment, with a weak prior so an
// unmeasured processor is neither shunned nor favoured, and how many
// outcomes it rests on.
func (s *Stats) Rate(processorID, segment string) (rate float64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ok int
	if r := s.rates[processorID][segment]; r != nil {
		ok, n = r.counts()
	}
	return (float64(ok) + successPriorSuccesses) / (float64(n) + successPriorObservations), n
}

// Health says whether a processor is eliminated, and whether a probe is due
// now (which it then takes: one probe per interval).
func (s *Stats) Health(processorID string, now time.Time) (eliminated, probe bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.health[processorID]
	if h == nil || h.eliminatedAt.IsZero() {
		return false, false
	}
	if now.Sub(h.lastProbe) >= s.cfg.ProbeInterval && now.Sub(h.eliminatedAt) >= s.cfg.ProbeInterval/2 {
		h.lastProbe = now
		return true, true
	}
	return true, false
}

// Summary is a processor's health for the API.
type Summary struct {
	Status                  string
	RecentTechnicalFailures int
	RecentCalls             int
	SuccessRate             *float64
	ScoredOutcomes          int
	EliminatedSince         *time.Time
	// Segments are the success rates the router ranks by, per segment
	// (brand/funding/issuing country/currency), most outcomes first.
	Segments []SegmentRate
}

// SegmentRate is a processor's success rate over the scored outcomes of
// one segment.
type SegmentRate struct {
	Segment        string
	SuccessRate    float64
	ScoredOutcomes int
}

// Summarize returns a processor's health and its success rate over all
// segments.
func (s *Stats) Summarize(processorID string) Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := Summary{Status: "healthy"}
	if h := s.health[processorID]; h != nil {
		sum.RecentTechnicalFailures, sum.RecentCalls = h.technical.counts()
		if !h.eliminatedAt.IsZero() {
			sum.Status = "eliminated"
			t := h.eliminatedAt
			sum.EliminatedSince = &t
		}
	}
	ok := 0
	for seg, r := range s.rates[processorID] {
		o, n := r.counts()
		ok += o
		sum.ScoredOutcomes += n
		if n > 0 {
			sum.Segments = append(sum.Segments, SegmentRate{Segment: seg, SuccessRate: float64(o) / float64(n), ScoredOutcomes: n})
		}
	}
	slices.SortFunc(sum.Segments, func(a, b SegmentRate) int {
		return cmp.Or(cmp.Compare(b.ScoredOutcomes, a.ScoredOutcomes), cmp.Compare(a.Segment, b.Segment))
	})
	if sum.ScoredOutcomes > 0 {
		rate := float64(ok) / float64(sum.ScoredOutcomes)
		sum.SuccessRate = &rate
	}
	return sum
}
