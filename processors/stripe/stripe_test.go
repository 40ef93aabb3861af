package stripe_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/netguard"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/processors/connector"
)

// stripeTestKey is a test-mode secret key distinctive enough that finding
// it, or its tail, in any output is a leak.
const stripeTestKey = "sk_test_51OffsessionQz7Kx4WvNeverShown"

// localServers lets connectors reach the test servers on 127.0.0.1.
var localServers = netguard.New(netguard.Config{AllowPrivate: true})

// stripeConnector builds the stripe connector the way the engine does,
// through the registry.
func stripeConnector(t *testing.T, baseURL string, settings map[string]string) connector.Connector {
	t.Helper()
	conn, err := processors.NewRegistry(nil, localServers).Connector(&ent.Processor{
		ID:          "prc_stripe_test",
		Type:        processor.TypeStripe,
		Credentials: stripeTestKey,
		BaseURL:     baseURL,
		Settings:    settings,
	})
	require.NoError(t, err)
	return conn
}

func TestStripeConnectorConfiguration(t *testing.T) {
	t.Parallel()
	registry := processors.NewRegistry(nil, localServers)
	tests := []struct {
		name    string
		give    ent.Processor
		wantErr string
	}{
		{name: "default base URL", give: ent.Processor{Credentials: stripeTestKey}},
		{name: "no key", give: ent.Processor{BaseURL: "http://127.0.0.1:1"}, wantErr: "secret key is not set"},
		{name: "not a URL", give: ent.Processor{Credentials: stripeTestKey, BaseURL: "127.0.0.1:12111"}, wantErr: "absolute http(s) URL"},
		{name: "live key in clear text", give: ent.Processor{Credentials: "sk_live_51Secret", BaseURL: "http://stripe.internal:12111"}, wantErr: "needs an https base URL"},
		{name: "live key over https", give: ent.Processor{Credentials: "sk_live_51Secret", BaseURL: "https://stripe.internal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.give
			p.ID, p.Type = "prc_config", processor.TypeStripe
			conn, err := registry.Connector(&p)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, conn)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, conn)
			if p.Credentials != "" {
				require.NotContains(t, err.Error(), p.Credentials)
			}
		})
	}
}
