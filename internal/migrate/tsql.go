package migrate

import (
	"errors"
	"fmt"
	"strings"
)

// ErrGOCount is returned (wrapped) by SplitGO for a separator with a repeat
// count ("GO 2"): sqlcmd runs such a batch several times, hartd does not.
var ErrGOCount = errors.New("migrate: GO with a repeat count is not supported")

// ErrUnterminated is returned (wrapped) by SplitGO when the script ends
// inside a string literal, a quoted identifier or a block comment: a batch
// boundary after that point could not be trusted.
var ErrUnterminated = errors.New("migrate: unterminated literal or comment")

// SplitGO splits a T-SQL script into the batches that sqlcmd and SSMS would
// send, one at a time, to SQL Server. A batch separator is a line that holds
// only the word GO (any case), optionally surrounded by blanks and followed
// by a -- comment. A GO inside a string literal ('…', N'…'), a quoted
// identifier ("…", […]) or a comment (-- to the end of the line, /* … */,
// which nest in T-SQL) is text, not a separator; so is a line that merely
// starts with the letters GO (GOTO label).
//
// Each batch is returned without its separator line and with leading and
// trailing white space removed; batches that are then empty are dropped. A
// script without separators is one batch.
//
// A separator with a repeat count (GO 2) is an error wrapping ErrGOCount,
// and a script that ends inside a literal or a block comment is an error
// wrapping ErrUnterminated. Errors name the 1-based line.
func SplitGO(script string) ([]string, error) {
	var (
		batches []string
		start   int // byte offset where the current batch starts
		state   lexState
		line    = 1
	)
	for pos := 0; pos < len(script); {
		// pos is at the start of a line.
		end := strings.IndexByte(script[pos:], '\n')
		if end < 0 {
			end = len(script)
		} else {
			end += pos
		}
		text := script[pos:end]
		if state.normal() {
			sep, err := separator(text)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			if sep {
				if b := strings.TrimSpace(script[start:pos]); b != "" {
					batches = append(batches, b)
				}
				start = min(end+1, len(script))
				pos = start
				line++
				continue
			}
		}
		state.scan(text)
		pos = end + 1
		line++
	}
	if !state.normal() {
		return nil, fmt.Errorf("%w: %s opened before the end of the script", ErrUnterminated, state.open())
	}
	if start < len(script) {
		if b := strings.TrimSpace(script[start:]); b != "" {
			batches = append(batches, b)
		}
	}
	return batches, nil
}

// separator reports whether a line (without its newline) is a batch
// separator.
func separator(line string) (bool, error) {
	s := strings.TrimSpace(line)
	if len(s) < 2 || !strings.EqualFold(s[:2], "GO") {
		return false, nil
	}
	rest := s[2:]
	if rest == "" || strings.HasPrefix(rest, "--") {
		return true, nil
	}
	if rest[0] != ' ' && rest[0] != '\t' {
		// GOTO, GO;, GO- …: not a separator.
		return false, nil
	}
	rest = strings.TrimSpace(rest)
	if rest == "" || strings.HasPrefix(rest, "--") {
		return true, nil
	}
	if rest[0] >= '0' && rest[0] <= '9' {
		return false, fmt.Errorf("%w: %q", ErrGOCount, s)
	}
	return false, nil
}

// lexState tracks what a T-SQL lexer is inside of across lines.
type lexState struct {
	quote   byte // '\'', '"' or ']' while inside a literal or quoted identifier
	comment int  // nesting depth of /* */ comments
}

func (s *lexState) normal() bool { return s.quote == 0 && s.comment == 0 }

func (s *lexState) open() string {
	switch {
	case s.comment > 0:
		return "a /* comment"
	case s.quote == ']':
		return "a [identifier"
	case s.quote == '"':
		return `a "identifier`
	default:
		return "a 'string literal"
	}
}

// scan advances the state over one line (without its newline). A -- comment
// ends with the line, so it never carries over.
func (s *lexState) scan(line string) {
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case s.comment > 0:
			if c == '*' && i+1 < len(line) && line[i+1] == '/' {
				s.comment--
				i++
			} else if c == '/' && i+1 < len(line) && line[i+1] == '*' {
				s.comment++
				i++
			}
		case s.quote != 0:
			if c == s.quote {
				// A doubled closing character is an escaped one.
				if i+1 < len(line) && line[i+1] == s.quote {
					i++
				} else {
					s.quote = 0
				}
			}
		case c == '-' && i+1 < len(line) && line[i+1] == '-':
			return
		case c == '/' && i+1 < len(line) && line[i+1] == '*':
			s.comment++
			i++
		case c == '\'' || c == '"':
			s.quote = c
		case c == '[':
			s.quote = ']'
		}
	}
}
