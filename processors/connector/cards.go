package connector

import "context"

// Card is what a processor holds of a card behind a token: the data an
// account updater may have changed since the card was saved.
type Card struct {
	Last4, Fingerprint string
	ExpMonth, ExpYear  int
}

// CardRefresher is a connector that can read a token's card afresh, for a
// card declined as out of date (expired_card, Mastercard advice 01) that
// the processor's account updater may already have renewed.
type CardRefresher interface {
	RefreshCard(ctx context.Context, token string) (Card, error)
}
