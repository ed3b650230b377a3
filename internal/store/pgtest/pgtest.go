// Package pgtest gives tests a throwaway PostgreSQL database on the server
// named by HARTD_TEST_POSTGRES_DSN (scripts/test.sh starts one and sets
// it). Without it a test is skipped, and failed in CI, where the PostgreSQL
// tests must run.
package pgtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the test server's DSN.
const EnvDSN = "HARTD_TEST_POSTGRES_DSN"

// ServerDSN returns the test server's DSN, or skips tb (fails it in CI).
func ServerDSN(tb testing.TB) string {
	tb.Helper()
	d := os.Getenv(EnvDSN)
	if d == "" {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is not set: in CI the PostgreSQL tests must run; scripts/test.sh starts PostgreSQL + PostGIS and sets it", EnvDSN)
		}
		tb.Skipf("skipped: %s not set (scripts/test.sh starts a local PostgreSQL + PostGIS server and sets it)", EnvDSN)
	}
	return d
}

// Database creates an empty database on the test server, dropped when tb
// ends, and returns its DSN and the admin DSN it was made from.
func Database(tb testing.TB) (dsn, admin string) {
	tb.Helper()
	dsn, admin, name := Reserve(tb)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("connect to %s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	return dsn, admin
}

// Reserve returns the DSN of a database that does not exist yet on the
// test server (for a test of whatever creates it), its name, and the admin
// DSN; the database is dropped, if it exists, when tb ends. The server's
// DSN must be in URL form.
func Reserve(tb testing.TB) (dsn, admin, name string) {
	tb.Helper()
	admin = ServerDSN(tb)
	u, err := url.Parse(admin)
	if err != nil || u.Scheme == "" {
		tb.Fatalf("%s must be a postgres:// URL: %v", EnvDSN, err)
	}
	name = fmt.Sprintf("hartd_test_%d_%d", os.Getpid(), rand.Uint32())
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			tb.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String(), admin, name
}
