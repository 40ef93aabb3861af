// Package idempotency makes create mutations safe to repeat: a request sent
// again with the same idempotency key returns the object the first one
// made, and the same key with other parameters is refused. The key is
// stored in the transaction that creates the object, so both commit or
// neither does.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/idempotencykey"
	"github.com/offsession/offsession/metrics"
	"github.com/offsession/offsession/storage"
)

// TTLDefault is how long a key is remembered.
const TTLDefault = 24 * time.Hour

const maxKeyLen = 255

// Keys runs creates once per idempotency key.
type Keys struct {
	db      *ent.Client
	clock   clockwork.Clock
	ttl     time.Duration
	metrics *metrics.Metrics
}

// New returns a Keys on db; ttl zero means TTLDefault.
func New(db *ent.Client, clock clockwork.Clock, ttl time.Duration) *Keys {
	if ttl == 0 {
		ttl = TTLDefault
	}
	return &Keys{db: db, clock: clock, ttl: ttl}
}

// WithMetrics returns k counting its conflicts on m (nil: not counted).
func (k *Keys) WithMetrics(m *metrics.Metrics) *Keys {
	k.metrics = m
	return k
}

// Do runs create once per key, in a transaction that also stores the key,
// and returns the ID of what it made. A concurrent request with the same key
// waits on the unique index, fails, and then finds the winner's result. A
// replay with the same parameters returns the original ID; with other
// parameters, or for another operation, it is a CONFLICT. Without a key,
// create just runs in a transaction.
//
// params must not contain the key itself: it is hashed to recognise the
// request.
func (k *Keys) Do(ctx context.Context, op string, key *string, params any, create func(tx *ent.Tx) (string, error)) (string, error) {
	if key == nil {
		var id string
		err := storage.WithTx(ctx, k.db, func(tx *ent.Tx) (err error) {
			id, err = create(tx)
			return err
		})
		return id, err
	}
	if *key == "" || len(*key) > maxKeyLen {
		return "", apierror.Invalid("input.idempotencyKey", "must be 1 to %d characters", maxKeyLen)
	}
	b, err := json.Marshal(params)
	if err != nil {
		return "", fmt.Errorf("hash request: %w", err)
	}
	sum := sha256.Sum256(append([]byte(op+"\x00"), b...))
	hash := hex.EncodeToString(sum[:])

	if id, found, err := k.replay(ctx, op, *key, hash); found || err != nil {
		return id, err
	}
	var id string
	now := k.clock.Now().UTC()
	err = storage.WithTx(ctx, k.db, func(tx *ent.Tx) error {
		// A key that expired but was not yet swept is free again.
		if _, err := tx.IdempotencyKey.Delete().
			Where(idempotencykey.Key(*key), idempotencykey.ExpiresAtLTE(now)).
			Exec(ctx); err != nil {
			return fmt.Errorf("free expired idempotency key: %w", err)
		}
		var err error
		if id, err = create(tx); err != nil {
			return err
		}
		return tx.IdempotencyKey.Create().
			SetKey(*key).
			SetOperation(op).
			SetRequestHash(hash).
			SetResourceID(id).
			SetExpiresAt(now.Add(k.ttl)).
			Exec(ctx)
	})
	if ent.IsConstraintError(err) {
		// Another request with this key committed first.
		if id, found, err := k.replay(ctx, op, *key, hash); found || err != nil {
			return id, err
		}
	}
	return id, err
}

// Create is Do for a create mutation: it returns the object create made,
// as create returned it (nothing is read back), or, on a replay, the one
// the first request made, read by get. create returns the object and its
// ID. An ent entity made in the transaction is unwrapped, so that what is
// read through it later goes to the database, not to the closed
// transaction.
func Create[T any](ctx context.Context, k *Keys, op string, key *string, params any, create func(tx *ent.Tx) (T, string, error), get func(context.Context, string) (T, error)) (T, error) {
	var (
		made   T
		madeID string
	)
	id, err := k.Do(ctx, op, key, params, func(tx *ent.Tx) (string, error) {
		v, id, err := create(tx)
		made, madeID = v, id
		return id, err
	})
	var zero T
	switch {
	case err != nil:
		return zero, err
	case id != madeID:
		// A replay, or another request with the key committed first.
		return get(ctx, id)
	}
	if u, ok := any(made).(interface{ Unwrap() T }); ok {
		made = u.Unwrap()
	}
	return made, nil
}

// replay looks the key up: found is true when a request with it committed.
func (k *Keys) replay(ctx context.Context, op, key, hash string) (id string, found bool, err error) {
	r, err := k.db.IdempotencyKey.Query().
		Where(idempotencykey.Key(key), idempotencykey.ExpiresAtGT(k.clock.Now().UTC())).
		Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("look up idempotency key: %w", err)
	case r.Operation != op:
		k.metrics.IdempotencyConflict(op)
		return "", true, apierror.Conflictf("input.idempotencyKey", "idempotency_key_reused", "this idempotency key was used for %s", r.Operation)
	case r.RequestHash != hash:
		k.metrics.IdempotencyConflict(op)
		return "", true, apierror.Conflictf("input.idempotencyKey", "idempotency_key_reused", "this idempotency key was used with other parameters")
	}
	return r.ResourceID, true, nil
}

// Expire deletes keys past their expiry and returns how many. ctx must be
// the system viewer's.
func (k *Keys) Expire(ctx context.Context) (int, error) {
	n, err := k.db.IdempotencyKey.Delete().
		Where(idempotencykey.ExpiresAtLTE(k.clock.Now().UTC())).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("expire idempotency keys: %w", err)
	}
	return n, nil
}
