package connector

import (
	"context"
	"errors"
)

// ImportSource names the object a card was saved by, exactly one field set.
type ImportSource struct {
	SetupIntentID, PaymentIntentID, PaymentMethodID string
}

// ImportedCard is a saved card as the processor holds it, with the token to
// charge it by.
type ImportedCard struct {
	Card
	Token, Brand, Funding, Country string
	// NetworkTransactionID is the network's ID of the customer-initiated
	// payment that saved the card, for later merchant-initiated ones.
	NetworkTransactionID string
}

// ErrImportRefused wraps a reason the object cannot be imported (not found,
// not a card, not finished); the message is safe to show.
var ErrImportRefused = errors.New("cannot import")

// CardImporter is a connector that can read a card saved by the
// processor's own flows.
type CardImporter interface {
	ImportCard(ctx context.Context, src ImportSource) (ImportedCard, error)
}
