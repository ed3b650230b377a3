package vecfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

type fvecsReader struct {
	br   *bufio.Reader
	size int64 // total input size, < 0 when unknown
	dim  int
	row  int64  // records returned so far
	buf  []byte // one record body, reused
	err  error
}

// NewFVecs returns a Reader of .fvecs records read from r. size is the
// total size of the input in bytes, or < 0 when unknown; it is used only
// by Len, which reports size / (4 + 4*d) rounded down.
//
// Dim and Len look at the first record's dimension field when no record
// has been read yet, which may block until r delivers 4 bytes.
func NewFVecs(r io.Reader, size int64) Reader {
	return &fvecsReader{br: bufio.NewReaderSize(r, 64<<10), size: size}
}

// peekDim returns the dimension of the first record without consuming
// it, or 0 if it is unreadable or invalid.
func (f *fvecsReader) peekDim() int {
	if f.dim != 0 {
		return f.dim
	}
	if f.err != nil || f.row != 0 {
		return 0
	}
	b, err := f.br.Peek(4)
	if err != nil {
		return 0
	}
	d := int32(binary.LittleEndian.Uint32(b))
	if d < 1 || d > MaxDim {
		return 0
	}
	return int(d)
}

func (f *fvecsReader) Dim() int { return f.peekDim() }

func (f *fvecsReader) Len() int {
	if f.size < 0 {
		return -1
	}
	d := f.peekDim()
	if d == 0 {
		if f.size == 0 {
			return 0
		}
		return -1
	}
	return int(f.size / (4 + 4*int64(d)))
}

func (f *fvecsReader) fail(err error) (Record, error) {
	f.err = err
	return Record{}, err
}

func (f *fvecsReader) Next() (Record, error) {
	if f.err != nil {
		return Record{}, f.err
	}
	row := f.row + 1
	var hdr [4]byte
	k, err := io.ReadFull(f.br, hdr[:])
	if err != nil {
		switch {
		case k == 0 && errors.Is(err, io.EOF):
			return f.fail(io.EOF)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return f.fail(fmt.Errorf("vecfile: row %d: truncated record: %d of 4 bytes of the dimension: %w", row, k, err))
		default:
			return f.fail(fmt.Errorf("vecfile: row %d: %w", row, err))
		}
	}
	d := int64(int32(binary.LittleEndian.Uint32(hdr[:])))
	if d < 1 || d > MaxDim {
		return f.fail(fmt.Errorf("vecfile: row %d: dimension %d out of range 1..%d", row, d, MaxDim))
	}
	if f.dim == 0 {
		f.dim = int(d)
		f.buf = make([]byte, 4*d)
	} else if int(d) != f.dim {
		return f.fail(fmt.Errorf("vecfile: row %d: dimension %d differs from %d (as in row 1)", row, d, f.dim))
	}
	k, err = io.ReadFull(f.br, f.buf)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return f.fail(fmt.Errorf("vecfile: row %d: truncated record: %d of %d bytes of the vector: %w", row, k, len(f.buf), io.ErrUnexpectedEOF))
		}
		return f.fail(fmt.Errorf("vecfile: row %d: %w", row, err))
	}
	f.row = row
	return Record{Vector: decodeFloats(f.buf, f.dim)}, nil
}
