package postgres

import (
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/sqlite"
)

// BenchmarkInsert commits batches of projected 768-d items with text, on
// SQLite (synchronous=FULL, the default) and on PostgreSQL through COPY and
// through pipelined INSERTs (the server's durability settings, by default
// fsync on every commit).
func BenchmarkInsert(b *testing.B) {
	const dim = 768
	for _, batch := range []int{1, 1000} {
		items := benchItems(batch, dim)
		for _, st := range []struct {
			name string
			open func(b *testing.B) store.Store
		}{
			{"sqlite", func(b *testing.B) store.Store {
				s, err := sqlite.Open(context.Background(), b.TempDir(), sqlite.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				return s
			}},
			{"postgres-copy", func(b *testing.B) store.Store { return openFresh(b, Options{CopyThreshold: -1}) }},
			{"postgres-insert", func(b *testing.B) store.Store { return openFresh(b, Options{CopyThreshold: 1 << 30}) }},
		} {
			if batch == 1 && st.name == "postgres-copy" {
				continue // one item never takes the COPY path by default
			}
			b.Run("store="+st.name+"/dim="+strconv.Itoa(dim)+"/batch="+strconv.Itoa(batch), func(b *testing.B) {
				s := st.open(b)
				ctx := context.Background()
				m, err := s.CreateModel(ctx, store.Model{Name: "m", Dimension: dim, Metric: embed.Cosine})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: items, AnchorItems: [3]int{-1, -1, -1}}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "vectors/s")
			})
		}
	}
}

func benchItems(n, dim int) []store.NewItem {
	r := rand.New(rand.NewPCG(1, 2))
	items := make([]store.NewItem, n)
	for i := range items {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		embed.Normalize(v)
		p := spatial.Point{X: r.Float64(), Y: r.Float64(), Z: r.Float64()}
		text := "item " + strconv.Itoa(i)
		h := sha256.Sum256([]byte("doc\x00" + text))
		items[i] = store.NewItem{Vector: v, Point: &p, Text: text, SourceType: "doc", ContentHash: h[:]}
	}
	return items
}
