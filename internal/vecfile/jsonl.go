package vecfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// jsonlRecord is the shape of one JSONL line. Vector and Metadata are kept
// raw and checked by hand for precise error messages.
type jsonlRecord struct {
	Vector     json.RawMessage `json:"vector"`
	Text       string          `json:"text"`
	SourceURI  string          `json:"source_uri"`
	SourceType string          `json:"source_type"`
	Metadata   json.RawMessage `json:"metadata"`
}

type jsonlReader struct {
	br      *bufio.Reader
	maxLine int    // longest accepted line; MaxLineBytes except in tests
	line    int    // number of the last line read
	buf     []byte // accumulates a line longer than the bufio buffer
	dim     int
	dimLine int // line of the first record, which set dim
	err     error
}

// NewJSONL returns a Reader of JSON Lines read from r.
func NewJSONL(r io.Reader) Reader {
	return &jsonlReader{br: bufio.NewReaderSize(r, 64<<10), maxLine: MaxLineBytes}
}

func (j *jsonlReader) Dim() int { return j.dim }
func (j *jsonlReader) Len() int { return -1 }

func (j *jsonlReader) Next() (Record, error) {
	if j.err != nil {
		return Record{}, j.err
	}
	for {
		line, err := j.readLine()
		if err != nil {
			j.err = err
			return Record{}, err
		}
		if j.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		line = bytes.TrimRight(line, " \t\r")
		line = bytes.TrimLeft(line, " \t\r")
		if len(line) == 0 {
			continue
		}
		rec, err := j.parse(line)
		if err != nil {
			return Record{}, fmt.Errorf("vecfile: line %d: %w", j.line, err)
		}
		return rec, nil
	}
}

// readLine returns the next line without its "\n". The result is valid
// until the next call. At the end of input it returns io.EOF.
func (j *jsonlReader) readLine() ([]byte, error) {
	j.buf = j.buf[:0]
	if cap(j.buf) > 4<<20 {
		j.buf = nil // do not keep a huge buffer after a huge line
	}
	for {
		frag, err := j.br.ReadSlice('\n')
		switch {
		case err == nil:
			j.line++
			frag = frag[:len(frag)-1]
			if len(j.buf) == 0 && len(frag) <= j.maxLine {
				return frag, nil // common case: no copy
			}
			return j.appendFrag(frag, j.line)
		case errors.Is(err, bufio.ErrBufferFull):
			if _, err := j.appendFrag(frag, j.line+1); err != nil {
				j.line++
				return nil, err
			}
		case errors.Is(err, io.EOF):
			if len(frag) == 0 && len(j.buf) == 0 {
				return nil, io.EOF
			}
			j.line++ // last line without a newline
			return j.appendFrag(frag, j.line)
		default:
			return nil, fmt.Errorf("vecfile: line %d: %w", j.line+1, err)
		}
	}
}

func (j *jsonlReader) appendFrag(frag []byte, line int) ([]byte, error) {
	if len(j.buf)+len(frag) > j.maxLine {
		return nil, fmt.Errorf("vecfile: line %d: longer than %d bytes", line, j.maxLine)
	}
	j.buf = append(j.buf, frag...)
	return j.buf, nil
}

// parse decodes one non-blank line. Errors are not prefixed.
func (j *jsonlReader) parse(line []byte) (Record, error) {
	if line[0] != '{' {
		return Record{}, fmt.Errorf("want a JSON object, got %s", describeJSON(line))
	}
	var jr jsonlRecord
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&jr); err != nil {
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return Record{}, fmt.Errorf("invalid JSON: incomplete object: %w", err)
		case errors.As(err, &syntaxErr):
			return Record{}, fmt.Errorf("invalid JSON: %w", err)
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return Record{}, fmt.Errorf("%q must be a %s, got %s: %w", typeErr.Field, typeErr.Type, typeErr.Value, err)
		default: // e.g. json: unknown field "x"
			return Record{}, err
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Record{}, errors.New("invalid JSON: unexpected data after the object")
	}

	vec, err := parseVector(jr.Vector, j.dim)
	if err != nil {
		return Record{}, err
	}
	if j.dim != 0 && len(vec) != j.dim {
		return Record{}, fmt.Errorf("vector has %d dimensions, want %d (as on line %d)", len(vec), j.dim, j.dimLine)
	}
	rec := Record{
		Vector:     vec,
		Text:       jr.Text,
		SourceURI:  jr.SourceURI,
		SourceType: jr.SourceType,
	}
	if len(jr.Metadata) > 0 && !bytes.Equal(jr.Metadata, []byte("null")) {
		if jr.Metadata[0] != '{' {
			return Record{}, fmt.Errorf("\"metadata\" must be a JSON object, got %s", describeJSON(jr.Metadata))
		}
		var b bytes.Buffer
		b.Grow(len(jr.Metadata))
		if err := json.Compact(&b, jr.Metadata); err != nil {
			return Record{}, fmt.Errorf("\"metadata\": %w", err)
		}
		rec.Metadata = b.String()
	}
	if j.dim == 0 {
		j.dim = len(vec)
		j.dimLine = j.line
	}
	return rec, nil
}

// parseVector decodes a JSON array of numbers. raw is a valid JSON value
// (the decoder checked it) or empty when the field was absent.
func parseVector(raw json.RawMessage, hint int) ([]float32, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, errors.New("\"vector\" is required")
	}
	if raw[0] != '[' {
		return nil, fmt.Errorf("\"vector\" must be an array of numbers, got %s", describeJSON(raw))
	}
	if hint <= 0 {
		hint = bytes.Count(raw, []byte(",")) + 1
	}
	vec := make([]float32, 0, hint)
	i := skipSpace(raw, 1)
	if i < len(raw) && raw[i] == ']' {
		return nil, errors.New("\"vector\" is empty")
	}
	for i < len(raw) {
		c := raw[i]
		if c != '-' && (c < '0' || c > '9') {
			return nil, fmt.Errorf("vector[%d]: want a number, got %s", len(vec), describeJSON(raw[i:]))
		}
		start := i
		for i < len(raw) && isNumberByte(raw[i]) {
			i++
		}
		tok := string(raw[start:i])
		f, err := strconv.ParseFloat(tok, 32)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("vector[%d]: %s overflows float32: %w", len(vec), tok, err)
			}
			return nil, fmt.Errorf("vector[%d]: %w", len(vec), err)
		}
		vec = append(vec, float32(f))
		i = skipSpace(raw, i)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
			continue
		}
		if i < len(raw) && raw[i] == ']' {
			return vec, nil
		}
		break
	}
	// Unreachable for input the JSON decoder accepted.
	return nil, errors.New("\"vector\": malformed array")
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// describeJSON names the kind of the JSON value starting at b[0].
func describeJSON(b []byte) string {
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	if b[0] == '-' || b[0] >= '0' && b[0] <= '9' {
		return "a number"
	}
	return fmt.Sprintf("%q", truncate(b, 20))
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
