// Package auth issues API keys and turns a request's bearer key into a
// viewer. Keys are random, shown once when created, and stored only as a
// SHA-256 hash; a key is never logged, only its ID.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/apikey"
	"github.com/offsession/offsession/viewer"
)

// prefixes name the role in the key, as Stripe's sk_/rk_ do.
var prefixes = map[viewer.Role]string{
	viewer.RoleSecret:     "sk_",
	viewer.RoleRestricted: "rk_",
	viewer.RoleAdmin:      "ak_",
}

const keyChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// keyLen random base62 characters carry about 190 bits.
const keyLen = 32

// ErrInvalidKey is returned for a key that is unknown or revoked.
var ErrInvalidKey = errors.New("invalid API key")

// Hash returns the stored form of a key.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// CreateKey makes a new key for an account and returns it in plain text:
// the only time it is seen. ctx must be the system viewer's.
func CreateKey(ctx context.Context, db *ent.Client, accountID string, role viewer.Role, name string) (string, *ent.APIKey, error) {
	prefix, ok := prefixes[role]
	if !ok {
		return "", nil, fmt.Errorf("unknown role %q", role)
	}
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; i < keyLen; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(keyChars))))
		if err != nil {
			return "", nil, fmt.Errorf("make API key: %w", err)
		}
		b.WriteByte(keyChars[n.Int64()])
	}
	key := b.String()
	k, err := db.APIKey.Create().
		SetAccountID(accountID).
		SetRole(apikey.Role(role)).
		SetName(name).
		SetHash(Hash(key)).
		SetRedacted(prefix + "..." + key[len(key)-4:]).
		Save(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("store API key: %w", err)
	}
	return key, k, nil
}

// Keys are an account's three keys, in plain text.
type Keys struct {
	Secret, Restricted, Admin string
}

// CreateAccount makes an account with one key of each role. ctx must be the
// system viewer's.
func CreateAccount(ctx context.Context, db *ent.Client, name string) (*ent.Account, Keys, error) {
	var keys Keys
	acct, err := db.Account.Create().SetName(name).Save(ctx)
	if err != nil {
		return nil, keys, fmt.Errorf("create account: %w", err)
	}
	for role, dst := range map[viewer.Role]*string{
		viewer.RoleSecret:     &keys.Secret,
		viewer.RoleRestricted: &keys.Restricted,
		viewer.RoleAdmin:      &keys.Admin,
	} {
		if *dst, _, err = CreateKey(ctx, db, acct.ID, role, string(role)+" key"); err != nil {
			return nil, keys, err
		}
	}
	return acct, keys, nil
}

// Authenticate returns the viewer a key stands for.
func Authenticate(ctx context.Context, db *ent.Client, key string) (viewer.Viewer, error) {
	if key == "" || len(key) > 128 {
		return viewer.Viewer{}, ErrInvalidKey
	}
	k, err := db.APIKey.Query().
		Where(apikey.Hash(Hash(key)), apikey.RevokedAtIsNil()).
		Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return viewer.Viewer{}, ErrInvalidKey
	}
	if err != nil {
		return viewer.Viewer{}, fmt.Errorf("look up API key: %w", err)
	}
	return viewer.Viewer{AccountID: k.AccountID, Role: viewer.Role(k.Role), KeyID: k.ID}, nil
}

// BearerKey returns the key of an "Authorization: Bearer KEY" header value.
func BearerKey(header string) (string, bool) {
	scheme, key, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(key), true
}

// ErrThrottled: too many invalid keys came from the caller's address; no
// key was looked up.
var ErrThrottled = errors.New("too many invalid API keys from this address; slow down")

// Authenticator checks a key given after a request's headers (in a
// WebSocket's connection_init) as the HTTP layer checks the header's: with
// its throttle of invalid keys per client address.
type Authenticator func(ctx context.Context, key string) (viewer.Viewer, error)

type authenticatorKey struct{}

// WithAuthenticator returns ctx carrying a.
func WithAuthenticator(ctx context.Context, a Authenticator) context.Context {
	return context.WithValue(ctx, authenticatorKey{}, a)
}

// AuthenticatorFrom returns the Authenticator of ctx's request, if any.
func AuthenticatorFrom(ctx context.Context) (Authenticator, bool) {
	a, ok := ctx.Value(authenticatorKey{}).(Authenticator)
	return a, ok
}
