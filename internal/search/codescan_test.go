package search

import (
	"math/rand/v2"
	"testing"
)

func randPlanes(r *rand.Rand, words int) *[4][]uint64 {
	var p [4][]uint64
	buf := make([]uint64, 4*words)
	for j := range p {
		p[j] = buf[j*words : (j+1)*words]
		for w := range p[j] {
			p[j][w] = r.Uint64()
		}
	}
	return &p
}

func TestCodeLevelsMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(30, 30))
	for _, words := range []int{1, 3, 4, 12, 16, 64, 124, 128} {
		for _, n := range []int{0, 1, 7, 100} {
			codes := make([]uint64, n*words)
			for i := range codes {
				codes[i] = r.Uint64()
			}
			planes := randPlanes(r, words)
			got, want := make([]uint32, n), make([]uint32, n)
			codeLevels(codes, words, planes, got)
			codeLevelsRef(codes, words, planes, want)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("words=%d n=%d row %d: %d, reference %d", words, n, i, got[i], want[i])
				}
			}
		}
	}
}

func BenchmarkCodeLevels(b *testing.B) {
	r := rand.New(rand.NewPCG(31, 31))
	const n, words = 4096, 16
	codes := make([]uint64, n*words)
	for i := range codes {
		codes[i] = r.Uint64()
	}
	planes := randPlanes(r, words)
	out := make([]uint32, n)
	for _, tc := range []struct {
		name string
		fn   func([]uint64, int, *[4][]uint64, []uint32)
	}{{"ref", codeLevelsRef}, {"unrolled", codeLevels4}, {"dispatch", codeLevels}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				tc.fn(codes, words, planes, out)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}
