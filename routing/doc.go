// Package routing picks the processor of each attempt. The first enabled
// route (by priority) whose conditions match the payment decides, by its
// strategy: priority, volume_split or auto. Only enabled processors that
// hold a token for the payment method are eligible, and a processor that
// keeps failing technically is eliminated until a probe succeeds.
//
// It keeps, in memory, a sliding window of outcomes per processor (health)
// and per processor and segment (success rate), fed by every outcome this
// process sees and rebuilt from the database by a periodic job, so replicas
// converge and a restart starts warm. Issuer declines about the card (such
// as insufficient funds) never count against a processor; technical
// failures and declines a processor can influence do.
//
// It never calls a processor and never writes a payment.
package routing
