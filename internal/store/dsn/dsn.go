// Package dsn keeps the secrets of store connection strings out of messages
// and logs. It knows the URL form (scheme://user:password@host/db?password=…)
// and the keyword forms of libpq (password='…' dbname=…) and ADO.NET/ODBC
// (Password=…;Database=…), and masks every password it finds as xxxxx.
//
// It is best effort, and errs towards masking: a string it cannot parse
// still has its likely secrets masked, and Mask masks a secret wherever it
// occurs in a message.
package dsn

import (
	"net/url"
	"sort"
	"strings"
)

// Masked is what replaces a secret.
const Masked = "xxxxx"

// secretKeys are the keys whose values are secrets, lower case.
var secretKeys = map[string]bool{"password": true, "pwd": true, "sslpassword": true}

// span is a secret's position in a DSN.
type span struct{ start, end int }

// Redact returns s with every password replaced by Masked.
func Redact(s string) string {
	spans := find(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		if sp.start < last {
			continue
		}
		b.WriteString(s[last:sp.start])
		b.WriteString(Masked)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// Secrets returns the secrets of s as they are written in it, and, where it
// differs, as they decode (URL escapes, quotes), longest first.
func Secrets(s string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, sp := range find(s) {
		raw := s[sp.start:sp.end]
		add(raw)
		if u, err := url.PathUnescape(raw); err == nil {
			add(u)
		}
		if u, err := url.QueryUnescape(raw); err == nil {
			add(u)
		}
		if len(raw) >= 2 && (raw[0] == '\'' && raw[len(raw)-1] == '\'' || raw[0] == '{' && raw[len(raw)-1] == '}') {
			inner := raw[1 : len(raw)-1]
			add(inner)
			add(strings.NewReplacer(`\'`, `'`, `\\`, `\`, `}}`, `}`).Replace(inner))
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Mask returns text with the DSN s, and each of its secrets, masked
// wherever they occur: for a message that may quote s or a part of it.
func Mask(text, s string) string {
	if s != "" {
		if r := Redact(s); r != s {
			text = strings.ReplaceAll(text, s, r)
		}
	}
	for _, sec := range Secrets(s) {
		text = strings.ReplaceAll(text, sec, Masked)
	}
	return text
}

// find returns the positions of the secrets of s, in order.
func find(s string) []span {
	var spans []span
	if i := strings.Index(s, "://"); i > 0 && !strings.ContainsAny(s[:i], " =;") {
		spans = append(spans, findURL(s, i+3)...)
	} else {
		spans = append(spans, findKeywords(s)...)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	return spans
}

// findURL finds the password of the userinfo and the secret query
// parameters of a URL whose authority starts at rest.
func findURL(s string, rest int) []span {
	var spans []span
	tail := s[rest:]
	// The userinfo ends at the last '@' of the authority. A password may
	// hold an unescaped '/', '?' or '#' (an invalid URL that people write):
	// then the '@' comes after the first of them.
	end := strings.IndexAny(tail, "/?#")
	if end < 0 {
		end = len(tail)
	}
	at := strings.LastIndex(tail[:end], "@")
	if at < 0 {
		if j := strings.LastIndex(tail, "@"); j >= 0 && strings.Contains(tail[:j], ":") {
			at = j
		}
	}
	queryFrom := 0
	if at >= 0 {
		if c := strings.Index(tail[:at], ":"); c >= 0 && c+1 < at {
			spans = append(spans, span{rest + c + 1, rest + at})
		}
		queryFrom = at + 1
	}
	if q := strings.Index(tail[queryFrom:], "?"); q >= 0 {
		start := rest + queryFrom + q + 1
		query := s[start:]
		if h := strings.Index(query, "#"); h >= 0 {
			query = query[:h]
		}
		off := start
		for _, kv := range strings.Split(query, "&") {
			if k, v, ok := strings.Cut(kv, "="); ok && v != "" {
				if key, err := url.QueryUnescape(k); err == nil && secretKeys[strings.ToLower(strings.TrimSpace(key))] {
					spans = append(spans, span{off + len(k) + 1, off + len(kv)})
				}
			}
			off += len(kv) + 1
		}
	}
	return spans
}

// findKeywords finds the values of secret keys in key=value strings: libpq
// (space-separated, values optionally in single quotes with \ escapes) or
// ADO.NET/ODBC (';'-separated, values optionally in braces).
func findKeywords(s string) []span {
	var spans []span
	semi := strings.Contains(s, ";")
	lower := strings.ToLower(s)
	for i := 0; i < len(s); {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			break
		}
		eq += i
		// The key is the word before '=' (spaces allowed around it).
		k := eq
		for k > 0 && s[k-1] == ' ' {
			k--
		}
		ks := k
		for ks > 0 && s[ks-1] != ' ' && s[ks-1] != ';' && s[ks-1] != '\t' && s[ks-1] != '\n' {
			ks--
		}
		if semi {
			// ADO keys may hold spaces ("User ID"): the key starts after ';'.
			ks = strings.LastIndexByte(s[:k], ';') + 1
		}
		key := strings.TrimSpace(lower[ks:k])
		v := eq + 1
		for v < len(s) && s[v] == ' ' {
			v++
		}
		end := valueEnd(s, v, semi)
		if secretKeys[key] && end > v {
			spans = append(spans, span{v, end})
		}
		if end <= eq {
			end = eq + 1
		}
		i = end
	}
	return spans
}

// valueEnd returns where the value starting at v ends.
func valueEnd(s string, v int, semi bool) int {
	if v >= len(s) {
		return v
	}
	switch {
	case s[v] == '\'':
		for j := v + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '\'':
				return j + 1
			}
		}
		return len(s)
	case s[v] == '{' && semi:
		for j := v + 1; j < len(s); j++ {
			if s[j] == '}' {
				if j+1 < len(s) && s[j+1] == '}' {
					j++
					continue
				}
				return j + 1
			}
		}
		return len(s)
	case semi:
		if j := strings.IndexByte(s[v:], ';'); j >= 0 {
			return v + j
		}
		return len(s)
	}
	if j := strings.IndexAny(s[v:], " \t\n"); j >= 0 {
		return v + j
	}
	return len(s)
}
