package search

import "math/bits"

// codeLevels writes, for each row of codes (words uint64 per row), the
// level sum Σ_j 2^j · popcount(code & plane_j) into out: the dot product
// of the row's bits with the query's 4-bit levels. It is the inner loop of
// a hybrid search, run over every row of every probed partition. The four
// planes must be contiguous (planes[j] = buf[j*words:(j+1)*words]) for the
// SIMD kernel; codeLevelsRef defines the result.
func codeLevels(codes []uint64, words int, planes *[4][]uint64, out []uint32) {
	n := len(out)
	if n > 0 && cap(planes[0]) >= 4*words && &planes[0][:4*words][words] == &planes[1][0] &&
		codeLevelsSIMD(codes, words, planes[0][:4*words], out) {
		return
	}
	if words%4 == 0 {
		codeLevels4(codes[:n*words], words, planes, out)
		return
	}
	codeLevelsRef(codes, words, planes, out)
}

// codeLevelsRef is the reference: one word at a time.
func codeLevelsRef(codes []uint64, words int, planes *[4][]uint64, out []uint32) {
	for i := range out {
		code := codes[i*words : (i+1)*words]
		var s int
		for w, c := range code {
			s += bits.OnesCount64(c&planes[0][w]) + 2*bits.OnesCount64(c&planes[1][w]) +
				4*bits.OnesCount64(c&planes[2][w]) + 8*bits.OnesCount64(c&planes[3][w])
		}
		out[i] = uint32(s)
	}
}

// codeLevels4 handles rows of a multiple of 4 words, four words at a time
// with the planes' words held in locals: no bounds checks in the inner loop
// and four independent popcount chains per plane.
func codeLevels4(codes []uint64, words int, planes *[4][]uint64, out []uint32) {
	p0, p1, p2, p3 := planes[0][:words], planes[1][:words], planes[2][:words], planes[3][:words]
	for i := range out {
		code := codes[i*words : (i+1)*words : (i+1)*words]
		var s0, s1, s2, s3 int
		for w := 0; w+4 <= len(code); w += 4 {
			c0, c1, c2, c3 := code[w], code[w+1], code[w+2], code[w+3]
			a0, a1, a2, a3 := p0[w:w+4:w+4], p1[w:w+4:w+4], p2[w:w+4:w+4], p3[w:w+4:w+4]
			s0 += bits.OnesCount64(c0&a0[0]) + bits.OnesCount64(c1&a0[1]) + bits.OnesCount64(c2&a0[2]) + bits.OnesCount64(c3&a0[3])
			s1 += bits.OnesCount64(c0&a1[0]) + bits.OnesCount64(c1&a1[1]) + bits.OnesCount64(c2&a1[2]) + bits.OnesCount64(c3&a1[3])
			s2 += bits.OnesCount64(c0&a2[0]) + bits.OnesCount64(c1&a2[1]) + bits.OnesCount64(c2&a2[2]) + bits.OnesCount64(c3&a2[3])
			s3 += bits.OnesCount64(c0&a3[0]) + bits.OnesCount64(c1&a3[1]) + bits.OnesCount64(c2&a3[2]) + bits.OnesCount64(c3&a3[3])
		}
		out[i] = uint32(s0 + 2*s1 + 4*s2 + 8*s3)
	}
}
