package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		dir := t.TempDir()
		s, err := Open(context.Background(), dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		reopen := func() store.Store {
			s2, err := Open(context.Background(), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s2.Close() })
			return s2
		}
		return s, reopen
	})
}

func TestOpenIsIdempotentAndInWAL(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		s, err := Open(context.Background(), dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		if err := s.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q, %v", mode, err)
		}
		var n int
		if err := s.r.QueryRow(`SELECT count(*) FROM HartdSchemaHistory`).Scan(&n); err != nil || n != 2 { // 0001 and 0002
			t.Fatalf("history rows = %d, %v", n, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	if _, err := Open(context.Background(), t.TempDir(), Options{Synchronous: "sometimes"}); err == nil {
		t.Fatal("Open accepted synchronous=sometimes")
	}
}
