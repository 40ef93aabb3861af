package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/internal/seed"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// envServeChild makes the bench binary run `offsession serve` instead: the
// retry bench measures a real server process, its memory included.
const envServeChild = "OFFSESSION_BENCH_SERVE"

// retryBench measures due retries on a server with `pending` retries
// waiting far in the future: throughput through a backlog, the lag from
// due time to start at a steady rate, and the server's memory.
type retryBench struct {
	backlog, rounds int
	steady          int // payments due at 100 a second, for the lag
}

type retryResult struct {
	rates     []float64
	lags      []time.Duration
	rssKB     int64
	seedTime  time.Duration
	pending   int
	dialect   string
	serverErr string
}

func (rb retryBench) run(ctx context.Context, d string, pending int) (retryResult, error) {
	res := retryResult{pending: pending, dialect: d}
	u, cleanup, err := freshURL(d)
	if err != nil {
		return res, err
	}
	defer cleanup()
	st, err := storage.Open(ctx, u)
	if err != nil {
		return res, err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return res, err
	}
	sys := viewer.SystemContext(ctx)
	acct, _, err := auth.CreateAccount(sys, st.Client, "bench")
	if err != nil {
		return res, err
	}
	prc, err := st.Client.Processor.Create().SetAccountID(acct.ID).SetName("Simulator").SetType(processor.TypeSimulator).Save(sys)
	if err != nil {
		return res, err
	}
	now := time.Now().UTC()
	visa := func(int) string { return "pm_card_visa" }
	// The pending retries: due between 30 and 60 days from now. Amex cards
	// have no network budget, so a thousand cards can carry them all.
	future := pending - rb.backlog*rb.rounds - rb.steady
	started := time.Now()
	err = seed.DueRetries{
		AccountID: acct.ID, ProcessorID: prc.ID, Brand: paymentmethod.BrandAmex, Cards: 1000,
		N: future, Now: now, Token: visa,
		DueAt: func(i int) time.Time { return now.Add(30*24*time.Hour + time.Duration(i%(30*24*3600))*time.Second) },
		Progress: func(done int) {
			if done%100_000 == 0 {
				fmt.Fprintf(os.Stderr, "  %s: seeded %d of %d pending retries\n", d, done, future)
			}
		},
	}.Write(ctx, st.Client)
	if err != nil {
		return res, err
	}
	res.seedTime = time.Since(started)

	srv, addr, err := startChild(u)
	if err != nil {
		return res, err
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_, _ = srv.Process.Wait()
	}()
	if err := waitReady(addr, 60*time.Second); err != nil {
		return res, err
	}

	first := future
	for round := range rb.rounds {
		// Due a little ahead, so seeding them is not timed.
		due := time.Now().UTC().Add(8 * time.Second)
		err := seed.DueRetries{
			AccountID: acct.ID, ProcessorID: prc.ID, Brand: paymentmethod.BrandAmex, Cards: 100,
			First: first, N: rb.backlog, Now: now, Token: visa, DueAt: func(int) time.Time { return due },
		}.Write(ctx, st.Client)
		if err != nil {
			return res, err
		}
		first += rb.backlog
		last, err := waitDone(ctx, st, due, due, rb.backlog)
		if err != nil {
			return res, fmt.Errorf("round %d: %w", round, err)
		}
		res.rates = append(res.rates, float64(rb.backlog)/last.Sub(due).Seconds())
	}

	// Steady: 100 due a second, well under the throughput, for the lag.
	t0 := time.Now().UTC().Add(8 * time.Second).Truncate(time.Second)
	err = seed.DueRetries{
		AccountID: acct.ID, ProcessorID: prc.ID, Brand: paymentmethod.BrandAmex, Cards: 100,
		First: first, N: rb.steady, Now: now, Token: visa,
		DueAt: func(i int) time.Time { return t0.Add(time.Duration(i-first) * 10 * time.Millisecond) },
	}.Write(ctx, st.Client)
	if err != nil {
		return res, err
	}
	end := t0.Add(time.Duration(rb.steady) * 10 * time.Millisecond)
	if _, err := waitDone(ctx, st, t0, end, rb.steady); err != nil {
		return res, fmt.Errorf("steady: %w", err)
	}
	var rows []struct {
		ScheduledAt time.Time `json:"scheduled_at"`
		StartedAt   time.Time `json:"started_at"`
	}
	err = st.Client.Attempt.Query().
		Where(attempt.Number(2), attempt.ScheduledAtGTE(t0), attempt.ScheduledAtLTE(end)).
		Select(attempt.FieldScheduledAt, attempt.FieldStartedAt).
		Scan(sys, &rows)
	if err != nil {
		return res, err
	}
	for _, r := range rows {
		res.lags = append(res.lags, r.StartedAt.Sub(r.ScheduledAt))
	}
	slices.Sort(res.lags)
	res.rssKB, err = peakRSS(srv.Process.Pid)
	return res, err
}

// waitDone waits until n retries due in [from, to] have finished and
// returns when the last finished.
func waitDone(ctx context.Context, st *storage.Store, from, to time.Time, n int) (time.Time, error) {
	sys := viewer.SystemContext(ctx)
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		done, err := st.Client.Attempt.Query().
			Where(attempt.Number(2), attempt.ScheduledAtGTE(from), attempt.ScheduledAtLTE(to), attempt.FinishedAtNotNil()).
			Count(sys)
		if err != nil {
			return time.Time{}, err
		}
		if done >= n {
			var last []struct {
				FinishedAt time.Time `json:"finished_at"`
			}
			err := st.Client.Attempt.Query().
				Where(attempt.Number(2), attempt.ScheduledAtGTE(from), attempt.ScheduledAtLTE(to)).
				Order(attempt.ByFinishedAt()).
				Select(attempt.FieldFinishedAt).
				Scan(sys, &last)
			if err != nil || len(last) == 0 {
				return time.Time{}, fmt.Errorf("read finish times: %v", err)
			}
			return last[len(last)-1].FinishedAt, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	open, _ := st.Client.OffSessionPayment.Query().Where(offsessionpayment.StatusEQ(offsessionpayment.StatusPendingRetry)).Count(sys)
	return time.Time{}, fmt.Errorf("timed out; %d payments pending", open)
}

func startChild(dbURL string) (*exec.Cmd, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(),
		envServeChild+"=1",
		"OFFSESSION_DATABASE_URL="+dbURL,
		"OFFSESSION_LISTEN_ADDR="+addr,
		"OFFSESSION_WORKERS=4",
		"OFFSESSION_POLL_INTERVAL=50ms",
		"OFFSESSION_LOG_LEVEL=warn",
	)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	return cmd, addr, nil
}

func waitReady(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("server at %s not ready", addr)
}

// peakRSS reads a process's peak resident memory (VmHWM), in KiB.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM for %d", pid)
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

func printRetryResults(w *tabwriter.Writer, results []retryResult) {
	fmt.Fprintln(w, "due retries\tstore\tpending\tmedian/s\tmin/s\tmax/s\tlag p50\tlag p99\tserver peak RSS\tseeded in\t")
	for _, r := range results {
		rates := slices.Clone(r.rates)
		slices.Sort(rates)
		if len(rates) == 0 {
			continue
		}
		fmt.Fprintf(w, "executed through a backlog\t%s\t%d\t%.0f\t%.0f\t%.0f\t%s\t%s\t%.1f MiB\t%s\t\n",
			r.dialect, r.pending, rates[len(rates)/2], rates[0], rates[len(rates)-1],
			percentile(r.lags, 0.5).Round(time.Millisecond), percentile(r.lags, 0.99).Round(time.Millisecond),
			float64(r.rssKB)/1024, r.seedTime.Round(time.Second))
	}
}
