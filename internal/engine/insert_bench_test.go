package engine

import (
	"context"
	"math/rand/v2"
	"testing"
)

func BenchmarkInsert(b *testing.B) {
	for _, tc := range []struct{ dim, batch int }{{768, 1}, {768, 1000}} {
		b.Run("dim="+itoa(tc.dim)+"/batch="+itoa(tc.batch), func(b *testing.B) {
			e, closeStore := openEngine(b, b.TempDir())
			defer closeStore()
			ctx := context.Background()
			if _, err := e.CreateModel(ctx, "m", tc.dim, "cosine", 1); err != nil {
				b.Fatal(err)
			}
			items := randItems(rand.New(rand.NewPCG(1, 2)), tc.batch, tc.dim)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.Insert(ctx, "m", items); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*tc.batch)/b.Elapsed().Seconds(), "vectors/s")
		})
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
