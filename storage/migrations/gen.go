//go:build ignore

// gen.go writes a new versioned migration for each dialect: the statements
// that take a database from the state of the existing migrations to the state
// of the ent schema. Run it through `make migration name=add_something`; it
// needs a PostgreSQL to compute the PostgreSQL diff on (DEV_DATABASE_URL,
// default the local server).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"strconv"
	"time"

	atlas "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/offsession/offsession/ent/migrate"
)

func main() {
	name := flag.String("name", "", "name of the migration, e.g. add_routes")
	flag.Parse()
	if *name == "" {
		log.Fatal("usage: go run storage/migrations/gen.go -name NAME")
	}
	ctx := context.Background()

	lite, err := sql.Open("sqlite", "file:dev?mode=memory&_pragma=foreign_keys(1)")
	if err != nil {
		log.Fatal(err)
	}
	lite.SetMaxOpenConns(1)
	diff(ctx, lite, dialect.SQLite, "storage/migrations/sqlite", *name)

	pgURL := os.Getenv("DEV_DATABASE_URL")
	if pgURL == "" {
		pgURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", pgURL)
	if err != nil {
		log.Fatal(err)
	}
	// Atlas replays the migrations on a clean database: make a scratch one.
	scratch := "migration_dev_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+scratch); err != nil {
		log.Fatalf("create scratch database: %v", err)
	}
	defer admin.ExecContext(ctx, "DROP DATABASE "+scratch)
	u, err := url.Parse(pgURL)
	if err != nil {
		log.Fatal(err)
	}
	u.Path = "/" + scratch
	pg, err := sql.Open("pgx", u.String())
	if err != nil {
		log.Fatal(err)
	}
	diff(ctx, pg, dialect.Postgres, "storage/migrations/postgres", *name)
	pg.Close()
}

func diff(ctx context.Context, db *sql.DB, dia, dir, name string) {
	d, err := atlas.NewLocalDir(dir)
	if err != nil {
		log.Fatalf("%s: %v", dir, err)
	}
	err = migrate.NewSchema(entsql.OpenDB(dia, db)).NamedDiff(ctx, name,
		schema.WithDir(d),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dia),
		schema.WithFormatter(atlas.DefaultFormatter),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
	)
	if err != nil {
		log.Fatalf("diff %s: %v", dia, err)
	}
	fmt.Printf("%s: migration written to %s\n", dia, dir)
}
