package storage

import (
	"context"
	stdsql "database/sql"
	"strings"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/tracing"
)

// Traced returns a store on the same database whose ent client makes a
// span for each transaction (from begin to commit or rollback) and one for
// each statement, as children of the span of the work they serve. Work
// that is not traced (a poll of the scheduler that finds nothing due, say)
// makes no spans. With tracing off it returns s itself: no wrapper, no
// cost per statement.
//
// Statements that bypass ent (Lease, Migrate) are not traced.
func (s *Store) Traced(tp trace.TracerProvider) *Store {
	if !tracing.Enabled(tp) {
		return s
	}
	system := "sqlite"
	if s.Dialect == dialect.Postgres {
		system = "postgresql"
	}
	drv := &tracedDriver{Driver: entsql.OpenDB(s.Dialect, s.DB), tracer: tracing.Tracer(tp), system: attribute.String("db.system.name", system)}
	return &Store{Client: ent.NewClient(ent.Driver(drv)), DB: s.DB, Dialect: s.Dialect, url: s.url}
}

type tracedDriver struct {
	*entsql.Driver
	tracer trace.Tracer
	system attribute.KeyValue
}

// statement starts the span of one statement, under parent when the
// statement runs in a traced transaction; ok is false when nothing traces
// the work.
func (d *tracedDriver) statement(ctx context.Context, parent trace.Span, query string) (trace.Span, bool) {
	if parent != nil {
		ctx = trace.ContextWithSpan(ctx, parent)
	} else if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil, false
	}
	op, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	_, span := d.tracer.Start(ctx, "db "+strings.ToUpper(op), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(d.system, attribute.String("db.query.text", query)))
	return span, true
}

func end(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "statement failed")
	}
	span.End()
}

func (d *tracedDriver) Exec(ctx context.Context, query string, args, v any) error {
	span, ok := d.statement(ctx, nil, query)
	err := d.Driver.Exec(ctx, query, args, v)
	if ok {
		end(span, err)
	}
	return err
}

func (d *tracedDriver) Query(ctx context.Context, query string, args, v any) error {
	span, ok := d.statement(ctx, nil, query)
	err := d.Driver.Query(ctx, query, args, v)
	if ok {
		end(span, err)
	}
	return err
}

func (d *tracedDriver) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	span, ok := d.statement(ctx, nil, query)
	res, err := d.Driver.ExecContext(ctx, query, args...)
	if ok {
		end(span, err)
	}
	return res, err
}

func (d *tracedDriver) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	span, ok := d.statement(ctx, nil, query)
	rows, err := d.Driver.QueryContext(ctx, query, args...)
	if ok {
		end(span, err)
	}
	return rows, err
}

func (d *tracedDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	return d.BeginTx(ctx, nil)
}

func (d *tracedDriver) BeginTx(ctx context.Context, opts *entsql.TxOptions) (dialect.Tx, error) {
	var span trace.Span
	if trace.SpanContextFromContext(ctx).IsValid() {
		_, span = d.tracer.Start(ctx, "db transaction", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(d.system))
	}
	tx, err := d.Driver.BeginTx(ctx, opts)
	if err != nil {
		if span != nil {
			end(span, err)
		}
		return nil, err
	}
	return &tracedTx{Tx: tx, drv: d, span: span}, nil
}

// tracedTx is a transaction whose statements are children of its span
// (nil when the transaction's work is not traced).
type tracedTx struct {
	dialect.Tx
	drv  *tracedDriver
	span trace.Span
}

func (t *tracedTx) Exec(ctx context.Context, query string, args, v any) error {
	span, ok := t.drv.statement(ctx, t.span, query)
	err := t.Tx.Exec(ctx, query, args, v)
	if ok {
		end(span, err)
	}
	return err
}

func (t *tracedTx) Query(ctx context.Context, query string, args, v any) error {
	span, ok := t.drv.statement(ctx, t.span, query)
	err := t.Tx.Query(ctx, query, args, v)
	if ok {
		end(span, err)
	}
	return err
}

// execQuerier is what entsql's transactions also implement, for ent's
// ExecContext and QueryContext.
type execQuerier interface {
	ExecContext(context.Context, string, ...any) (stdsql.Result, error)
	QueryContext(context.Context, string, ...any) (*stdsql.Rows, error)
}

func (t *tracedTx) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	span, ok := t.drv.statement(ctx, t.span, query)
	res, err := t.Tx.(execQuerier).ExecContext(ctx, query, args...)
	if ok {
		end(span, err)
	}
	return res, err
}

func (t *tracedTx) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	span, ok := t.drv.statement(ctx, t.span, query)
	rows, err := t.Tx.(execQuerier).QueryContext(ctx, query, args...)
	if ok {
		end(span, err)
	}
	return rows, err
}

func (t *tracedTx) Commit() error {
	err := t.Tx.Commit()
	if t.span != nil {
		t.span.SetAttributes(attribute.String("db.transaction.end", "commit"))
		end(t.span, err)
	}
	return err
}

func (t *tracedTx) Rollback() error {
	err := t.Tx.Rollback()
	if t.span != nil {
		t.span.SetAttributes(attribute.String("db.transaction.end", "rollback"))
		end(t.span, err)
	}
	return err
}
