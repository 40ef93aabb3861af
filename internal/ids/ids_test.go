package ids

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewIsWellFormedAndSorted(t *testing.T) {
	t.Parallel()
	var got []string
	for i := 0; i < 2000; i++ {
		got = append(got, New("osp"))
	}
	require.True(t, sort.StringsAreSorted(got), "IDs made in sequence must sort in sequence")
	seen := map[string]bool{}
	for _, id := range got {
		require.True(t, HasPrefix(id, "osp"), id)
		require.False(t, seen[id], "duplicate %s", id)
		seen[id] = true
		table, err := Table(id)
		require.NoError(t, err)
		require.Equal(t, "off_session_payments", table)
	}
}

func TestTableRejectsMalformed(t *testing.T) {
	t.Parallel()
	for _, give := range []string{
		"", "osp", "osp_", "nope_01hx0000000000000000000000", "osp_short",
		"osp_01HX0000000000000000000000", // upper case is not ours
		"osp_u1hx0000000000000000000000", // first digit above 7 overflows 128 bits
		"cus_01hx00000000000000000000il", // i and l are not Crockford digits
	} {
		_, err := Table(give)
		require.Error(t, err, give)
	}
}

func TestHasPrefix(t *testing.T) {
	t.Parallel()
	id := New("cus")
	require.True(t, HasPrefix(id, "cus"))
	require.False(t, HasPrefix(id, "pm"))
	require.False(t, HasPrefix("pm_card_visa", "pm"))
}

// TestRepeatable is not parallel: it switches the whole package's source.
func TestRepeatable(t *testing.T) {
	defer func() { counted = nil }()
	run := func(seed, start uint64) []string {
		Repeatable(seed, start)
		var out []string
		for i := 0; i < 100; i++ {
			out = append(out, New("osp"))
		}
		return out
	}
	a, b := run(7, 0), run(7, 0)
	require.Equal(t, a, b, "the same seed and start must give the same IDs")
	require.True(t, sort.StringsAreSorted(a))
	for _, id := range a {
		require.True(t, HasPrefix(id, "osp"), id)
	}
	require.NotEqual(t, a[0], run(8, 0)[0], "another seed gives other IDs")
	later := run(7, 1<<40)
	require.Greater(t, later[0], a[len(a)-1], "a later start sorts after")
}
