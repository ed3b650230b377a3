package migrate

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	hartsql "github.com/hartonomous/hartd/sql"
)

func TestSplitGO(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []string
	}{
		{"empty", "", nil},
		{"blank", " \n\t\n", nil},
		{"no separator", "SELECT 1;\nSELECT 2;", []string{"SELECT 1;\nSELECT 2;"}},
		{"two batches", "SELECT 1\nGO\nSELECT 2\n", []string{"SELECT 1", "SELECT 2"}},
		{"lower and mixed case", "a\ngo\nb\nGo\nc", []string{"a", "b", "c"}},
		{"blanks around GO", "a\n  GO \t\nb", []string{"a", "b"}},
		{"CRLF", "a\r\nGO\r\nb\r\n", []string{"a", "b"}},
		{"GO with a comment", "a\nGO -- next\nb\nGO--x\nc", []string{"a", "b", "c"}},
		{"GO first and last", "GO\na\nGO\n", []string{"a"}},
		{"GO without newline at the end", "a\nGO", []string{"a"}},
		{"empty batches dropped", "a\nGO\n\nGO\n  \nGO\nb", []string{"a", "b"}},
		{"GOTO is a statement", "GOTO done\ndone:\nGO\nb", []string{"GOTO done\ndone:", "b"}},
		{"GO; is not a separator", "a\nGO;\nb", []string{"a\nGO;\nb"}},
		{"GO inside a word", "SELECT 1 AS GO\nGOOD\nb", []string{"SELECT 1 AS GO\nGOOD\nb"}},
		{"GO inside a string", "SELECT 'x\nGO\ny'\nGO\nb", []string{"SELECT 'x\nGO\ny'", "b"}},
		{"GO inside an N string with escaped quotes", "SELECT N'it''s\nGO\n'''\nGO\nb", []string{"SELECT N'it''s\nGO\n'''", "b"}},
		{"GO inside a block comment", "/* c\nGO\n*/ a\nGO\nb", []string{"/* c\nGO\n*/ a", "b"}},
		{"nested block comments", "/* 1 /* 2\n*/\nGO\n*/ a\nGO\nb", []string{"/* 1 /* 2\n*/\nGO\n*/ a", "b"}},
		{"line comment does not hide the next line", "a -- /* not a comment start\nGO\nb", []string{"a -- /* not a comment start", "b"}},
		{"quote inside a line comment", "a -- it's\nGO\nb", []string{"a -- it's", "b"}},
		{"quote inside a block comment", "/* it's */ a\nGO\nb", []string{"/* it's */ a", "b"}},
		{"bracketed identifier", "SELECT 1 AS [x\nGO\n]]y]\nGO\nb", []string{"SELECT 1 AS [x\nGO\n]]y]", "b"}},
		{"double-quoted identifier", "SELECT 1 AS \"x\nGO\n\"\nGO\nb", []string{"SELECT 1 AS \"x\nGO\n\"", "b"}},
		{"comment markers in strings", "SELECT '/*', '--'\nGO\nb", []string{"SELECT '/*', '--'", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitGO(tc.script)
			if err != nil {
				t.Fatalf("SplitGO(%q): %v", tc.script, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("SplitGO(%q)\n got %q\nwant %q", tc.script, got, tc.want)
			}
		})
	}
}

func TestSplitGOErrors(t *testing.T) {
	tests := []struct {
		name, script string
		want         error
		line         string
	}{
		{"count", "a\nGO 2\nb", ErrGOCount, "line 2"},
		{"count after blanks", "a\nb\n  go\t10  \n", ErrGOCount, "line 3"},
		{"open string", "SELECT 'x\nGO\n", ErrUnterminated, "string"},
		{"open comment", "/* x\nGO\n", ErrUnterminated, "comment"},
		{"open nested comment", "/* /* */\nGO\n", ErrUnterminated, "comment"},
		{"open bracket", "SELECT [x\n", ErrUnterminated, "identifier"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := SplitGO(tc.script)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.line) {
				t.Fatalf("SplitGO(%q) = %v, want %v naming %q", tc.script, err, tc.want, tc.line)
			}
		})
	}
}

// Every shipped T-SQL script splits without error into non-empty batches,
// and the dialect's Split agrees with SplitGO.
func TestShippedTSQLSplits(t *testing.T) {
	n := 0
	err := fs.WalkDir(hartsql.FS, "sqlserver", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".sql") {
			return err
		}
		b, _ := fs.ReadFile(hartsql.FS, p)
		batches, err := SplitGO(string(b))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if len(batches) == 0 {
			t.Errorf("%s: no batches", p)
		}
		if !reflect.DeepEqual(SQLServer.Split(string(b)), batches) {
			t.Errorf("%s: SQLServer.Split differs from SplitGO", p)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no T-SQL scripts under sql/sqlserver")
	}
}

func TestSQLServerDialect(t *testing.T) {
	if got := SQLServer.Placeholder(3); got != "@p3" {
		t.Fatalf("Placeholder(3) = %q", got)
	}
	if !strings.HasPrefix(SQLServer.CreateHistory, "IF OBJECT_ID(N'dbo."+HistoryTable+"', N'U') IS NULL") {
		t.Fatalf("CreateHistory is not guarded: %s", SQLServer.CreateHistory)
	}
	// A script SplitGO rejects goes whole to the server, which rejects it.
	if got := SQLServer.Split("a\nGO 2\n"); len(got) != 1 || got[0] != "a\nGO 2\n" {
		t.Fatalf("Split of a rejected script = %q", got)
	}
}

// FuzzSplitGO: SplitGO never panics, batches are trimmed and non-empty, and
// a batch splits into exactly itself (no separator survives inside one).
func FuzzSplitGO(f *testing.F) {
	for _, s := range []string{
		"", "GO", "a\nGO\nb", "'\nGO\n'", "/*\nGO\n*/", "/* /* */ */\nGO 3", "[\n]]\nGO\n]", "--'\nGO\n", "a\r\ngo\r\n",
		"GOTO x\nGO -- c\n", "\"\n\"\"\nGO\n\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		batches, err := SplitGO(s)
		if err != nil {
			return
		}
		for _, b := range batches {
			if b == "" || b != strings.TrimSpace(b) {
				t.Fatalf("batch %q is empty or untrimmed", b)
			}
			again, err := SplitGO(b)
			if err != nil || len(again) != 1 || again[0] != b {
				t.Fatalf("batch %q splits again into %q, %v", b, again, err)
			}
		}
	})
}
