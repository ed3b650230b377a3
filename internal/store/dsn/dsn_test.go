package dsn

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"postgres://hartd@127.0.0.1:5432/db?sslmode=disable", "postgres://hartd@127.0.0.1:5432/db?sslmode=disable"},
		{"postgres://hartd:s3cret@127.0.0.1:5432/db", "postgres://hartd:xxxxx@127.0.0.1:5432/db"},
		{"postgresql://u:p%40ss@h/db?sslmode=require", "postgresql://u:xxxxx@h/db?sslmode=require"},
		{"postgres://u:p@ss@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u:pa/ss@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://h/db?user=u&password=s3cret&sslmode=disable", "postgres://h/db?user=u&password=xxxxx&sslmode=disable"},
		{"postgres://h/db?sslpassword=k3y", "postgres://h/db?sslpassword=xxxxx"},
		{"sqlserver://sa:Str0ng!Pass@127.0.0.1:1433?database=hartd", "sqlserver://sa:xxxxx@127.0.0.1:1433?database=hartd"},
		{"host=h user=u password=s3cret dbname=d", "host=h user=u password=xxxxx dbname=d"},
		{"host=h password = 'a b\\'c' dbname=d", "host=h password = xxxxx dbname=d"},
		{"Server=h;User ID=sa;Password=my secret;Database=d", "Server=h;User ID=sa;Password=xxxxx;Database=d"},
		{"server=h;pwd={a;b}}c};database=d", "server=h;pwd=xxxxx;database=d"},
		{"sqlite:///var/lib/hartd/hart.db", "sqlite:///var/lib/hartd/hart.db"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMask(t *testing.T) {
	d := "postgres://u:p%40ss@h/db"
	msg := `cannot parse "postgres://u:p%40ss@h/db": password "p@ss" rejected`
	got := Mask(msg, d)
	if strings.Contains(got, "p%40ss") || strings.Contains(got, "p@ss") {
		t.Fatalf("Mask left a secret: %s", got)
	}
	if !strings.Contains(got, "postgres://u:xxxxx@h/db") {
		t.Fatalf("Mask = %s", got)
	}
	if got := Mask("no secrets here", "postgres://h/db"); got != "no secrets here" {
		t.Fatalf("Mask changed a message without secrets: %s", got)
	}
	kw := "host=h password='it''s' dbname=d"
	if got := Mask("bad: "+kw, kw); strings.Contains(got, "it''s") {
		t.Fatalf("Mask left a quoted secret: %s", got)
	}
}

// FuzzRedact: a password written in the URL's userinfo never survives.
func FuzzRedact(f *testing.F) {
	f.Add("s3cret", "h:5432/db?sslmode=disable")
	f.Add("p/a?s#s", "h/db")
	f.Fuzz(func(t *testing.T, pw, rest string) {
		if len(pw) < 4 || strings.ContainsAny(pw, "@") || strings.Contains(Masked, pw) {
			return
		}
		s := "postgres://user:" + pw + "@" + rest
		if strings.Contains(rest, "@") || strings.Contains(rest, pw) || strings.Contains("postgres://user:", pw) {
			return // the password would also be some other part of the DSN
		}
		if got := Redact(s); strings.Contains(got, pw) {
			t.Fatalf("Redact(%q) = %q keeps the password", s, got)
		}
		if got := Mask("error: "+s, s); strings.Contains(got, pw) {
			t.Fatalf("Mask kept the password: %q", got)
		}
	})
}
