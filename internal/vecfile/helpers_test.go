package vecfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// npyBytes builds an .npy file with the given format version and header
// dict text (padded as NumPy does), followed by body.
func npyBytes(major byte, dict string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x93NUMPY")
	b.WriteByte(major)
	b.WriteByte(0)
	lenSize := 2
	if major >= 2 {
		lenSize = 4
	}
	hdr := dict
	total := 8 + lenSize + len(hdr) + 1
	if pad := (64 - total%64) % 64; pad > 0 {
		hdr += strings.Repeat(" ", pad)
	}
	hdr += "\n"
	if lenSize == 2 {
		_ = binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	} else {
		_ = binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	}
	b.WriteString(hdr)
	b.Write(body)
	return b.Bytes()
}

// npyF32 builds a valid '<f4' .npy file of the given rows.
func npyF32(major byte, rows [][]float32) []byte {
	d := 0
	if len(rows) > 0 {
		d = len(rows[0])
	}
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", len(rows), d)
	return npyBytes(major, dict, floatsLE(rows...))
}

// floatsLE encodes the rows as consecutive little-endian float32 values.
func floatsLE(rows ...[]float32) []byte {
	var b []byte
	for _, r := range rows {
		for _, f := range r {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
	}
	return b
}

// fvecsBytes builds an .fvecs file; each row is written with its own
// length as dimension.
func fvecsBytes(rows ...[]float32) []byte {
	var b []byte
	for _, r := range rows {
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(len(r))))
		b = append(b, floatsLE(r)...)
	}
	return b
}

// readAll drains r and returns the records and the first error other than
// io.EOF (nil at a clean end).
func readAll(r Reader) ([]Record, error) {
	var recs []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
}

func vectors(recs []Record) [][]float32 {
	var v [][]float32
	for _, r := range recs {
		v = append(v, r.Vector)
	}
	return v
}

func checkVectors(t *testing.T, got []Record, want [][]float32) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(vectors(got), want) {
		t.Fatalf("vectors = %v, want %v", vectors(got), want)
	}
}

// checkErr asserts that err is non-nil, has the package prefix and
// contains every fragment.
func checkErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want an error containing %q", fragments)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "vecfile: ") {
		t.Errorf("error %q lacks the \"vecfile: \" prefix", msg)
	}
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("error %q does not contain %q", msg, f)
		}
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// failingReader returns data and then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// oneByteReader delivers its data one byte per Read call, to exercise
// buffering boundaries.
type oneByteReader struct{ data []byte }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(o.data) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.data[0]
	o.data = o.data[1:]
	return 1, nil
}
