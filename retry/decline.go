package retry

import (
	"fmt"
	"time"

	"github.com/offsession/offsession/processors/connector"
)

// Class is what a processor outcome means for retrying.
type Class string

const (
	// Approved: nothing to retry.
	Approved Class = "approved"
	// Soft: the issuer may approve later; the strategy plans a retry.
	Soft Class = "soft"
	// NeedsNewCardData: the card details are out of date (expired card,
	// Mastercard advice 01). Retrying the same data cannot succeed: wait
	// until the payment method is updated.
	NeedsNewCardData Class = "needs_new_card_data"
	// Hard: the issuer will never approve this card; it is never retried
	// and the payment method becomes invalid.
	Hard Class = "hard"
	// Technical: the processor failed (error, timeout, outage). Another
	// processor may be tried at once; it does not count against the card.
	Technical Class = "technical"
)

// Classification is a classified outcome.
type Classification struct {
	Class Class
	// NotBefore is the least wait before a retry that the network's advice
	// imposes (Mastercard merchant advice codes 02 and 24 to 30), or zero.
	NotBefore time.Duration
	// Rule names the signal that decided, for the record on the attempt.
	Rule string
}

// hardDeclineCodes are processor decline codes that never turn into an
// approval on this card (Stripe's non-retryable list, with invalid_account
// and transaction_not_allowed, Visa category 1's 14 and 57 in words).
var hardDeclineCodes = map[string]bool{
	"lost_card":                        true,
	"stolen_card":                      true,
	"pickup_card":                      true,
	"incorrect_number":                 true,
	"invalid_account":                  true,
	"revocation_of_authorization":      true,
	"revocation_of_all_authorizations": true,
	"authentication_required":          true,
	"highest_risk_level":               true,
	"transaction_not_allowed":          true,
}

// needsNewCardDataCodes are decline codes that say the stored card data is
// out of date.
var needsNewCardDataCodes = map[string]bool{
	"expired_card":         true,
	"incorrect_cvc":        true,
	"incorrect_zip":        true,
	"invalid_expiry_month": true,
	"invalid_expiry_year":  true,
}

// technicalDeclineCodes are decline codes that report the processor's own
// failure, not the issuer's answer.
var technicalDeclineCodes = map[string]bool{
	"processing_error": true,
	"api_error":        true,
	"rate_limit":       true,
}

// visaCategory1 are raw network response codes of Visa's category 1,
// "issuer will never approve": any reattempt is charged a fee. Their ISO 8583
// meanings are the same on the other networks.
var visaCategory1 = map[string]string{
	"04": "pick up card",
	"07": "pick up card, special conditions",
	"12": "invalid transaction",
	"14": "invalid account number",
	"15": "no such issuer",
	"41": "lost card",
	"43": "stolen card",
	"46": "closed account",
	"57": "transaction not permitted to cardholder",
	"R0": "stop payment order",
	"R1": "revocation of authorization",
	"R3": "revocation of all authorizations",
}

// mastercardAdvice maps Mastercard merchant advice codes to what they mean
// for a retry. Hard: 03 (do not try again), 21 (payment cancellation), 40
// and 41 (non-reloadable prepaid and single-use virtual cards). 01 asks for
// new account information. 02 (cannot approve at this time) waits 72 hours,
// as processors advise; 24 to 30 give the issuer's own wait.
var mastercardAdvice = map[string]Classification{
	"01": {Class: NeedsNewCardData},
	"02": {Class: Soft, NotBefore: 72 * time.Hour},
	"03": {Class: Hard},
	"21": {Class: Hard},
	"24": {Class: Soft, NotBefore: time.Hour},
	"25": {Class: Soft, NotBefore: 24 * time.Hour},
	"26": {Class: Soft, NotBefore: 2 * 24 * time.Hour},
	"27": {Class: Soft, NotBefore: 4 * 24 * time.Hour},
	"28": {Class: Soft, NotBefore: 6 * 24 * time.Hour},
	"29": {Class: Soft, NotBefore: 8 * 24 * time.Hour},
	"30": {Class: Soft, NotBefore: 10 * 24 * time.Hour},
	"40": {Class: Hard},
	"41": {Class: Hard},
}

// Classify classifies a processor outcome. The most final signal wins: any
// hard signal (decline code, Visa category 1 network code, Mastercard advice
// code) makes the decline hard; then any that asks for new card data; then
// a processor failure is technical; anything else is soft, with the wait the
// advice code imposes. An unknown decline code is soft: the strategy and the
// network budgets bound what retrying it costs.
func Classify(o connector.Outcome) Classification {
	switch o.Result {
	case connector.Approved:
		return Classification{Class: Approved, Rule: "approved"}
	case connector.TechnicalError:
		return Classification{Class: Technical, Rule: "processor reported a technical failure"}
	}
	advice, hasAdvice := mastercardAdvice[o.NetworkAdviceCode]
	switch {
	case hardDeclineCodes[o.DeclineCode]:
		return Classification{Class: Hard, Rule: fmt.Sprintf("decline code %s is never retried", o.DeclineCode)}
	case visaCategory1[o.NetworkDeclineCode] != "":
		return Classification{Class: Hard, Rule: fmt.Sprintf("network code %s (%s) is Visa category 1: issuer will never approve", o.NetworkDeclineCode, visaCategory1[o.NetworkDeclineCode])}
	case hasAdvice && advice.Class == Hard:
		return Classification{Class: Hard, Rule: fmt.Sprintf("Mastercard advice code %s: do not try again", o.NetworkAdviceCode)}
	case needsNewCardDataCodes[o.DeclineCode]:
		return Classification{Class: NeedsNewCardData, Rule: fmt.Sprintf("decline code %s needs updated card data", o.DeclineCode)}
	case o.NetworkDeclineCode == "54":
		return Classification{Class: NeedsNewCardData, Rule: "network code 54: expired card"}
	case hasAdvice && advice.Class == NeedsNewCardData:
		return Classification{Class: NeedsNewCardData, Rule: "Mastercard advice code 01: new account information available"}
	case technicalDeclineCodes[o.DeclineCode]:
		return Classification{Class: Technical, Rule: fmt.Sprintf("decline code %s is a processor failure", o.DeclineCode)}
	case hasAdvice:
		return Classification{Class: Soft, NotBefore: advice.NotBefore, Rule: fmt.Sprintf("Mastercard advice code %s: retry after %s", o.NetworkAdviceCode, advice.NotBefore)}
	}
	return Classification{Class: Soft, Rule: fmt.Sprintf("decline code %s is soft", o.DeclineCode)}
}
