//go:build amd64 && !purego

package search

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2

//go:noescape
func codeLevelsAVX2(codes *uint64, rows, words int, planes *uint64, out *uint32)

// codeLevelsSIMD runs the AVX2 kernel when the CPU has it and the layout
// fits it, and reports whether it did.
func codeLevelsSIMD(codes []uint64, words int, planes []uint64, out []uint32) bool {
	if !useAVX2 || words%4 != 0 || words > 124 || len(out) == 0 {
		return false
	}
	n := len(out)
	_ = codes[n*words-1]
	_ = planes[4*words-1]
	codeLevelsAVX2(&codes[0], n, words, &planes[0], &out[0])
	return true
}
