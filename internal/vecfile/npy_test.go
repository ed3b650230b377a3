package vecfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

func TestNPYRoundTrip(t *testing.T) {
	rows := [][]float32{
		{1, 2, 3, 4},
		{-0.5, float32(math.Inf(1)), math.MaxFloat32, math.SmallestNonzeroFloat32},
		{0, 0, 0, 1e-3},
	}
	tests := []struct {
		name string
		data []byte
		want [][]float32
	}{
		{"v1", npyF32(1, rows), rows},
		{"v2", npyF32(2, rows), rows},
		{"v3", npyF32(3, rows), rows},
		{"single column", npyF32(1, [][]float32{{7}, {8}}), [][]float32{{7}, {8}}},
		{"no rows", npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", nil), nil},
		{
			"key order, double quotes, no trailing comma",
			npyBytes(1, `{"shape":(3,4),"fortran_order":False,"descr":"<f4"}`, floatsLE(rows...)),
			rows,
		},
		{
			"python 2 long integers",
			npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4L), }", floatsLE(rows...)),
			rows,
		},
		{
			"extra keys ignored",
			npyBytes(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), 'x': [None, True, (1,), {'y': -2}], }", floatsLE(rows[0])),
			rows[:1],
		},
		{
			"trailing data ignored",
			append(npyF32(1, rows[:2]), npyF32(1, rows)...),
			rows[:2],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunked := range []bool{false, true} {
				var src io.Reader = bytes.NewReader(tt.data)
				if chunked {
					src = &oneByteReader{data: tt.data}
				}
				r, err := NewNPY(src)
				if err != nil {
					t.Fatal(err)
				}
				if r.Len() != len(tt.want) {
					t.Errorf("Len = %d, want %d", r.Len(), len(tt.want))
				}
				wantDim := 5
				if len(tt.want) > 0 {
					wantDim = len(tt.want[0])
				}
				if r.Dim() != wantDim {
					t.Errorf("Dim = %d, want %d", r.Dim(), wantDim)
				}
				got, err := readAll(r)
				if err != nil {
					t.Fatal(err)
				}
				checkVectors(t, got, tt.want)
				for _, rec := range got {
					if rec.Text != "" || rec.Metadata != "" || rec.SourceURI != "" || rec.SourceType != "" {
						t.Errorf("npy record has non-vector fields: %+v", rec)
					}
				}
				if _, err := r.Next(); !errors.Is(err, io.EOF) {
					t.Errorf("Next after end = %v, want io.EOF", err)
				}
			}
		})
	}
}

func TestNPYVectorsAreNotShared(t *testing.T) {
	r, err := NewNPY(bytes.NewReader(npyF32(1, [][]float32{{1, 2}, {3, 4}})))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := r.Next()
	b, _ := r.Next()
	if a.Vector[0] != 1 || b.Vector[0] != 3 {
		t.Errorf("first vector changed after the second read: %v %v", a.Vector, b.Vector)
	}
}

func npyDict(descr, fortran, shape string) string {
	return fmt.Sprintf("{'descr': %s, 'fortran_order': %s, 'shape': %s, }", descr, fortran, shape)
}

func TestNPYHeaderErrors(t *testing.T) {
	good := npyF32(1, [][]float32{{1, 2}})
	withVersion := func(major, minor byte) []byte {
		b := bytes.Clone(good)
		b[6], b[7] = major, minor
		return b
	}
	hugeHeader := []byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f{")
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"npy header", "empty input"}},
		{"bad magic", []byte("PK\x03\x04 this is a zip file"), []string{"npy header", "bad magic"}},
		{"short bad magic", []byte("\x93NU"), []string{"npy header", "truncated"}},
		{"short garbage", []byte("abc"), []string{"npy header", "bad magic"}},
		{"version 4.0", withVersion(4, 0), []string{"npy header", "unsupported format version 4.0"}},
		{"version 1.1", withVersion(1, 1), []string{"npy header", "version 1.1"}},
		{"version 0.0", withVersion(0, 0), []string{"npy header", "version 0.0"}},
		{"no header length", []byte("\x93NUMPY\x01\x00\x10"), []string{"npy header", "truncated header length"}},
		{"truncated header", good[:30], []string{"npy header", "truncated", "header bytes"}},
		{"header too long", hugeHeader, []string{"npy header", "exceeds the limit"}},
		{"float64", npyBytes(1, npyDict("'<f8'", "False", "(1, 2)"), make([]byte, 16)), []string{"npy header", "dtype '<f8' is not supported", "'<f4'"}},
		{"big endian", npyBytes(1, npyDict("'>f4'", "False", "(1, 2)"), make([]byte, 8)), []string{"npy header", "dtype '>f4'", "little-endian float32"}},
		{"native", npyBytes(1, npyDict("'=f4'", "False", "(1, 2)"), make([]byte, 8)), []string{"npy header", "dtype '=f4'"}},
		{"float16", npyBytes(1, npyDict("'<f2'", "False", "(1, 2)"), make([]byte, 4)), []string{"dtype '<f2'"}},
		{"structured", npyBytes(1, npyDict("[('x', '<f4')]", "False", "(1, 2)"), nil), []string{"npy header", "dtype [('x', '<f4')]"}},
		{"fortran order", npyBytes(1, npyDict("'<f4'", "True", "(2, 2)"), make([]byte, 16)), []string{"npy header", "fortran_order is True"}},
		{"fortran order not bool", npyBytes(1, npyDict("'<f4'", "0", "(2, 2)"), nil), []string{"npy header", "fortran_order must be True or False", "0"}},
		{"1-D", npyBytes(1, npyDict("'<f4'", "False", "(10,)"), make([]byte, 40)), []string{"npy header", "shape (10,) is not 2-D"}},
		{"3-D", npyBytes(1, npyDict("'<f4'", "False", "(2, 3, 4)"), nil), []string{"npy header", "shape (2, 3, 4) is not 2-D"}},
		{"scalar", npyBytes(1, npyDict("'<f4'", "False", "()"), nil), []string{"npy header", "shape () is not 2-D"}},
		{"parenthesized int", npyBytes(1, npyDict("'<f4'", "False", "(10)"), nil), []string{"npy header", "shape must be a tuple", "10"}},
		{"zero dim", npyBytes(1, npyDict("'<f4'", "False", "(5, 0)"), nil), []string{"npy header", "dimension 0 out of range 1..65536"}},
		{"huge dim", npyBytes(1, npyDict("'<f4'", "False", "(1, 65537)"), nil), []string{"npy header", "dimension 65537 out of range"}},
		{"negative rows", npyBytes(1, npyDict("'<f4'", "False", "(-1, 4)"), nil), []string{"npy header", "negative"}},
		{"too many rows", npyBytes(1, npyDict("'<f4'", "False", "(9223372036854775807, 4)"), nil), []string{"npy header", "too many rows"}},
		{"int overflow", npyBytes(1, npyDict("'<f4'", "False", "(99999999999999999999, 4)"), nil), []string{"npy header", "out of range"}},
		{"float shape", npyBytes(1, npyDict("'<f4'", "False", "(2.0, 4)"), nil), []string{"npy header", "malformed integer"}},
		{"string shape", npyBytes(1, npyDict("'<f4'", "False", "('2', 4)"), nil), []string{"npy header", "must hold integers"}},
		{"missing shape", npyBytes(1, "{'descr': '<f4', 'fortran_order': False}", nil), []string{"npy header", `missing key "shape"`}},
		{"missing descr", npyBytes(1, "{'fortran_order': False, 'shape': (1, 2)}", nil), []string{"npy header", `missing key "descr"`}},
		{"duplicate key", npyBytes(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1, 2)}", nil), []string{"npy header", `duplicate key "descr"`}},
		{"not a dict", npyBytes(1, "['descr']", nil), []string{"npy header", "want a dict"}},
		{"unterminated dict", npyBytes(1, "{'descr': '<f4'", nil), []string{"npy header", "want ',' or '}'"}},
		{"unterminated string", npyBytes(1, "{'descr: '<f4'}", nil), []string{"npy header"}},
		{"unknown name", npyBytes(1, npyDict("'<f4'", "false", "(1, 2)"), nil), []string{"npy header", `unexpected name "false"`}},
		{"junk after dict", npyBytes(1, npyDict("'<f4'", "False", "(1, 2)")+" x", nil), []string{"npy header", "after the dict"}},
		{"deep nesting", npyBytes(1, strings.Repeat("[", 1000), nil), []string{"npy header", "nested too deeply"}},
		{"non-string key", npyBytes(1, "{1: 2}", nil), []string{"npy header", "dict key 1 is not a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewNPY(bytes.NewReader(tt.data))
			if r != nil {
				t.Errorf("got a reader along with error %v", err)
			}
			checkErr(t, err, tt.want...)
		})
	}
}

func TestNPYTruncatedBody(t *testing.T) {
	rows := [][]float32{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 12}}
	full := npyF32(1, rows)
	tests := []struct {
		name  string
		cut   int // bytes removed from the end
		good  int // rows read before the error
		wants []string
	}{
		{"last row partial", 5, 3, []string{"row 4:", "truncated row (7 of 12 bytes)", "unexpected EOF"}},
		{"last row missing", 12, 3, []string{"row 4:", "file ends after 3 of 4 rows"}},
		{"two rows missing", 24, 2, []string{"row 3:", "file ends after 2 of 4 rows"}},
		{"one byte of row 1", 47, 0, []string{"row 1:", "truncated row (1 of 12 bytes)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewNPY(bytes.NewReader(full[:len(full)-tt.cut]))
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(r)
			checkVectors(t, got, rows[:tt.good])
			checkErr(t, err, tt.wants...)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %v does not wrap io.ErrUnexpectedEOF", err)
			}
			if _, err2 := r.Next(); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("error is not sticky: %v", err2)
			}
		})
	}
}

// A header announcing a huge array over a tiny body must fail quickly at
// row 1 without allocating for the announced size.
func TestNPYHugeShapeTinyBody(t *testing.T) {
	data := npyBytes(1, npyDict("'<f4'", "False", "(1000000000000, 65536)"), []byte{1, 2, 3})
	r, err := NewNPY(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 1000000000000 || r.Dim() != 65536 {
		t.Errorf("Len, Dim = %d, %d", r.Len(), r.Dim())
	}
	_, err = r.Next()
	checkErr(t, err, "row 1:", "truncated row (3 of 262144 bytes)")
}

func TestNPYReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	data := npyF32(2, [][]float32{{1, 2}, {3, 4}})
	r, err := NewNPY(&failingReader{data: data[:len(data)-8], err: boom})
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(r)
	checkVectors(t, got, [][]float32{{1, 2}})
	checkErr(t, err, "row 2:", "disk on fire")
	if !errors.Is(err, boom) {
		t.Errorf("error %v does not wrap the read error", err)
	}
	_, err = NewNPY(&failingReader{data: data[:20], err: boom})
	checkErr(t, err, "npy header", "disk on fire")
	if !errors.Is(err, boom) {
		t.Errorf("header error %v does not wrap the read error", err)
	}
}

// npyStream generates a valid n×dim .npy file on the fly, never holding
// more than one row, and counts the bytes handed out.
type npyStream struct {
	header []byte
	n, dim int
	row    int
	rowBuf []byte
	pend   []byte
	served int64
}

func newNPYStream(n, dim int) *npyStream {
	return &npyStream{
		header: npyBytes(1, npyDict("'<f4'", "False", fmt.Sprintf("(%d, %d)", n, dim)), nil),
		n:      n,
		dim:    dim,
		rowBuf: make([]byte, 4*dim),
	}
}

func streamValue(row, col int) float32 { return float32(row) + float32(col)/1024 }

func (s *npyStream) Read(p []byte) (int, error) {
	if len(s.header) > 0 {
		k := copy(p, s.header)
		s.header = s.header[k:]
		s.served += int64(k)
		return k, nil
	}
	if len(s.pend) == 0 {
		if s.row == s.n {
			return 0, io.EOF
		}
		for c := range s.dim {
			binary.LittleEndian.PutUint32(s.rowBuf[4*c:], math.Float32bits(streamValue(s.row, c)))
		}
		s.row++
		s.pend = s.rowBuf
	}
	k := copy(p, s.pend)
	s.pend = s.pend[k:]
	s.served += int64(k)
	return k, nil
}

func TestNPYStreaming(t *testing.T) {
	const n, dim = 5000, 64
	src := newNPYStream(n, dim)
	fileSize := int64(len(src.header)) + n*dim*4
	r, err := NewNPY(src)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != n || r.Dim() != dim {
		t.Fatalf("Len, Dim = %d, %d", r.Len(), r.Dim())
	}
	// Reading is incremental: after the first record only a buffer's worth
	// of the file has been consumed, far less than the whole file.
	first, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if first.Vector[1] != streamValue(0, 1) {
		t.Errorf("row 1 = %v", first.Vector[:2])
	}
	if limit := int64(100 << 10); src.served > limit || src.served >= fileSize {
		t.Fatalf("consumed %d of %d bytes after one record; want at most %d", src.served, fileSize, limit)
	}
	count := 1
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Vector) != dim || rec.Vector[dim-1] != streamValue(count, dim-1) {
			t.Fatalf("row %d = %v...", count+1, rec.Vector[:2])
		}
		count++
	}
	if count != n || src.served != fileSize {
		t.Errorf("read %d rows, %d bytes; want %d rows, %d bytes", count, src.served, n, fileSize)
	}
}
