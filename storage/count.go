package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"
)

// Counter counts what a store opened by Counted sends to the database:
// every statement, through ent or not (Lease, the scheduler's locks), and
// every transaction. It is for tests that hold the engine to a budget of
// round trips; Open never counts.
type Counter struct {
	mu     sync.Mutex
	counts Counts
	log    []string
}

// Counts are the statements and transactions sent since the last Reset. A
// statement in a transaction counts as a statement; BEGIN, COMMIT and
// ROLLBACK count only as the transaction.
type Counts struct {
	Statements   int
	Transactions int
}

// Counts returns the counts since the last Reset.
func (c *Counter) Counts() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts
}

// Log returns what was sent since the last Reset, in order: each
// statement's text, and BEGIN, COMMIT and ROLLBACK.
func (c *Counter) Log() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

// Reset sets the counts to zero and empties the log.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = Counts{}
	c.log = nil
}

func (c *Counter) statement(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts.Statements++
	c.log = append(c.log, query)
}

func (c *Counter) transaction() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts.Transactions++
	c.log = append(c.log, "BEGIN")
}

func (c *Counter) end(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, what)
}

// Counted opens the database of s again, with the same settings, as a
// store whose every statement and transaction c counts. Close it as any
// store; s stays open.
func (s *Store) Counted(ctx context.Context, c *Counter) (*Store, error) {
	if s.url == "" {
		return nil, errors.New("count statements: the store was not opened by Open")
	}
	return open(ctx, s.url, c)
}

// countingConnector opens connections whose statements c counts.
type countingConnector struct {
	driver.Connector
	c *Counter
}

func (cc countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := cc.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: cc.c}, nil
}

// countingConn counts what goes through a connection and passes
// everything on; where the connection lacks an optional interface it
// answers as database/sql would without it.
type countingConn struct {
	driver.Conn
	c *Counter
}

var (
	_ driver.QueryerContext     = (*countingConn)(nil)
	_ driver.ExecerContext      = (*countingConn)(nil)
	_ driver.ConnBeginTx        = (*countingConn)(nil)
	_ driver.ConnPrepareContext = (*countingConn)(nil)
	_ driver.Pinger             = (*countingConn)(nil)
	_ driver.SessionResetter    = (*countingConn)(nil)
	_ driver.Validator          = (*countingConn)(nil)
	_ driver.NamedValueChecker  = (*countingConn)(nil)
)

func (cc *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cc.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip // database/sql prepares it: the statement counts then
	}
	rows, err := q.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		cc.c.statement(query)
	}
	return rows, err
}

func (cc *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := cc.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		cc.c.statement(query)
	}
	return res, err
}

func (cc *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		st  driver.Stmt
		err error
	)
	if p, ok := cc.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = cc.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, query: query, c: cc.c}, nil
}

func (cc *countingConn) Prepare(query string) (driver.Stmt, error) {
	return cc.PrepareContext(context.Background(), query)
}

func (cc *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var (
		tx  driver.Tx
		err error
	)
	if b, ok := cc.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = cc.Conn.Begin() //nolint:staticcheck // the drivers' fallback
	}
	cc.c.transaction()
	if err != nil {
		return nil, err
	}
	return countingTx{Tx: tx, c: cc.c}, nil
}

func (cc *countingConn) Begin() (driver.Tx, error) {
	return cc.BeginTx(context.Background(), driver.TxOptions{})
}

func (cc *countingConn) Ping(ctx context.Context) error {
	if p, ok := cc.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (cc *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := cc.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (cc *countingConn) IsValid() bool {
	if v, ok := cc.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (cc *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := cc.Conn.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip // database/sql's default conversion
}

type countingTx struct {
	driver.Tx
	c *Counter
}

func (t countingTx) Commit() error {
	t.c.end("COMMIT")
	return t.Tx.Commit()
}

func (t countingTx) Rollback() error {
	t.c.end("ROLLBACK")
	return t.Tx.Rollback()
}

// countingStmt counts each execution of a prepared statement.
type countingStmt struct {
	driver.Stmt
	query string
	c     *Counter
}

func (s *countingStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.c.statement(s.query)
	return s.Stmt.Exec(args) //nolint:staticcheck // the drivers' fallback
}

func (s *countingStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.c.statement(s.query)
	return s.Stmt.Query(args) //nolint:staticcheck // the drivers' fallback
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.statement(s.query)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.Stmt.Exec(vals) //nolint:staticcheck // the drivers' fallback
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.statement(s.query)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vals, err := values(args)
	if err != nil {
		return nil, err
	}
	return s.Stmt.Query(vals) //nolint:staticcheck // the drivers' fallback
}

func values(args []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("count statements: the driver does not take named arguments")
		}
		out[i] = a.Value
	}
	return out, nil
}
