package stripe_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/internal/stripemocktest"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/processors/connector"
)

// TestStripeAgainstStripeMock sends every call the connector makes to
// stripe-mock, which validates requests against Stripe's OpenAPI spec, and
// checks what stripe-mock received.
func TestStripeAgainstStripeMock(t *testing.T) {
	t.Parallel()
	rec := stripemocktest.NewRecorder(t, stripemocktest.Start(t))
	conn := stripeConnector(t, rec.URL, nil)
	ctx := context.Background()

	requireHeaders := func(t *testing.T, got stripemocktest.Request, key string) {
		t.Helper()
		require.Equal(t, key, got.Header.Get("Idempotency-Key"))
		require.Equal(t, "Bearer "+stripeTestKey, got.Header.Get("Authorization"), "the key is sent as a bearer token")
		require.NotEmpty(t, got.Header.Get("Stripe-Version"))
	}

	// Each step needs the one before it, so they run in order.
	rec.PlayStatus.Store(true)
	t.Run("authorize with automatic capture", func(t *testing.T) {
		out, err := conn.Authorize(ctx, connector.AuthorizeRequest{
			IdempotencyKey:            "att_auto_1",
			Token:                     "pm_card_visa",
			NetworkTransactionID:      "ntid123456",
			Amount:                    1999,
			Currency:                  "USD",
			Cadence:                   "recurring",
			Description:               "Plan, March",
			StatementDescriptorSuffix: "PLAN MAR",
			Metadata:                  map[string]string{"payment": "osp_1"},
		})
		require.NoError(t, err)
		require.Equal(t, connector.Approved, out.Result)
		require.True(t, strings.HasPrefix(out.Reference, "pi_"), out.Reference)

		got := rec.Last(t)
		require.Equal(t, http.MethodPost, got.Method)
		require.Equal(t, "/v1/payment_intents", got.Path)
		requireHeaders(t, got, "att_auto_1")
		require.Equal(t, url.Values{
			"amount":                               {"1999"},
			"currency":                             {"usd"},
			"payment_method":                       {"pm_card_visa"},
			"payment_method_types[0]":              {"card"},
			"off_session":                          {"true"},
			"confirm":                              {"true"},
			"description":                          {"Plan, March"},
			"statement_descriptor_suffix":          {"PLAN MAR"},
			"metadata[payment]":                    {"osp_1"},
			"metadata[offsession_idempotency_key]": {"att_auto_1"},
			"payment_method_options[card][mit_exemption][network_transaction_id]": {"ntid123456"},
		}, got.Form)
	})

	var authorized string
	t.Run("authorize with manual capture for a customer's card", func(t *testing.T) {
		out, err := conn.Authorize(ctx, connector.AuthorizeRequest{
			IdempotencyKey: "att_manual_1",
			Token:          "cus_Joan/pm_card_mastercard",
			Amount:         5000,
			Currency:       "eur",
			ManualCapture:  true,
		})
		require.NoError(t, err)
		require.Equal(t, connector.Approved, out.Result)
		authorized = out.Reference

		got := rec.Last(t)
		requireHeaders(t, got, "att_manual_1")
		require.Equal(t, "manual", got.Form.Get("capture_method"))
		require.Equal(t, "cus_Joan", got.Form.Get("customer"))
		require.Equal(t, "pm_card_mastercard", got.Form.Get("payment_method"))
		require.Equal(t, "true", got.Form.Get("off_session"))
		require.Equal(t, "true", got.Form.Get("confirm"))
		require.False(t, got.Form.Has("payment_method_options[card][mit_exemption][network_transaction_id]"), "no network transaction ID was given")
		require.False(t, got.Form.Has("description"))
		require.False(t, got.Form.Has("statement_descriptor_suffix"))
	})

	t.Run("capture", func(t *testing.T) {
		require.NotEmpty(t, authorized)
		err := conn.Capture(ctx, connector.CaptureRequest{
			IdempotencyKey:   "osp_1-capture",
			AuthorizationKey: "att_manual_1",
			Reference:        authorized,
			Amount:           4200,
		})
		require.NoError(t, err)
		got := rec.Last(t)
		require.Equal(t, "/v1/payment_intents/"+authorized+"/capture", got.Path)
		requireHeaders(t, got, "osp_1-capture")
		require.Equal(t, url.Values{"amount_to_capture": {"4200"}}, got.Form)
	})

	t.Run("void", func(t *testing.T) {
		err := conn.Void(ctx, connector.VoidRequest{
			IdempotencyKey:   "osp_1-void",
			AuthorizationKey: "att_manual_1",
			Reference:        authorized,
		})
		require.NoError(t, err)
		got := rec.Last(t)
		require.Equal(t, "/v1/payment_intents/"+authorized+"/cancel", got.Path)
		requireHeaders(t, got, "osp_1-void")
	})

	t.Run("network transaction ID switched off", func(t *testing.T) {
		conn := stripeConnector(t, rec.URL, map[string]string{"send_network_transaction_id": "false"})
		out, err := conn.Authorize(ctx, connector.AuthorizeRequest{
			IdempotencyKey: "att_no_ntid", Token: "pm_card_visa", NetworkTransactionID: "ntid123456", Amount: 100, Currency: "usd",
		})
		require.NoError(t, err)
		require.Equal(t, connector.Approved, out.Result)
		require.False(t, rec.Last(t).Form.Has("payment_method_options[card][mit_exemption][network_transaction_id]"))
	})

	t.Run("a key stripe-mock refuses", func(t *testing.T) {
		// stripe-mock's 401 quotes the Authorization header it was sent.
		const badKey = "sk_tst_NotAValidLookingKey"
		conn, err := processors.NewRegistry(nil, localServers).Connector(&ent.Processor{
			ID: "prc_bad_key", Type: processor.TypeStripe, Credentials: badKey, BaseURL: rec.URL,
		})
		require.NoError(t, err)
		out, err := conn.Authorize(ctx, connector.AuthorizeRequest{IdempotencyKey: "att_bad_key", Token: "pm_card_visa", Amount: 100, Currency: "usd"})
		require.NoError(t, err)
		require.Equal(t, connector.TechnicalError, out.Result)
		require.Equal(t, "stripe: the secret key was refused (HTTP 401)", out.Message)
		require.Equal(t, "Bearer "+badKey, rec.Last(t).Header.Get("Authorization"))
	})

	rec.PlayStatus.Store(false)
	t.Run("stripe-mock's canned status is not an approval", func(t *testing.T) {
		// requires_payment_method, and a last_payment_error that is no card
		// error: nothing was charged, and there is no decline to report.
		out, err := conn.Authorize(ctx, connector.AuthorizeRequest{IdempotencyKey: "att_canned", Token: "pm_card_visa", Amount: 100, Currency: "usd"})
		require.NoError(t, err)
		require.Equal(t, connector.TechnicalError, out.Result)
		require.Contains(t, out.Message, "requires_payment_method")
	})
}
