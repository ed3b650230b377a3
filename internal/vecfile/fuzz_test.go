package vecfile

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// drain reads r to the end or the first error, checking the Reader
// contract on the way: every error is prefixed, every vector has the
// reader's dimension.
func drain(t *testing.T, r Reader, binary bool) {
	t.Helper()
	for i := 0; ; i++ {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "vecfile: ") {
				t.Fatalf("error without prefix: %q", msg)
			}
			if binary && !strings.HasPrefix(msg, "vecfile: row ") {
				t.Fatalf("error without row: %q", msg)
			}
			if !binary && !strings.HasPrefix(msg, "vecfile: line ") {
				t.Fatalf("error without line: %q", msg)
			}
			if binary {
				return // sticky
			}
			if i > 1<<20 {
				t.Fatal("too many iterations")
			}
			continue
		}
		if len(rec.Vector) == 0 || len(rec.Vector) != r.Dim() {
			t.Fatalf("record %d has %d dimensions, reader says %d", i, len(rec.Vector), r.Dim())
		}
	}
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{
		`{"vector":[1,2,3],"text":"a","source_uri":"u","source_type":"t","metadata":{"k":1}}` + "\n" + `{"vector":[4,5,6]}`,
		"\xef\xbb\xbf{\"vector\":[1]}\r\n\r\n{\"vector\":[2]}",
		`{"vector":[1e39]}`,
		`{"vector":[1,"x",null]}`,
		`{"vector":[]}` + "\n" + `{"vector":[1],"metadata":[1]}`,
		`{"vector":[1]} trailing`,
		`{"vector":[1],"unknown":2}`,
		"[1,2]\nnull\n\"x\"\n{",
		`{"vector":[-0.0e-0,1E+2,0.5]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewJSONL(bytes.NewReader(data))
		if r.Len() != -1 {
			t.Fatalf("Len = %d", r.Len())
		}
		drain(t, r, false)
	})
}

func FuzzNPY(f *testing.F) {
	f.Add(npyF32(1, [][]float32{{1, 2}, {3, 4}}))
	f.Add(npyF32(2, [][]float32{{1, 2, 3}}))
	f.Add(npyF32(3, [][]float32{{1}}))
	f.Add(npyF32(1, [][]float32{{1, 2}, {3, 4}})[:60])
	f.Add(npyBytes(1, npyDict("'<f4'", "False", "(1000000000000, 65536)"), []byte{1, 2, 3}))
	f.Add(npyBytes(1, npyDict("'<f8'", "True", "(3L,)"), nil))
	f.Add(npyBytes(2, "{'descr': [('a', '<f4')], 'x': {'y': (None, True, -1)}, 'shape': [1, 2]}", nil))
	f.Add([]byte("\x93NUMPY\x02\x00\xff\xff\xff\xff{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewNPY(bytes.NewReader(data))
		if err != nil {
			if r != nil {
				t.Fatal("reader returned with error")
			}
			if !strings.HasPrefix(err.Error(), "vecfile: npy header") {
				t.Fatalf("header error %q", err)
			}
			return
		}
		if r.Dim() < 1 || r.Dim() > MaxDim || r.Len() < 0 {
			t.Fatalf("Dim, Len = %d, %d", r.Dim(), r.Len())
		}
		drain(t, r, true)
	})
}

func FuzzFVecs(f *testing.F) {
	f.Add(fvecsBytes([]float32{1, 2}, []float32{3, 4}), true)
	f.Add(fvecsBytes([]float32{1, 2}, []float32{3}), false)
	f.Add(fvecsDim(65536, []byte{1, 2, 3, 4}), true)
	f.Add(fvecsDim(-1, nil), true)
	f.Add([]byte{1, 0}, false)
	f.Fuzz(func(t *testing.T, data []byte, sized bool) {
		size := int64(-1)
		if sized {
			size = int64(len(data))
		}
		r := NewFVecs(bytes.NewReader(data), size)
		if l := r.Len(); l < -1 || (!sized && l != -1) || l > len(data) {
			t.Fatalf("Len = %d for %d bytes", l, len(data))
		}
		if d := r.Dim(); d < 0 || d > MaxDim {
			t.Fatalf("Dim = %d", d)
		}
		drain(t, r, true)
	})
}
