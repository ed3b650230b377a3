package sqlite

import (
	"context"
	"testing"

	"github.com/hartonomous/hartd/internal/store/seedtest"
)

func TestSeedSearch(t *testing.T) {
	seedtest.Run(t, func(t *testing.T) seedtest.Store {
		s, err := Open(context.Background(), t.TempDir(), Options{Synchronous: "normal"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
