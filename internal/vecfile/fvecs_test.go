package vecfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
)

func TestFVecsRoundTrip(t *testing.T) {
	rows := [][]float32{
		{1, 2, 3},
		{-1.5, float32(math.Inf(-1)), math.MaxFloat32},
		{0, 1e-3, 7},
	}
	tests := []struct {
		name    string
		data    []byte
		size    int64
		want    [][]float32
		wantLen int
		wantDim int // before the first Next
	}{
		{"known size", fvecsBytes(rows...), int64(len(fvecsBytes(rows...))), rows, 3, 3},
		{"unknown size", fvecsBytes(rows...), -1, rows, -1, 3},
		{"dim 1", fvecsBytes([]float32{5}, []float32{6}), 16, [][]float32{{5}, {6}}, 2, 1},
		{"empty", nil, 0, nil, 0, 0},
		{"empty, unknown size", nil, -1, nil, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunked := range []bool{false, true} {
				var src io.Reader = bytes.NewReader(tt.data)
				if chunked {
					src = &oneByteReader{data: tt.data}
				}
				r := NewFVecs(src, tt.size)
				if r.Len() != tt.wantLen {
					t.Errorf("Len = %d, want %d", r.Len(), tt.wantLen)
				}
				if r.Dim() != tt.wantDim {
					t.Errorf("Dim = %d, want %d", r.Dim(), tt.wantDim)
				}
				got, err := readAll(r)
				if err != nil {
					t.Fatal(err)
				}
				checkVectors(t, got, tt.want)
				if r.Len() != tt.wantLen {
					t.Errorf("Len after reading = %d, want %d", r.Len(), tt.wantLen)
				}
				if _, err := r.Next(); !errors.Is(err, io.EOF) {
					t.Errorf("Next after end = %v, want io.EOF", err)
				}
			}
		})
	}
}

func fvecsDim(d int32, body []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(d)), body...)
}

func TestFVecsErrors(t *testing.T) {
	ok := fvecsBytes([]float32{1, 2, 3}, []float32{4, 5, 6})
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name  string
		data  []byte
		good  int
		wants []string
	}{
		{"zero dim", fvecsDim(0, nil), 0, []string{"row 1:", "dimension 0 out of range 1..65536"}},
		{"negative dim", cat(ok, fvecsDim(-4, make([]byte, 16))), 2, []string{"row 3:", "dimension -4 out of range"}},
		{"huge dim", fvecsDim(65537, nil), 0, []string{"row 1:", "dimension 65537 out of range"}},
		{"max int dim", fvecsDim(math.MaxInt32, nil), 0, []string{"row 1:", "dimension 2147483647 out of range"}},
		{"dim mismatch", cat(ok, fvecsBytes([]float32{1, 2})), 2, []string{"row 3:", "dimension 2 differs from 3"}},
		{"truncated dim", cat(ok, []byte{3, 0}), 2, []string{"row 3:", "truncated record", "2 of 4 bytes of the dimension", "unexpected EOF"}},
		{"truncated vector", ok[:len(ok)-3], 1, []string{"row 2:", "truncated record", "9 of 12 bytes of the vector"}},
		{"missing vector", cat(ok, fvecsDim(3, nil)), 2, []string{"row 3:", "truncated record", "0 of 12 bytes"}},
		{"max dim, no data", fvecsDim(65536, []byte{1}), 0, []string{"row 1:", "1 of 262144 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewFVecs(bytes.NewReader(tt.data), int64(len(tt.data)))
			got, err := readAll(r)
			if len(got) != tt.good {
				t.Errorf("read %d records before the error, want %d", len(got), tt.good)
			}
			checkErr(t, err, tt.wants...)
			if _, err2 := r.Next(); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("error is not sticky: %v", err2)
			}
		})
	}
}

func TestFVecsLenWithBadFirstDim(t *testing.T) {
	r := NewFVecs(bytes.NewReader(fvecsDim(0, nil)), 4)
	if r.Len() != -1 || r.Dim() != 0 {
		t.Errorf("Len, Dim = %d, %d; want -1, 0", r.Len(), r.Dim())
	}
}

func TestFVecsReadError(t *testing.T) {
	boom := errors.New("network down")
	data := fvecsBytes([]float32{1, 2}, []float32{3, 4})
	r := NewFVecs(&failingReader{data: data[:14], err: boom}, -1)
	got, err := readAll(r)
	checkVectors(t, got, [][]float32{{1, 2}})
	checkErr(t, err, "row 2:", "network down")
	if !errors.Is(err, boom) {
		t.Errorf("error %v does not wrap the read error", err)
	}
}
