// Package stripefaithful is a test server for the part of Stripe's API the
// connector uses, behaving as Stripe documents where stripe-mock (canned
// fixtures) does not: saved cards that belong to a customer, the first
// response stored and replayed per idempotency key (a 500 included) until
// the key is pruned, parameter checks on a reused key, documented decline
// bodies, and list and search of PaymentIntents by metadata. Every
// behaviour names the page of Stripe's documentation it follows.
//
// Its clock is the test's (Server.Now), so a test can let a day pass.
package stripefaithful

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// IdempotencyTTL is how long a key's first response is kept: "Keys are
// eligible to be removed automatically after they're at least 24 hours
// old, and a new request is generated if a key is reused after the
// original has been pruned." https://docs.stripe.com/api/idempotent_requests
const IdempotencyTTL = 24 * time.Hour

// Decline is how the issuer answers a card: the fields of a 402
// card_error. https://docs.stripe.com/api/errors ,
// https://docs.stripe.com/declines/codes
type Decline struct {
	Code, DeclineCode, NetworkDeclineCode, NetworkAdviceCode, AdviceCode string
}

// Card is a saved PaymentMethod.
type Card struct {
	// Customer the PaymentMethod is attached to, or "". A card saved for
	// later use is attached to a Customer, and charging it needs that
	// customer: https://docs.stripe.com/payments/save-and-reuse
	Customer string
	// Decline, when set, is the issuer's answer to every charge.
	Decline *Decline
	// DeclineFirst, when set, is the answer to the first charge only.
	DeclineFirst *Decline
	// RequiresAuthentication is a card whose issuer asks for 3D Secure
	// (Stripe's test card pm_card_authenticationRequired). Confirmed
	// off_session, the charge "fails with an authentication_required
	// decline code"; confirmed on-session, the PaymentIntent goes to
	// requires_action for the customer to authenticate.
	// https://docs.stripe.com/testing#authentication-and-setup ,
	// https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method ,
	// https://docs.stripe.com/payments/paymentintents/lifecycle
	RequiresAuthentication bool
	// The card data Stripe holds; its account updater may have changed it
	// since the card was saved:
	// https://docs.stripe.com/payments/cards/overview#automatic-card-updates
	Last4, Fingerprint string
	ExpMonth, ExpYear  int
}

// Fault is how the server fails the next create call.
type Fault int

const (
	// FaultNone answers normally.
	FaultNone Fault = iota
	// FaultChargeThen500 charges the card, then answers 500 api_error.
	// Stripe saves "the resulting status code and body of the first
	// request made for any given idempotency key, regardless of whether it
	// succeeds or fails. Subsequent requests with the same key return the
	// same result, including 500 errors."
	// https://docs.stripe.com/api/idempotent_requests
	FaultChargeThen500
	// Fault500 answers 500 api_error without charging; saved the same way.
	Fault500
	// FaultLockTimeout answers 429 lock_timeout, which is not saved (the
	// request "conflicted with another concurrently executing request" and
	// did not run): https://docs.stripe.com/error-codes#lock-timeout ,
	// https://docs.stripe.com/api/idempotent_requests
	FaultLockTimeout
)

// PaymentIntent is one the server created.
type PaymentIntent struct {
	ID, Status, Customer, PaymentMethod, Currency string
	Amount                                        int64
	Created                                       int64
	Metadata                                      map[string]string
	decline                                       *Decline
}

// Server is the test server. Lock mu before touching its fields from a
// test.
type Server struct {
	*httptest.Server

	mu sync.Mutex
	// Now is the server's clock; a test moves it.
	Now   time.Time
	cards map[string]Card
	// stored are the first responses by idempotency key.
	stored  map[string]storedResponse
	intents []*PaymentIntent
	faults  []Fault
	// SearchDelay is how far search lags behind: a PaymentIntent is
	// searchable once it is this old on the server's clock. "Don't use
	// search for read-after-write flows ... data is searchable in less
	// than a minute, [propagation] can lag up to an hour during outages."
	// https://docs.stripe.com/search#data-freshness
	SearchDelay time.Duration
	// Creates are the create calls' parameters, in order.
	Creates  []url.Values
	requests int
	seq      int
}

type storedResponse struct {
	at     time.Time
	params string
	status int
	body   []byte
}

// New starts a server, closed at the end of the test.
func New(t testing.TB) *Server {
	s := &Server{Now: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC), cards: map[string]Card{}, stored: map[string]storedResponse{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/payment_intents", s.create)
	mux.HandleFunc("GET /v1/payment_intents", s.list)
	mux.HandleFunc("GET /v1/payment_intents/search", s.search)
	mux.HandleFunc("GET /v1/payment_intents/{id}", s.retrieve)
	mux.HandleFunc("GET /v1/payment_methods/{id}", s.paymentMethod)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// AddCard saves a PaymentMethod.
func (s *Server) AddCard(id string, c Card) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cards[id] = c
}

// FailNext makes the next create calls fail, one fault each.
func (s *Server) FailNext(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Advance moves the server's clock.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Now = s.Now.Add(d)
}

// Charges counts the PaymentIntents that took money (succeeded or
// requires_capture) for an amount on a customer's card; the test of "never
// a second charge".
func (s *Server) Charges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, pi := range s.intents {
		if pi.Status == "succeeded" || pi.Status == "requires_capture" {
			n++
		}
	}
	return n
}

// Calls counts the create calls, answered from the store or not.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.Creates)
}

// Requests counts every request the server answered, reads included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "the body could not be read", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Creates = append(s.Creates, r.PostForm)
	key := r.Header.Get("Idempotency-Key")
	params := canonical(r.PostForm)
	if key != "" {
		if st, ok := s.stored[key]; ok && s.Now.Sub(st.at) < IdempotencyTTL {
			if st.params != params {
				// "The idempotency layer compares incoming parameters to those
				// of the original request and errors if they're not the same
				// to prevent accidental misuse."
				// https://docs.stripe.com/api/idempotent_requests
				writeError(w, http.StatusBadRequest, "idempotency_error", "",
					"Keys for idempotent requests can only be used with the same parameters they were first used with.", nil)
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			writeRaw(w, st.status, st.body)
			return
		}
	}
	fault := FaultNone
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	if fault == FaultLockTimeout {
		writeError(w, http.StatusTooManyRequests, "invalid_request_error", "lock_timeout",
			"This object cannot be accessed right now because another API request or Stripe process is currently accessing it.", nil)
		return
	}
	status, body, valid := s.confirm(r.PostForm)
	switch {
	case !valid:
		// "No results are saved if a request fails validation."
		// https://docs.stripe.com/api/idempotent_requests
		writeRaw(w, status, body)
		return
	case fault == Fault500:
		s.dropLastIntent()
		status, body = errorBody(http.StatusInternalServerError, "api_error", "", "An unknown error occurred", nil)
	case fault == FaultChargeThen500:
		status, body = errorBody(http.StatusInternalServerError, "api_error", "", "An unknown error occurred", nil)
	}
	if key != "" {
		s.stored[key] = storedResponse{at: s.Now, params: params, status: status, body: body}
	}
	if status >= 500 {
		// The SDKs read this header; Stripe sends it on errors it judges
		// worth retrying (stripe-go PR #928).
		w.Header().Set("Stripe-Should-Retry", "true")
	}
	writeRaw(w, status, body)
}

// dropLastIntent undoes the PaymentIntent confirm just made: a 500 that did
// not charge left nothing behind.
func (s *Server) dropLastIntent() {
	s.intents = s.intents[:len(s.intents)-1]
}

// confirm creates and confirms a PaymentIntent; valid is false when the
// request failed validation (nothing is then created or saved).
func (s *Server) confirm(f url.Values) (status int, body []byte, valid bool) {
	amount, err := strconv.ParseInt(f.Get("amount"), 10, 64)
	if err != nil || amount < 1 || f.Get("currency") == "" {
		st, b := errorBody(http.StatusBadRequest, "invalid_request_error", "parameter_missing", "Missing required param: amount.", nil)
		return st, b, false
	}
	pmID, customer := f.Get("payment_method"), f.Get("customer")
	card, ok := s.cards[pmID]
	if !ok {
		st, b := errorBody(http.StatusBadRequest, "invalid_request_error", "resource_missing", fmt.Sprintf("No such PaymentMethod: '%s'", pmID), nil)
		return st, b, false
	}
	switch {
	case card.Customer != "" && customer == "":
		// A PaymentMethod attached to a Customer is used with that
		// Customer: https://docs.stripe.com/payments/save-and-reuse ,
		// https://docs.stripe.com/api/payment_intents/create#create_payment_intent-customer
		st, b := errorBody(http.StatusBadRequest, "invalid_request_error", "",
			fmt.Sprintf("The provided PaymentMethod %s belongs to a Customer; pass that Customer's ID in the customer parameter.", pmID), nil)
		return st, b, false
	case card.Customer != "" && customer != card.Customer:
		st, b := errorBody(http.StatusBadRequest, "invalid_request_error", "",
			fmt.Sprintf("The provided PaymentMethod %s does not belong to the Customer %s.", pmID, customer), nil)
		return st, b, false
	}
	s.seq++
	pi := &PaymentIntent{
		ID: fmt.Sprintf("pi_faithful_%d", s.seq), Customer: customer, PaymentMethod: pmID,
		Amount: amount, Currency: f.Get("currency"), Created: s.Now.Unix(), Metadata: metadataOf(f),
	}
	s.intents = append(s.intents, pi)
	decline := card.Decline
	if card.DeclineFirst != nil {
		decline, card.DeclineFirst = card.DeclineFirst, nil
		s.cards[pmID] = card
	}
	if decline == nil && card.RequiresAuthentication {
		if f.Get("off_session") != "true" {
			pi.Status = "requires_action"
			b, _ := json.Marshal(s.intentJSON(pi))
			return http.StatusOK, b, true
		}
		decline = &Decline{Code: "authentication_required", DeclineCode: "authentication_required"}
	}
	switch {
	case decline != nil:
		// A declined confirmation answers 402 card_error with the
		// PaymentIntent, now requires_payment_method, inside the error.
		// https://docs.stripe.com/api/errors ,
		// https://docs.stripe.com/declines/codes
		pi.Status, pi.decline = "requires_payment_method", decline
		d := decline
		extra := map[string]any{"decline_code": d.DeclineCode, "payment_intent": s.intentJSON(pi)}
		for k, v := range map[string]string{"network_decline_code": d.NetworkDeclineCode, "network_advice_code": d.NetworkAdviceCode, "advice_code": d.AdviceCode} {
			if v != "" {
				extra[k] = v
			}
		}
		code := d.Code
		if code == "" {
			code = "card_declined"
		}
		st, b := errorBody(http.StatusPaymentRequired, "card_error", code, "Your card was declined.", extra)
		return st, b, true
	case f.Get("capture_method") == "manual":
		pi.Status = "requires_capture"
	default:
		pi.Status = "succeeded"
	}
	b, _ := json.Marshal(s.intentJSON(pi))
	return http.StatusOK, b, true
}

func (s *Server) intentJSON(pi *PaymentIntent) map[string]any {
	m := map[string]any{
		"id": pi.ID, "object": "payment_intent", "status": pi.Status, "amount": pi.Amount, "currency": pi.Currency,
		"customer": nilIfEmpty(pi.Customer), "payment_method": pi.PaymentMethod, "created": pi.Created, "metadata": pi.Metadata,
	}
	if pi.Status == "requires_action" {
		m["next_action"] = map[string]any{"type": "use_stripe_sdk", "use_stripe_sdk": map[string]any{}}
	}
	if d := pi.decline; d != nil {
		m["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "decline_code": d.DeclineCode,
			"network_decline_code": nilIfEmpty(d.NetworkDeclineCode), "network_advice_code": nilIfEmpty(d.NetworkAdviceCode)}
	}
	return m
}

// list answers GET /v1/payment_intents, filtered by customer and
// created[gte], newest first; unlike search it has no indexing delay.
// https://docs.stripe.com/api/payment_intents/list , https://docs.stripe.com/search
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	gte, _ := strconv.ParseInt(q.Get("created[gte]"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	for i := len(s.intents) - 1; i >= 0; i-- {
		pi := s.intents[i]
		if (q.Get("customer") == "" || pi.Customer == q.Get("customer")) && pi.Created >= gte {
			out = append(out, s.intentJSON(pi))
		}
	}
	writeList(w, "list", "/v1/payment_intents", out)
}

// searchQuery is the one search form the connector needs:
// metadata['key']:'value'. https://docs.stripe.com/search#search-query-language
var searchQuery = regexp.MustCompile(`^metadata\['([^']+)'\]:'([^']*)'$`)

// search answers GET /v1/payment_intents/search. Stripe's search is
// eventually consistent (under a minute behind, up to an hour in an
// outage: https://docs.stripe.com/search); this server lags by
// SearchDelay.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	m := searchQuery.FindStringSubmatch(r.URL.Query().Get("query"))
	if m == nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "unsupported search query", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	for _, pi := range s.intents {
		if pi.Metadata[m[1]] == m[2] && s.Now.Sub(time.Unix(pi.Created, 0)) >= s.SearchDelay {
			out = append(out, s.intentJSON(pi))
		}
	}
	writeList(w, "search_result", "/v1/payment_intents/search", out)
}

func (s *Server) retrieve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pi := range s.intents {
		if pi.ID == r.PathValue("id") {
			b, _ := json.Marshal(s.intentJSON(pi))
			writeRaw(w, http.StatusOK, b)
			return
		}
	}
	writeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such payment_intent", nil)
}

// paymentMethod answers GET /v1/payment_methods/{id} with the card Stripe
// holds. https://docs.stripe.com/api/payment_methods/retrieve
func (s *Server) paymentMethod(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	c, ok := s.cards[id]
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", fmt.Sprintf("No such PaymentMethod: '%s'", id), nil)
		return
	}
	b, _ := json.Marshal(map[string]any{"id": id, "object": "payment_method", "type": "card", "customer": nilIfEmpty(c.Customer),
		"card": map[string]any{"brand": "visa", "last4": c.Last4, "exp_month": c.ExpMonth, "exp_year": c.ExpYear, "fingerprint": c.Fingerprint}})
	writeRaw(w, http.StatusOK, b)
}

func writeList(w http.ResponseWriter, object, u string, data []any) {
	if data == nil {
		data = []any{}
	}
	b, _ := json.Marshal(map[string]any{"object": object, "url": u, "has_more": false, "data": data})
	writeRaw(w, http.StatusOK, b)
}

func errorBody(status int, typ, code, msg string, extra map[string]any) (int, []byte) {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	for k, v := range extra {
		e[k] = v
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return status, b
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string, extra map[string]any) {
	_, b := errorBody(status, typ, code, msg, extra)
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_faithful")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func metadataOf(f url.Values) map[string]string {
	m := map[string]string{}
	for k, v := range f {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") {
			m[k[len("metadata["):len(k)-1]] = v[0]
		}
	}
	return m
}

// canonical is a request's parameters in a fixed order, to compare a
// reused key's request with the first.
func canonical(f url.Values) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, strings.Join(f[k], ","))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
