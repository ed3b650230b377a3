package vecfile

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

func TestFormatOf(t *testing.T) {
	tests := []struct {
		path string
		want Format
		err  []string
	}{
		{"a.jsonl", FormatJSONL, nil},
		{"dir/b.ndjson", FormatJSONL, nil},
		{"c.json", FormatJSONL, nil},
		{"UPPER.JSONL", FormatJSONL, nil},
		{"x.npy", FormatNPY, nil},
		{"x.tar/y.NPY", FormatNPY, nil},
		{"sift_base.fvecs", FormatFVecs, nil},
		{"data.csv", 0, []string{`unsupported file extension ".csv"`, ".jsonl", ".ndjson", ".json", ".npy", ".fvecs"}},
		{"data.npz", 0, []string{`".npz"`, ".npy"}},
		{"data.jsonl.gz", 0, []string{`".gz"`}},
		{"dir.npy/noext", 0, []string{`"noext" has no file extension`, ".fvecs"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := FormatOf(tt.path)
			if tt.err != nil {
				checkErr(t, err, tt.err...)
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("FormatOf(%q) = %v, %v; want %v", tt.path, got, err, tt.want)
			}
		})
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{FormatJSONL: "jsonl", FormatNPY: "npy", FormatFVecs: "fvecs", 0: "Format(0)"} {
		if got := f.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(f), got, want)
		}
	}
}

func TestOpen(t *testing.T) {
	rows := [][]float32{{1, 2}, {3, 4}, {5, 6}}
	tests := []struct {
		name    string
		data    []byte
		wantLen int
	}{
		{"v.jsonl", []byte("{\"vector\":[1,2]}\n{\"vector\":[3,4]}\n{\"vector\":[5,6]}\n"), -1},
		{"v.json", []byte("{\"vector\":[1,2]}\n{\"vector\":[3,4]}\n{\"vector\":[5,6]}"), -1},
		{"v.npy", npyF32(1, rows), 3},
		{"v.fvecs", fvecsBytes(rows...), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c, err := Open(writeFile(t, tt.name, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if r.Len() != tt.wantLen {
				t.Errorf("Len = %d, want %d", r.Len(), tt.wantLen)
			}
			got, err := readAll(r)
			if err != nil {
				t.Fatal(err)
			}
			checkVectors(t, got, rows)
			if r.Dim() != 2 {
				t.Errorf("Dim = %d, want 2", r.Dim())
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, _, err := Open(filepath.Join(dir, "missing.npy"))
	checkErr(t, err, "missing.npy")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}

	_, _, err = Open(writeFile(t, "v.txt", []byte("x")))
	checkErr(t, err, `".txt"`)

	r, c, err := Open(writeFile(t, "bad.npy", []byte("not numpy at all")))
	checkErr(t, err, "npy header", "bad magic")
	if r != nil || c != nil {
		t.Errorf("Open returned a reader or closer along with an error")
	}
}
