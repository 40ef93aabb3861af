// Package retry decides whether and when a declined off-session payment is
// tried again: it classifies every processor outcome (decline.go), enforces
// the card networks' retry budgets, and plans the next attempt time with
// the payment's strategy. It never calls a processor and never writes a
// payment: the payments package asks it and acts on the answer.
package retry
