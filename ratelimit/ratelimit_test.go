package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ratelimit"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// TestBudgetsChargeAllOrNothing: a request refused by one budget spends
// from neither, and a request over a burst is marked so.
func TestBudgetsChargeAllOrNothing(t *testing.T) {
	t.Parallel()
	b := ratelimit.NewBudgets(ratelimit.Config{CostPerSecond: 10, CostBurst: 100, MutationsPerSecond: 1, MutationBurst: 5})
	d := b.Charge("k", ratelimit.Charge{Cost: 10, Mutations: 6}, t0)
	require.False(t, d.Allowed)
	require.Equal(t, "mutations", d.Exceeded)
	require.True(t, d.OverBurst)
	require.EqualValues(t, 100, d.CostRemaining, "the cost was given back")

	d = b.Charge("k", ratelimit.Charge{Cost: 10, Mutations: 5}, t0)
	require.True(t, d.Allowed)
	require.EqualValues(t, 90, d.CostRemaining)
	require.EqualValues(t, 0, d.MutationsRemaining)

	d = b.Charge("k", ratelimit.Charge{Cost: 10, Mutations: 1}, t0)
	require.False(t, d.Allowed)
	require.False(t, d.OverBurst)
	require.Equal(t, time.Second, d.RetryAfter)
	require.EqualValues(t, 90, d.CostRemaining)

	d = b.Charge("k", ratelimit.Charge{Cost: 10, Mutations: 1}, t0.Add(time.Second))
	require.True(t, d.Allowed, "refilled after a second")

	d = b.Charge("k", ratelimit.Charge{Cost: 101}, t0)
	require.Equal(t, ratelimit.Decision{Exceeded: "cost", OverBurst: true, CostRemaining: d.CostRemaining, MutationsRemaining: d.MutationsRemaining}, d)
	require.True(t, b.Charge("other", ratelimit.Charge{Cost: 100}, t0).Allowed, "each key has its own budget")
}

// TestThrottleBlocksAfterBurst: an address is blocked once its failures
// are spent, until the bucket refills; addresses that never failed keep no
// state, and the number of addresses kept is bounded.
func TestThrottleBlocksAfterBurst(t *testing.T) {
	t.Parallel()
	th := ratelimit.NewThrottle(0.5, 3, 10)
	for i := 0; i < 3; i++ {
		blocked, _ := th.Blocked("a", t0)
		require.False(t, blocked)
		th.Fail("a", t0)
	}
	blocked, after := th.Blocked("a", t0)
	require.True(t, blocked)
	require.Equal(t, 2*time.Second, after)
	blocked, _ = th.Blocked("a", t0.Add(2*time.Second))
	require.False(t, blocked, "one failure back after 2 s")

	for i := 0; i < 100; i++ {
		addr := fmt.Sprintf("b%d", i)
		th.Fail(addr, t0)
		th.Fail(addr, t0)
		th.Fail(addr, t0)
	}
	blocked, _ = th.Blocked("b99", t0)
	require.True(t, blocked, "the newest address is kept")
}
