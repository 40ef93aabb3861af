package models_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/event"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/retrymodel"
	"github.com/offsession/offsession/ent/webhookdelivery"
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
	"github.com/offsession/offsession/webhooks"
)

// world is an account with a synthetic history written straight into the
// store: failed payments retried at random hours, approved far more often
// in the morning (UTC), as an issuer's daily rhythm would.
type world struct {
	ctx   context.Context // the account's admin
	acct  string
	svc   *models.Service
	db    *ent.Client
	clock *clockwork.FakeClock
	seq   int
}

var h0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func newWorld(t *testing.T, st *storage.Store) *world {
	t.Helper()
	ctx := context.Background()
	acct, _, err := auth.CreateAccount(viewer.SystemContext(ctx), st.Client, "guard")
	require.NoError(t, err)
	clk := clockwork.NewFakeClockAt(h0.AddDate(0, 2, 0))
	return &world{
		ctx: viewer.NewContext(ctx, viewer.Viewer{AccountID: acct.ID, Role: viewer.RoleAdmin}), acct: acct.ID, db: st.Client, clock: clk,
		svc: models.New(st.Client, clk, slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
}

// customer makes a customer with a card and a mandate.
func (w *world) customer(t *testing.T) (cus, pm, mdt string) {
	t.Helper()
	c, err := w.db.Customer.Create().SetTimeZone("UTC").Save(w.ctx)
	require.NoError(t, err)
	p, err := w.db.PaymentMethod.Create().SetCustomerID(c.ID).SetBrand(paymentmethod.BrandVisa).SetFunding(paymentmethod.FundingDebit).
		SetLast4("4242").SetExpMonth(12).SetExpYear(2030).SetFingerprint("fp_" + c.ID).SetProcessorTokens(nil).Save(w.ctx)
	require.NoError(t, err)
	m, err := w.db.Mandate.Create().SetCustomerID(c.ID).SetPaymentMethodID(p.ID).SetUsage(mandate.UsageRecurring).
		SetTermsVersion("v1").SetTimingAndFrequency("monthly").SetAmountDetermination("plan").SetCancellationPolicy("any time").
		SetAcceptanceType(mandate.AcceptanceTypeOnline).SetAcceptedAt(h0).SetUseLimit(mandate.UseLimitMultiUse).
		SetMaxAmount(10000).SetCurrency("usd").Save(w.ctx)
	require.NoError(t, err)
	return c.ID, p.ID, m.ID
}

// payment writes a payment whose first attempt was declined at start and
// whose retries were made at the given times with the given outcomes; it
// ends succeeded if one was approved, failed otherwise.
func (w *world) payment(t *testing.T, cus, pm, mdt string, start time.Time, retries []time.Time, approved []bool, set func(*ent.OffSessionPaymentCreate)) {
	t.Helper()
	w.seq++
	status := offsessionpayment.StatusFailed
	for _, a := range approved {
		if a {
			status = offsessionpayment.StatusSucceeded
		}
	}
	c := w.db.OffSessionPayment.Create().SetCustomerID(cus).SetPaymentMethodID(pm).SetMandateID(mdt).SetAmount(1500).SetCurrency("usd").
		SetCadence(offsessionpayment.CadenceRecurring).SetStatus(status).SetRetryStrategy(offsessionpayment.RetryStrategySmart).
		SetAttemptCount(1 + len(retries)).SetRetryUntil(start.Add(54 * time.Hour))
	if status == offsessionpayment.StatusSucceeded {
		c.SetSucceededAt(retries[len(retries)-1].Add(time.Second))
	} else {
		c.SetFailedAt(retries[len(retries)-1].Add(time.Second)).SetFailureReason(offsessionpayment.FailureReasonRetriesExhausted)
	}
	if set != nil {
		set(c)
	}
	p, err := c.Save(w.ctx)
	require.NoError(t, err)
	add := func(n int, at time.Time, ok bool) {
		a := w.db.Attempt.Create().SetPaymentID(p.ID).SetCustomerID(cus).SetNumber(n).SetCardFingerprint("fp_" + cus).SetCardNetwork("visa").
			SetToken("tok").SetIdempotencyKey(fmt.Sprintf("%s-%d", p.ID, n)).SetIsRetry(n > 1).SetScheduledAt(at).SetStartedAt(at).
			SetFinishedAt(at.Add(time.Second))
		if n > 1 {
			// Logged at random over the 48 hours the history draws from.
			p := 1.0 / 48
			a.SetScheduling(retry.SchedulingDecision{Strategy: "smart", Explored: true, Propensity: &p})
		}
		if ok {
			a.SetOutcome(attempt.OutcomeApproved)
		} else {
			a.SetOutcome(attempt.OutcomeDeclined).SetDeclineClass(attempt.DeclineClassSoft).SetDeclineCode("insufficient_funds")
		}
		require.NoError(t, a.Exec(w.ctx))
	}
	add(1, start, false)
	for i, at := range retries {
		add(2+i, at, approved[i])
	}
}

// history writes n failed payments over February, each retried up to
// three times at random hours until approved; a retry from 08:00 to 13:59
// is approved with chance 0.6, at any other hour with chance 0.08.
func (w *world) history(t *testing.T, n int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range n {
		cus, pm, mdt := w.customer(t)
		start := h0.AddDate(0, 0, i%28).Add(time.Duration(rng.IntN(24)) * time.Hour)
		var at []time.Time
		var ok []bool
		last := start
		for range 3 {
			last = last.Add(time.Duration(6+rng.IntN(48)) * time.Hour)
			p := 0.08
			if h := last.Hour(); h >= 8 && h < 14 {
				p = 0.6
			}
			at, ok = append(at, last), append(ok, rng.Float64() < p)
			if ok[len(ok)-1] {
				break
			}
		}
		w.payment(t, cus, pm, mdt, start, at, ok, nil)
	}
}

// TestActivationGateRefusesAPlaceboModel: a model trained on the history's
// outcomes dealt at random cannot tell an approval from a decline on the
// held-out retries; activating it is refused (CONFLICT model_not_better)
// and no model plans, so the heuristic does. The same history's real
// outcomes train a model that passes.
func TestActivationGateRefusesAPlaceboModel(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		w := newWorld(t, st)
		w.history(t, 900, 1)
		seed := 1
		placebo, err := w.svc.Train(w.ctx, models.ShuffledLabels(models.TrainInput{Seed: &seed}), nil)
		require.NoError(t, err)
		t.Logf("placebo: AUC %.3f, 95%% interval from %.3f, on %d held-out retries", placebo.Metrics.AUC, placebo.Metrics.AUCLower, placebo.Metrics.Rows)
		require.LessOrEqual(t, placebo.Metrics.AUCLower, 0.5, "AUC %.3f", placebo.Metrics.AUC)
		_, err = w.svc.Activate(w.ctx, placebo.Version)
		e, ok := apierror.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, "model_not_better", e.Reason)
		require.Contains(t, e.Message, "no better than chance")
		am, err := w.svc.Active(w.ctx, w.acct)
		require.NoError(t, err)
		require.Nil(t, am, "no model plans: the heuristic does")

		real, err := w.svc.Train(w.ctx, models.TrainInput{Seed: &seed}, nil)
		require.NoError(t, err)
		t.Logf("real: AUC %.3f, 95%% interval from %.3f", real.Metrics.AUC, real.Metrics.AUCLower)
		op := real.Metrics.OffPolicy
		require.NotNil(t, op)
		t.Logf("off-policy on %d first retries: logged %.3f; model %+v; heuristic %+v", op.Decisions, op.Logged, op.Model, op.Heuristic)
		require.GreaterOrEqual(t, op.Model.Matched, 10, "logged at random, the history covers the model's times")
		require.Greater(t, op.Model.Lower, op.Logged, "the model's first retries (in the morning) beat the random ones, with confidence")
		require.LessOrEqual(t, op.Model.Lower, op.Model.Value)
		require.LessOrEqual(t, op.Model.Value, op.Model.Upper)
		require.Greater(t, real.Metrics.AUCLower, 0.5, "AUC %.3f", real.Metrics.AUC)
		_, err = w.svc.Activate(w.ctx, real.Version)
		require.NoError(t, err)
	})
}

// TestGuardDemotesAModelThatDoesWorse: an active model whose payments are
// recovered less often than its control group's, with confidence, is
// demoted (event retry_model.demoted, its reason recorded) and no longer
// plans; one within the noise of its control keeps planning.
func TestGuardDemotesAModelThatDoesWorse(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		for _, tt := range []struct {
			name           string
			model, holdout float64
			demoted        bool
		}{
			{name: "worse", model: 0.30, holdout: 0.50, demoted: true},
			{name: "within the noise", model: 0.46, holdout: 0.50},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := newWorld(t, st)
				m, err := w.db.RetryModel.Create().SetVersion(1).SetAlgorithm(models.Algorithm).SetFeatures(nil).
					SetStatus(retrymodel.StatusActive).Save(w.ctx)
				require.NoError(t, err)
				const n = 300
				for i := range 2 * n {
					holdout := i%2 == 1
					share := tt.model
					if holdout {
						share = tt.holdout
					}
					cus, pm, mdt := w.customer(t)
					start := h0.Add(time.Duration(i) * time.Hour)
					recovered := float64(i/2) < share*n
					w.payment(t, cus, pm, mdt, start, []time.Time{start.Add(24 * time.Hour)}, []bool{recovered}, func(c *ent.OffSessionPaymentCreate) {
						if holdout {
							c.SetHoldout(true)
						} else {
							c.SetModelVersion("v1")
						}
					})
				}
				require.NoError(t, w.svc.Guard(viewer.SystemContext(context.Background())))
				m, err = w.db.RetryModel.Get(w.ctx, m.ID)
				require.NoError(t, err)
				demotions, err := w.db.Event.Query().Where(event.Type(events.ModelDemoted), event.ObjectID(m.ID)).Count(w.ctx)
				require.NoError(t, err)
				if !tt.demoted {
					require.Equal(t, retrymodel.StatusActive, m.Status)
					require.Zero(t, demotions)
					return
				}
				require.Equal(t, retrymodel.StatusDemoted, m.Status)
				require.Regexp(t, `^recovered 30.0% of 300 payments against the control group.s 50.\d% of 29\d: a difference of -20.\d points`, m.DemotionReason)
				require.Equal(t, 1, demotions)
				am, err := w.svc.Active(w.ctx, w.acct)
				require.NoError(t, err)
				require.Nil(t, am, "a demoted model no longer plans")
			})
		}
	})
}

// TestRetrainKeepsTheBetterVersion: the retrain job, at its time on a
// fake clock, trains a version on the account's history and activates it
// when it predicts the newest retries better than the active version (here
// a placebo left active); run again on the same history, its new version
// predicts them no better, and stays a candidate while the better one
// keeps planning.
func TestRetrainKeepsTheBetterVersion(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		w := newWorld(t, st)
		w.history(t, 900, 2)
		placebo, err := w.svc.Train(w.ctx, models.ShuffledLabels(models.TrainInput{}), nil)
		require.NoError(t, err)
		// Left active from before the gate existed.
		require.NoError(t, w.db.RetryModel.UpdateOne(placebo).SetStatus(retrymodel.StatusActive).Exec(w.ctx))

		sys := viewer.SystemContext(context.Background())
		require.NoError(t, w.svc.Retrain(sys))
		am, err := w.svc.Active(w.ctx, w.acct)
		require.NoError(t, err)
		require.Equal(t, "v2", am.Version, "the retrained version predicts better and takes over")

		w.clock.Advance(7 * 24 * time.Hour)
		require.NoError(t, w.svc.Retrain(sys))
		v3, err := w.db.RetryModel.Query().Where(retrymodel.Version(3)).Only(w.ctx)
		require.NoError(t, err)
		require.Equal(t, retrymodel.StatusCandidate, v3.Status, "no better than the active version on the same rows")
		am, err = w.svc.Active(w.ctx, w.acct)
		require.NoError(t, err)
		require.Equal(t, "v2", am.Version)
	})
}

// TestModelActivationReachesAWebhook: retry_model.activated can be
// subscribed to, and activating a version queues its delivery to the
// endpoint, in the activation's transaction (events.Emit).
func TestModelActivationReachesAWebhook(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		w := newWorld(t, st)
		w.history(t, 900, 1)
		eps := webhooks.NewEndpoints(w.db, w.clock, events.Types, nil)
		ep, err := eps.Create(w.ctx, webhooks.CreateEndpointInput{URL: "https://93.184.216.34/hooks",
			EventTypes: []string{events.ModelActivated, events.ModelDemoted}})
		require.NoError(t, err, "every event type can be subscribed to")
		seed := 1
		m, err := w.svc.Train(w.ctx, models.TrainInput{Seed: &seed}, nil)
		require.NoError(t, err)
		_, err = w.svc.Activate(w.ctx, m.Version)
		require.NoError(t, err)
		n, err := w.db.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(ep.WebhookEndpoint.ID),
			webhookdelivery.EventType(events.ModelActivated), webhookdelivery.ObjectID(m.ID)).Count(w.ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "the activation's event is queued for the endpoint")
	})
}
