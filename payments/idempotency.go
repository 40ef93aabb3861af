package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/idempotencykey"
)

const maxIdempotencyKeyLen = 255

// idempotent runs create once per idempotency key. The key is stored in the
// same transaction as what create makes, so the two commit or vanish
// together; a concurrent request with the same key waits on the unique
// index, fails, and then finds the winner's result. A replay with the same
// parameters returns the ID of the original object; with other parameters,
// or for another operation, it is a CONFLICT.
//
// params must not contain the key itself: it is hashed to recognise the
// request.
func (s *Service) idempotent(ctx context.Context, op string, key *string, params any, create func(tx *ent.Tx) (string, error)) (string, error) {
	if key == nil {
		var id string
		err := s.tx(ctx, func(tx *ent.Tx) (err error) {
			id, err = create(tx)
			return err
		})
		return id, err
	}
	if *key == "" || len(*key) > maxIdempotencyKeyLen {
		return "", apierror.Invalid("input.idempotencyKey", "must be 1 to %d characters", maxIdempotencyKeyLen)
	}
	b, err := json.Marshal(params)
	if err != nil {
		return "", fmt.Errorf("hash request: %w", err)
	}
	sum := sha256.Sum256(append([]byte(op+"\x00"), b...))
	hash := hex.EncodeToString(sum[:])

	if id, found, err := s.replay(ctx, op, *key, hash); found || err != nil {
		return id, err
	}
	var id string
	err = s.tx(ctx, func(tx *ent.Tx) error {
		// A key that expired but was not yet swept is free again.
		if _, err := tx.IdempotencyKey.Delete().
			Where(idempotencykey.Key(*key), idempotencykey.ExpiresAtLTE(s.now())).
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
			SetExpiresAt(s.now().Add(s.cfg.IdempotencyKeyTTL)).
			Exec(ctx)
	})
	if ent.IsConstraintError(err) {
		// Another request with this key committed first.
		if id, found, err := s.replay(ctx, op, *key, hash); found || err != nil {
			return id, err
		}
	}
	return id, err
}

// replay looks the key up: found is true when a request with it committed.
func (s *Service) replay(ctx context.Context, op, key, hash string) (id string, found bool, err error) {
	k, err := s.db.IdempotencyKey.Query().
		Where(idempotencykey.Key(key), idempotencykey.ExpiresAtGT(s.now())).
		Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("look up idempotency key: %w", err)
	case k.Operation != op:
		return "", true, apierror.Conflictf("input.idempotencyKey", "idempotency_key_reused", "this idempotency key was used for %s", k.Operation)
	case k.RequestHash != hash:
		return "", true, apierror.Conflictf("input.idempotencyKey", "idempotency_key_reused", "this idempotency key was used with other parameters")
	}
	return k.ResourceID, true, nil
}

// ExpireIdempotencyKeys deletes keys past their expiry, a batch at a time,
// and returns how many it deleted.
func (s *Service) ExpireIdempotencyKeys(ctx context.Context) (int, error) {
	n, err := s.db.IdempotencyKey.Delete().
		Where(idempotencykey.ExpiresAtLTE(s.now())).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("expire idempotency keys: %w", err)
	}
	return n, nil
}
