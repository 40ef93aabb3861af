package storage

import (
	"container/list"
	"context"
	"database/sql/driver"
	"reflect"

	"modernc.org/sqlite"
)

// stmtCacheSize is how many prepared statements each SQLite connection
// keeps. The engine runs a few dozen distinct statements; ent writes each
// one the same way every time.
const stmtCacheSize = 256

// sqliteConnector opens SQLite connections that keep their prepared
// statements. The driver prepares (parses and plans) every statement it is
// given afresh, and for the engine's short queries that was a fifth of the
// CPU time of a payment attempt; a statement prepared once is reused by
// every later query with the same text on that connection.
type sqliteConnector struct {
	dsn    string
	driver *sqlite.Driver
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.driver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{conn: conn, stmts: map[string]*list.Element{}, lru: list.New()}, nil
}

func (c sqliteConnector) Driver() driver.Driver { return c.driver }

// sqliteConn is what the SQLite driver's connections implement.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is a SQLite connection with a cache of prepared statements.
// database/sql uses a connection from one goroutine at a time, so it needs
// no lock; a statement whose rows are still open is not handed out again
// (a second query with the same text gets a statement of its own).
type cachingConn struct {
	conn  driver.Conn
	stmts map[string]*list.Element // of *cachedStmt
	lru   *list.List
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool
}

var (
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

func (c *cachingConn) inner() sqliteConn { return c.conn.(sqliteConn) }

// stmt returns a prepared statement for query, and whether it is cached (a
// statement that is not must be closed after use).
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, bool, error) {
	if e, ok := c.stmts[query]; ok {
		cs := e.Value.(*cachedStmt)
		if !cs.busy {
			c.lru.MoveToFront(e)
			return cs, true, nil
		}
		s, err := c.inner().PrepareContext(ctx, query)
		return &cachedStmt{query: query, stmt: s}, false, err
	}
	s, err := c.inner().PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	cs := &cachedStmt{query: query, stmt: s}
	c.stmts[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		oldest := c.lru.Back()
		old := oldest.Value.(*cachedStmt)
		if old.busy {
			break // in use: it goes when its rows are closed and it is next out
		}
		c.lru.Remove(oldest)
		delete(c.stmts, old.query)
		_ = old.stmt.Close()
	}
	return cs, true, nil
}

// done is called when a statement's use has ended.
func (c *cachingConn) done(cs *cachedStmt, cached bool) {
	cs.busy = false
	if !cached {
		_ = cs.stmt.Close()
	}
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, cached, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.done(cs, cached)
		return nil, err
	}
	return &cachedRows{Rows: rows, release: func() { c.done(cs, cached) }}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, cached, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	defer c.done(cs, cached)
	return cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner().PrepareContext(ctx, query)
}

func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.inner().BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner().BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.inner().Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error { return c.inner().ResetSession(ctx) }

func (c *cachingConn) IsValid() bool { return c.inner().IsValid() }

func (c *cachingConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		_ = e.Value.(*cachedStmt).stmt.Close()
	}
	c.lru.Init()
	clear(c.stmts)
	return c.conn.Close()
}

// cachedRows gives its statement back when closed, and passes on the
// column type information the driver's rows have.
type cachedRows struct {
	driver.Rows
	release func()
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if r.release != nil {
		r.release()
		r.release = nil
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
