package vecfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// MaxDim is the largest vector dimension accepted for .npy and .fvecs input.
const MaxDim = 65536

// MaxLineBytes is the longest JSONL line accepted (without its newline).
const MaxLineBytes = 256 << 20

// Record is one embedding read from a file.
type Record struct {
	Vector     []float32
	Text       string
	SourceURI  string
	SourceType string
	Metadata   string // a JSON object as text ("" when absent); JSONL only
}

// Reader yields records one at a time. Next returns io.EOF after the last
// record.
//
// Errors name the position: "vecfile: line 12: ..." (JSONL),
// "vecfile: row 7: ..." (npy/fvecs).
type Reader interface {
	Next() (Record, error)
	// Dim is the vector dimension, known after the header (npy) or the
	// first record; 0 if unknown yet.
	Dim() int
	// Len is the number of records if the format knows it in advance (npy:
	// the shape; fvecs: file size / record size when the underlying reader
	// is a sized file), else -1.
	Len() int
}

// Format is an embedding file format.
type Format int

// The supported formats.
const (
	FormatJSONL Format = iota + 1
	FormatNPY
	FormatFVecs
)

// String returns a short name of the format.
func (f Format) String() string {
	switch f {
	case FormatJSONL:
		return "jsonl"
	case FormatNPY:
		return "npy"
	case FormatFVecs:
		return "fvecs"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

const supportedExts = ".jsonl, .ndjson, .json (JSON Lines), .npy (NumPy), .fvecs"

// FormatOf picks the format from the extension of path (case-insensitive):
// ".jsonl", ".ndjson", ".json" → FormatJSONL; ".npy" → FormatNPY;
// ".fvecs" → FormatFVecs.
func FormatOf(path string) (Format, error) {
	ext := filepath.Ext(path)
	switch strings.ToLower(ext) {
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL, nil
	case ".npy":
		return FormatNPY, nil
	case ".fvecs":
		return FormatFVecs, nil
	case "":
		return 0, fmt.Errorf("vecfile: %q has no file extension; supported: %s", filepath.Base(path), supportedExts)
	}
	return 0, fmt.Errorf("vecfile: unsupported file extension %q; supported: %s", ext, supportedExts)
}

// Open opens the file at path and returns a Reader for the format given by
// its extension. The returned io.Closer closes the file; the caller must
// call it when done. On error nothing needs closing.
func Open(path string) (Reader, io.Closer, error) {
	format, err := FormatOf(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("vecfile: %w", err)
	}
	switch format {
	case FormatJSONL:
		return NewJSONL(f), f, nil
	case FormatNPY:
		r, err := NewNPY(f)
		if err != nil {
			_ = f.Close() // read-only; the header error is what matters
			return nil, nil, err
		}
		return r, f, nil
	default: // FormatFVecs
		size := int64(-1)
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		return NewFVecs(f, size), f, nil
	}
}
