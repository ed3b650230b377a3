package vecfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// maxNPYHeader bounds the header length read from an .npy file. NumPy
// writes headers of well under 1 KiB for plain arrays.
const maxNPYHeader = 1 << 20

var npyMagic = []byte("\x93NUMPY")

type npyReader struct {
	br   *bufio.Reader
	rows int64 // from the shape
	dim  int
	row  int64  // rows returned so far
	buf  []byte // one row of raw bytes, reused
	err  error
}

// NewNPY returns a Reader of the rows of a NumPy .npy file read from r.
// It reads and checks the header immediately: format version 1.0, 2.0 or
// 3.0, dtype '<f4', fortran_order False, and a 2-D shape (n, d) with d in
// 1..MaxDim.
func NewNPY(r io.Reader) (Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	rows, dim, err := readNPYHeader(br)
	if err != nil {
		return nil, err
	}
	return &npyReader{br: br, rows: rows, dim: dim, buf: make([]byte, 4*dim)}, nil
}

func (n *npyReader) Dim() int { return n.dim }
func (n *npyReader) Len() int { return int(n.rows) }

func (n *npyReader) Next() (Record, error) {
	if n.err != nil {
		return Record{}, n.err
	}
	if n.row >= n.rows {
		return Record{}, io.EOF
	}
	k, err := io.ReadFull(n.br, n.buf)
	if err != nil {
		switch {
		case errors.Is(err, io.EOF): // nothing of this row
			err = fmt.Errorf("vecfile: row %d: file ends after %d of %d rows: %w", n.row+1, n.row, n.rows, io.ErrUnexpectedEOF)
		case errors.Is(err, io.ErrUnexpectedEOF):
			err = fmt.Errorf("vecfile: row %d: truncated row (%d of %d bytes): %w", n.row+1, k, len(n.buf), err)
		default:
			err = fmt.Errorf("vecfile: row %d: %w", n.row+1, err)
		}
		n.err = err
		return Record{}, err
	}
	n.row++
	return Record{Vector: decodeFloats(n.buf, n.dim)}, nil
}

// decodeFloats decodes dim little-endian float32 values from b.
func decodeFloats(b []byte, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func npyErr(format string, args ...any) error {
	return fmt.Errorf("vecfile: npy header: "+format, args...)
}

// readNPYHeader reads the magic, version, header length and header dict,
// leaving br at the first data byte.
func readNPYHeader(br *bufio.Reader) (rows int64, dim int, err error) {
	var pre [8]byte
	if k, err := io.ReadFull(br, pre[:]); err != nil {
		if k == 0 && errors.Is(err, io.EOF) {
			return 0, 0, npyErr("empty input, not an .npy file: %w", io.ErrUnexpectedEOF)
		}
		if !bytes.HasPrefix(npyMagic, pre[:min(k, len(npyMagic))]) {
			return 0, 0, npyErr("not an .npy file (bad magic)")
		}
		return 0, 0, npyErr("truncated: %w", err)
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return 0, 0, npyErr("not an .npy file (bad magic)")
	}
	major, minor := pre[6], pre[7]
	if major < 1 || major > 3 || minor != 0 {
		return 0, 0, npyErr("unsupported format version %d.%d (supported: 1.0, 2.0, 3.0)", major, minor)
	}
	var hlen uint64
	if major == 1 {
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 0, 0, npyErr("truncated header length: %w", noEOF(err))
		}
		hlen = uint64(binary.LittleEndian.Uint16(l[:]))
	} else {
		var l [4]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 0, 0, npyErr("truncated header length: %w", noEOF(err))
		}
		hlen = uint64(binary.LittleEndian.Uint32(l[:]))
	}
	if hlen > maxNPYHeader {
		return 0, 0, npyErr("header length %d exceeds the limit of %d bytes", hlen, maxNPYHeader)
	}
	// Read through a LimitReader so that memory follows the bytes actually
	// present, not the announced length.
	hdr, err := io.ReadAll(io.LimitReader(br, int64(hlen)))
	if err != nil {
		return 0, 0, npyErr("%w", err)
	}
	if uint64(len(hdr)) < hlen {
		return 0, 0, npyErr("truncated: %d of %d header bytes: %w", len(hdr), hlen, io.ErrUnexpectedEOF)
	}
	return parseNPYDict(hdr)
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseNPYDict checks the header dict, e.g.
// "{'descr': '<f4', 'fortran_order': False, 'shape': (10000, 64), }".
func parseNPYDict(hdr []byte) (rows int64, dim int, err error) {
	p := &pyParser{s: hdr}
	v, err := p.value()
	if err == nil {
		p.skipSpace()
		if p.i < len(p.s) {
			err = p.errorf("unexpected %q after the dict", truncate(p.s[p.i:], 20))
		}
	}
	if err != nil {
		return 0, 0, npyErr("%w", err)
	}
	d, ok := v.(pyDict)
	if !ok {
		return 0, 0, npyErr("want a dict, got %s", pyRepr(v))
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if _, ok := d[k]; !ok {
			return 0, 0, npyErr("missing key %q", k)
		}
	}
	if descr, ok := d["descr"].(string); !ok || descr != "<f4" {
		return 0, 0, npyErr("dtype %s is not supported; only little-endian float32 ('<f4') is", pyRepr(d["descr"]))
	}
	switch fo := d["fortran_order"].(type) {
	case bool:
		if fo {
			return 0, 0, npyErr("fortran_order is True; only C-order arrays are supported (save with np.ascontiguousarray)")
		}
	default:
		return 0, 0, npyErr("fortran_order must be True or False, got %s", pyRepr(fo))
	}
	shape, ok := d["shape"].(pyTuple)
	if !ok {
		return 0, 0, npyErr("shape must be a tuple, got %s", pyRepr(d["shape"]))
	}
	if len(shape) != 2 {
		return 0, 0, npyErr("shape %s is not 2-D (n, d)", pyRepr(shape))
	}
	n, ok1 := shape[0].(int64)
	m, ok2 := shape[1].(int64)
	if !ok1 || !ok2 {
		return 0, 0, npyErr("shape %s must hold integers", pyRepr(shape))
	}
	if n < 0 || m < 0 {
		return 0, 0, npyErr("shape %s has a negative size", pyRepr(shape))
	}
	if m < 1 || m > MaxDim {
		return 0, 0, npyErr("shape %s: dimension %d out of range 1..%d", pyRepr(shape), m, MaxDim)
	}
	if n > math.MaxInt64/(4*m) || n > math.MaxInt {
		return 0, 0, npyErr("shape %s: too many rows", pyRepr(shape))
	}
	return n, int(m), nil
}

// A tiny parser for the Python literals found in .npy headers: dicts,
// tuples, lists, strings, integers, True, False and None.

type (
	pyDict  map[string]any
	pyTuple []any
	pyList  []any
)

const maxPyDepth = 16

type pyParser struct {
	s     []byte
	i     int
	depth int
}

func (p *pyParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{p.i}, args...)...)
}

func (p *pyParser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.i++
		default:
			return
		}
	}
}

func (p *pyParser) value() (any, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end of header")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.dict()
	case c == '(':
		return p.seq('(', ')')
	case c == '[':
		return p.seq('[', ']')
	case c == '\'' || c == '"':
		return p.str()
	case c == '-' || c == '+' || c >= '0' && c <= '9':
		return p.int()
	case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_':
		start := p.i
		for p.i < len(p.s) && isIdentByte(p.s[p.i]) {
			p.i++
		}
		switch id := string(p.s[start:p.i]); id {
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return nil, nil
		default:
			p.i = start
			return nil, p.errorf("unexpected name %q", truncate([]byte(id), 20))
		}
	default:
		return nil, p.errorf("unexpected %q", truncate(p.s[p.i:], 20))
	}
}

func isIdentByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

func (p *pyParser) enter() error {
	p.depth++
	if p.depth > maxPyDepth {
		return p.errorf("nested too deeply")
	}
	return nil
}

func (p *pyParser) dict() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++ // '{'
	d := pyDict{}
	for {
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return d, nil
		}
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, p.errorf("dict key %s is not a string", pyRepr(k))
		}
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errorf("want ':' after key %q", key)
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if _, dup := d[key]; dup {
			return nil, p.errorf("duplicate key %q", key)
		}
		d[key] = v
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return d, nil
		}
		return nil, p.errorf("want ',' or '}' in dict")
	}
}

// seq parses a tuple or list. A parenthesized single value without a comma
// is that value, as in Python.
func (p *pyParser) seq(open, close byte) (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++ // open
	var items []any
	comma := false
	for {
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == close {
			p.i++
			break
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			comma = true
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == close {
			p.i++
			break
		}
		return nil, p.errorf("want ',' or '%c'", close)
	}
	if open == '[' {
		return pyList(items), nil
	}
	if len(items) == 1 && !comma {
		return items[0], nil
	}
	return pyTuple(items), nil
}

func (p *pyParser) str() (any, error) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == q:
			return b.String(), nil
		case c == '\\' && p.i < len(p.s):
			e := p.s[p.i]
			p.i++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(e)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		case c == '\n':
			return nil, p.errorf("newline in string")
		default:
			b.WriteByte(c)
		}
	}
	return nil, p.errorf("unterminated string")
}

func (p *pyParser) int() (any, error) {
	start := p.i
	if p.s[p.i] == '-' || p.s[p.i] == '+' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if p.i == digits {
		return nil, p.errorf("malformed number %q", truncate(p.s[start:], 20))
	}
	tok := string(p.s[start:p.i])
	// Python 2 era headers may write long integers as "10L".
	if p.i < len(p.s) && (p.s[p.i] == 'L' || p.s[p.i] == 'l') {
		p.i++
	}
	if p.i < len(p.s) && (isIdentByte(p.s[p.i]) || p.s[p.i] == '.') {
		return nil, p.errorf("malformed integer %q", truncate(p.s[start:], 20))
	}
	n, err := strconv.ParseInt(tok, 10, 64)
	if err != nil {
		return nil, p.errorf("integer %s: %w", truncate([]byte(tok), 30), err)
	}
	return n, nil
}

// pyRepr renders a parsed value roughly as Python would, for messages.
func pyRepr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	s := b.String()
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

func writeRepr(b *strings.Builder, v any) {
	if b.Len() > 100 {
		return
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case string:
		b.WriteString("'" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), "'", `\'`) + "'")
	case pyTuple:
		b.WriteByte('(')
		for i, x := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, x)
		}
		if len(v) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case pyList:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, x)
		}
		b.WriteByte(']')
	case pyDict:
		b.WriteString("a dict")
	}
}
