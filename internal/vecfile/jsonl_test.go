package vecfile

import (
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestJSONLRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []Record
	}{
		{
			name: "all fields",
			input: `{"vector":[1,-2.5,3e2],"text":"hello","source_uri":"file:///a.txt","source_type":"file","metadata":{ "k" : [1, 2], "n":{"x":null} }}` + "\n" +
				`{"vector":[0.5, 0.25 , 1E-3], "text":"w\u00f6rld"}` + "\n",
			want: []Record{
				{Vector: []float32{1, -2.5, 300}, Text: "hello", SourceURI: "file:///a.txt", SourceType: "file", Metadata: `{"k":[1,2],"n":{"x":null}}`},
				{Vector: []float32{0.5, 0.25, 0.001}, Text: "wörld"},
			},
		},
		{
			name:  "blank lines, CRLF, BOM, no final newline",
			input: "\xef\xbb\xbf{\"vector\":[1]}\r\n\r\n   \n\t\n{\"vector\":[2]}\r\n\n{\"vector\":[3],\"metadata\":null}",
			want:  []Record{{Vector: []float32{1}}, {Vector: []float32{2}}, {Vector: []float32{3}}},
		},
		{
			name:  "empty input",
			input: "",
		},
		{
			name:  "only blank lines",
			input: "\n\n  \n",
		},
		{
			name:  "float32 extremes",
			input: `{"vector":[3.4028234e38,-3.4028234e38,1e-50,-0,1.401298464324817e-45]}`,
			want:  []Record{{Vector: []float32{math.MaxFloat32, -math.MaxFloat32, 0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32}}},
		},
		{
			name:  "null text fields",
			input: `{"vector":[1],"text":null,"source_uri":null}`,
			want:  []Record{{Vector: []float32{1}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunked := range []bool{false, true} {
				var src io.Reader = strings.NewReader(tt.input)
				if chunked {
					src = &oneByteReader{data: []byte(tt.input)}
				}
				r := NewJSONL(src)
				if r.Len() != -1 {
					t.Errorf("Len = %d, want -1", r.Len())
				}
				if r.Dim() != 0 {
					t.Errorf("Dim before reading = %d, want 0", r.Dim())
				}
				got, err := readAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d records, want %d: %+v", len(got), len(tt.want), got)
				}
				for i := range got {
					if !recordEqual(got[i], tt.want[i]) {
						t.Errorf("record %d = %+v, want %+v", i, got[i], tt.want[i])
					}
				}
				if len(tt.want) > 0 && r.Dim() != len(tt.want[0].Vector) {
					t.Errorf("Dim = %d, want %d", r.Dim(), len(tt.want[0].Vector))
				}
				if _, err := r.Next(); !errors.Is(err, io.EOF) {
					t.Errorf("Next after end = %v, want io.EOF", err)
				}
			}
		})
	}
}

func recordEqual(a, b Record) bool {
	if len(a.Vector) != len(b.Vector) {
		return false
	}
	for i := range a.Vector {
		if math.Float32bits(a.Vector[i]) != math.Float32bits(b.Vector[i]) {
			return false
		}
	}
	return a.Text == b.Text && a.SourceURI == b.SourceURI && a.SourceType == b.SourceType && a.Metadata == b.Metadata
}

func TestJSONLErrors(t *testing.T) {
	ok := `{"vector":[1,2,3]}` + "\n"
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"not an object", ok + `[1,2,3]`, []string{"line 2:", "want a JSON object", "an array"}},
		{"garbage", ok + "\n" + `hello`, []string{"line 3:", "want a JSON object", `"hello"`}},
		{"invalid JSON", `{"vector":[1,2,]}`, []string{"line 1:", "invalid JSON", "invalid character"}},
		{"incomplete object", `{"vector":[1,2`, []string{"line 1:", "invalid JSON", "unexpected EOF"}},
		{"trailing data", `{"vector":[1]} {"vector":[2]}`, []string{"line 1:", "unexpected data after the object"}},
		{"unknown field", ok + ok + `{"vector":[1,2,3],"embedding":[1]}`, []string{"line 3:", `unknown field "embedding"`}},
		{"missing vector", `{"text":"x"}`, []string{"line 1:", `"vector" is required`}},
		{"null vector", `{"vector":null}`, []string{"line 1:", `"vector" is required`}},
		{"empty vector", `{"vector":[ ]}`, []string{"line 1:", `"vector" is empty`}},
		{"vector not an array", `{"vector":"1,2"}`, []string{"line 1:", `"vector" must be an array of numbers`, "a string"}},
		{"vector object", `{"vector":{}}`, []string{"line 1:", `"vector" must be an array`, "an object"}},
		{"string element", `{"vector":[1,"2"]}`, []string{"line 1:", "vector[1]", "want a number", "a string"}},
		{"null element", `{"vector":[null]}`, []string{"line 1:", "vector[0]", "want a number", "null"}},
		{"bool element", `{"vector":[1,2,true]}`, []string{"line 1:", "vector[2]", "a boolean"}},
		{"nested element", `{"vector":[[1]]}`, []string{"line 1:", "vector[0]", "an array"}},
		{"overflow", ok + `{"vector":[1,1e39,3]}`, []string{"line 2:", "vector[1]", "1e39 overflows float32", "out of range"}},
		{"negative overflow", `{"vector":[-3.5e38]}`, []string{"line 1:", "vector[0]", "overflows float32"}},
		{"dimension mismatch", "\n" + ok + ok + `{"vector":[1,2]}`, []string{"line 4:", "2 dimensions", "want 3", "line 2"}},
		{"metadata array", `{"vector":[1],"metadata":[1,2]}`, []string{"line 1:", `"metadata" must be a JSON object`, "an array"}},
		{"metadata string", `{"vector":[1],"metadata":"{}"}`, []string{"line 1:", `"metadata" must be a JSON object`, "a string"}},
		{"text not a string", `{"vector":[1],"text":5}`, []string{"line 1:", `"text" must be a string, got number`}},
		{"source_uri not a string", `{"vector":[1],"source_uri":["a"]}`, []string{"line 1:", `"source_uri" must be a string, got array`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(NewJSONL(strings.NewReader(tt.input)))
			checkErr(t, err, tt.want...)
		})
	}
}

func TestJSONLErrorWraps(t *testing.T) {
	_, err := readAll(NewJSONL(strings.NewReader(`{"vector":[1e40]}`)))
	if !errors.Is(err, strconv.ErrRange) {
		t.Fatalf("overflow error %v does not wrap strconv.ErrRange", err)
	}
	boom := errors.New("boom")
	r := NewJSONL(&failingReader{data: []byte(`{"vector":[1]}` + "\n" + `{"vec`), err: boom})
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	checkErr(t, err, "line 2:", "boom")
	if _, err2 := r.Next(); !errors.Is(err2, boom) {
		t.Errorf("I/O error is not sticky: second call returned %v", err2)
	}
}

// A bad line does not stop the reader: the caller may skip it.
func TestJSONLContinueAfterBadLine(t *testing.T) {
	input := `{"vector":[1,2]}` + "\n" + `{"vector":[1]}` + "\n" + `oops` + "\n" + `{"vector":[3,4]}` + "\n"
	r := NewJSONL(strings.NewReader(input))
	var got [][]float32
	var errs []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		got = append(got, rec.Vector)
	}
	if len(got) != 2 || got[1][0] != 3 {
		t.Errorf("vectors = %v", got)
	}
	if len(errs) != 2 || !strings.Contains(errs[0], "line 2:") || !strings.Contains(errs[1], "line 3:") {
		t.Errorf("errors = %q", errs)
	}
}

// The first valid record sets the dimension, even after a bad first line.
func TestJSONLDimFromFirstValidRecord(t *testing.T) {
	r := NewJSONL(strings.NewReader("{\"vector\":[]}\n{\"vector\":[1,2]}\n{\"vector\":[1]}\n"))
	if _, err := r.Next(); err == nil {
		t.Fatal("empty vector accepted")
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if r.Dim() != 2 {
		t.Errorf("Dim = %d, want 2", r.Dim())
	}
	_, err := r.Next()
	checkErr(t, err, "line 3:", "1 dimensions", "want 2", "line 2")
}

func TestJSONLLongLine(t *testing.T) {
	// Longer than the internal buffer, so the line is assembled from pieces.
	const dim = 300_000
	var b strings.Builder
	b.WriteString(`{"vector":[`)
	for i := range dim {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("0.125")
	}
	b.WriteString(`],"text":"long"}` + "\n" + `{"vector":[`)
	b.WriteString(strings.TrimSuffix(strings.Repeat("1,", dim), ","))
	b.WriteString("]}\n")
	got, err := readAll(NewJSONL(strings.NewReader(b.String())))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].Vector) != dim || got[0].Vector[dim-1] != 0.125 || got[0].Text != "long" || got[1].Vector[dim-1] != 1 {
		t.Fatalf("bad records: %d", len(got))
	}
}

func TestJSONL64MiBLine(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	text := strings.Repeat("x", 64<<20+10)
	input := `{"vector":[1,2],"text":"` + text + `"}` + "\n" + `{"vector":[3,4]}`
	got, err := readAll(NewJSONL(strings.NewReader(input)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].Text) != len(text) || got[1].Vector[0] != 3 {
		t.Fatalf("bad records")
	}
}

func TestJSONLLineTooLong(t *testing.T) {
	for _, size := range []int{100, 3 << 20} { // within and beyond the bufio buffer
		r := NewJSONL(strings.NewReader(`{"vector":[1]}` + "\n" + `{"vector":[1],"text":"` + strings.Repeat("y", size) + `"}` + "\n"))
		r.(*jsonlReader).maxLine = size
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		_, err := r.Next()
		checkErr(t, err, "line 2:", "longer than")
		if _, err2 := r.Next(); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("overlong-line error is not sticky: %v", err2)
		}
	}
}
