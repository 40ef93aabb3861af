package payments

import (
	"context"
	"time"

	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/retry"
)

// nextBackup returns the move to the first of p's backups after the
// payment method it charges now that can be charged at now
// (customers.NextBackup), within the retry window. why says what is wrong
// with the current one. Nil when there is none: the payment fails or
// waits as it would without backups.
func (s *Service) nextBackup(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, now time.Time, why string) (*customers.Backup, error) {
	if len(p.BackupPaymentMethods) == 0 || p.RetryUntil != nil && !retry.InWindow(now, *p.RetryUntil) {
		return nil, nil
	}
	return customers.NextBackup(ctx, tx, p, now, why)
}

// toBackup makes c the move to sw, with the first attempt on it due at
// once.
func (c *change) toBackup(sw *customers.Backup, now time.Time) {
	c.to, c.nextAttemptAt, c.switchTo = offsessionpayment.StatusPendingRetry, &now, sw
	c.plan = &retry.SchedulingDecision{Strategy: "backup_payment_method", Reason: sw.Reason}
}

// toNextBackup makes c the move to p's next backup when there is one;
// moved reports that there was.
func (s *Service) toNextBackup(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, c *change, now time.Time, why string) (moved bool, err error) {
	sw, err := s.nextBackup(ctx, tx, p, now, why)
	if err != nil || sw == nil {
		return false, err
	}
	c.toBackup(sw, now)
	return true, nil
}

// switchNow moves a payment that is not processing (pending, pending a
// retry) to its backup.
func (s *Service) switchNow(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, sw *customers.Backup, now time.Time, owner string) error {
	c := change{at: now, owner: owner}
	c.toBackup(sw, now)
	_, err := s.apply(ctx, tx, p, c)
	return err
}
