package processors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/netguard"
	"github.com/offsession/offsession/processors/simulator"
	"github.com/offsession/offsession/processors/stripe"
	"github.com/offsession/offsession/validate"
)

// Configs creates and updates an account's processors.
type Configs struct {
	db    *ent.Client
	keys  *idempotency.Keys
	guard *netguard.Guard
}

// NewConfigs returns the processor configurations of db; guard refuses
// base URLs at addresses the engine must not send credentials to (nil: a
// guard that refuses every non-public address).
func NewConfigs(db *ent.Client, keys *idempotency.Keys, guard *netguard.Guard) *Configs {
	if guard == nil {
		guard = netguard.New(netguard.Config{})
	}
	return &Configs{db: db, keys: keys, guard: guard}
}

// CreateInput is the input of createProcessor. Credentials are
// write-only: no query, log, error or event ever returns them.
type CreateInput struct {
	IdempotencyKey *string              `json:"-"`
	Name           string               `json:"name"`
	Type           processor.Type       `json:"type"`
	Credentials    *string              `json:"-"`
	BaseURL        *string              `json:"baseURL,omitempty"`
	Enabled        *bool                `json:"enabled,omitempty"`
	CostPercentBps *int                 `json:"costPercentBps,omitempty"`
	CostFixed      *int64               `json:"costFixed,omitempty"`
	Settings       schematype.StringMap `json:"settings,omitempty"`
}

// Create configures a processor connector.
func (s *Configs) Create(ctx context.Context, in CreateInput) (*ent.Processor, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if err := s.checkBaseURL(ctx, in.BaseURL); err != nil {
		return nil, err
	}
	// The credentials are hashed with the request, so a replay with others
	// is a CONFLICT; only their digest is kept, with the idempotency key.
	params := struct {
		CreateInput
		CredentialsSHA256 string `json:"credentialsSHA256,omitempty"`
	}{CreateInput: in}
	if in.Credentials != nil {
		sum := sha256.Sum256([]byte(*in.Credentials))
		params.CredentialsSHA256 = hex.EncodeToString(sum[:])
	}
	return idempotency.Create(ctx, s.keys, "createProcessor", in.IdempotencyKey, params, func(tx *ent.Tx) (*ent.Processor, string, error) {
		p, err := tx.Processor.Create().
			SetName(in.Name).
			SetType(in.Type).
			SetNillableCredentials(in.Credentials).
			SetNillableBaseURL(in.BaseURL).
			SetNillableEnabled(in.Enabled).
			SetNillableCostPercentBps(in.CostPercentBps).
			SetNillableCostFixed(in.CostFixed).
			SetSettings(in.Settings).
			Save(ctx)
		if err != nil {
			return nil, "", err
		}
		return p, p.ID, nil
	}, s.db.Processor.Get)
}

func (in *CreateInput) validate() error {
	if in.Name == "" {
		return apierror.Invalid("input.name", "must not be empty")
	}
	if err := validate.Text("input.name", in.Name, 256); err != nil {
		return err
	}
	if err := processor.TypeValidator(in.Type); err != nil {
		return apierror.Invalid("input.type", "unknown processor type %q", in.Type)
	}
	if in.Type == processor.TypeStripe && (in.Credentials == nil || *in.Credentials == "") {
		return apierror.Invalid("input.credentials", "the stripe connector needs a secret key")
	}
	if in.BaseURL != nil {
		if u, err := url.Parse(*in.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return apierror.Invalid("input.baseURL", "must be an http(s) URL")
		}
	}
	if in.Type == processor.TypeStripe && in.BaseURL != nil {
		if err := stripe.CheckConfig(strings.TrimSpace(*in.Credentials), *in.BaseURL); errors.Is(err, stripe.ErrLiveKeyOverHTTP) {
			return apierror.Invalid("input.baseURL", "%s", err)
		}
	}
	if in.CostPercentBps != nil && (*in.CostPercentBps < 0 || *in.CostPercentBps > 10000) {
		return apierror.Invalid("input.costPercentBps", "must be 0 to 10000 basis points")
	}
	if in.CostFixed != nil && *in.CostFixed < 0 {
		return apierror.Invalid("input.costFixed", "must not be negative")
	}
	for k, v := range in.Settings {
		if err := validate.Text("input.settings."+k, v, validate.MaxMetadataValueLen); err != nil {
			return err
		}
	}
	if in.Type == processor.TypeSimulator {
		var se *simulator.SettingError
		if err := simulator.CheckSettings(in.Settings); errors.As(err, &se) {
			return apierror.InvalidReason("input.settings."+se.Key, "invalid_processor_setting", "%s", se.Message)
		}
	}
	return nil
}

// UpdateInput, the input of updateProcessor, changes a processor; every field is optional.
// Credentials stay write-only.
type UpdateInput struct {
	Name           *string              `json:"name,omitempty"`
	Credentials    *string              `json:"-"`
	BaseURL        *string              `json:"baseURL,omitempty"`
	Enabled        *bool                `json:"enabled,omitempty"`
	CostPercentBps *int                 `json:"costPercentBps,omitempty"`
	CostFixed      *int64               `json:"costFixed,omitempty"`
	Settings       schematype.StringMap `json:"settings,omitempty"`
}

// Update changes a processor's configuration.
func (s *Configs) Update(ctx context.Context, id string, in UpdateInput) (*ent.Processor, error) {
	if err := validate.ID("id", id, "prc"); err != nil {
		return nil, err
	}
	p, err := s.db.Processor.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apierror.NotFoundID("id", id)
	} else if err != nil {
		return nil, err
	}
	check := CreateInput{Name: p.Name, Type: p.Type, Credentials: in.Credentials, BaseURL: in.BaseURL,
		CostPercentBps: in.CostPercentBps, CostFixed: in.CostFixed, Settings: in.Settings}
	if in.Name != nil {
		check.Name = *in.Name
	}
	if check.Credentials == nil {
		check.Credentials = &p.Credentials // the stripe checks see the key in force
	}
	if check.BaseURL == nil && p.BaseURL != "" {
		check.BaseURL = &p.BaseURL
	}
	if err := check.validate(); err != nil {
		return nil, err
	}
	if err := s.checkBaseURL(ctx, in.BaseURL); err != nil {
		return nil, err
	}
	u := s.db.Processor.UpdateOne(p).
		SetNillableName(in.Name).
		SetNillableCredentials(in.Credentials).
		SetNillableBaseURL(in.BaseURL).
		SetNillableEnabled(in.Enabled).
		SetNillableCostPercentBps(in.CostPercentBps).
		SetNillableCostFixed(in.CostFixed)
	if in.Settings != nil {
		u.SetSettings(in.Settings)
	}
	return u.Save(ctx)
}

// checkBaseURL refuses a base URL whose host is, or resolves to, an address
// the engine must not send credentials to (loopback, private, link-local,
// cloud metadata).
func (s *Configs) checkBaseURL(ctx context.Context, baseURL *string) error {
	if baseURL == nil {
		return nil
	}
	if err := s.guard.CheckURL(ctx, *baseURL); err != nil {
		return apierror.InvalidReason("input.baseURL", "address_not_allowed", "%s", err)
	}
	return nil
}
