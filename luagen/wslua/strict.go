package wslua

import (
	"fmt"
)

// SyntaxError is a Lua syntax error found by the strict dialect check.
type SyntaxError struct {
	Chunk string // chunk name as given to the check
	Line  int
	Msg   string // luac-style message, e.g. "unexpected symbol near '/'"
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Chunk, e.Line, e.Msg) }

// CheckSyntax51 rejects constructs real Lua 5.1 rejects but gopher-lua
// accepts or that belong to later Lua versions: `goto`, `::label::`, `//`,
// and the 5.3 bit operators `& | ~ << >>`. Messages follow luac5.1
// ("'=' expected near 'continue'", "unexpected symbol near '/'").
func CheckSyntax51(chunk string, src []byte) error { return checkDialect(chunk, src, 51) }

// CheckSyntax52 rejects the Lua 5.3 operators `//`, `& | ~ << >>` that a
// Lua 5.2 Wireshark build rejects (goto and labels are fine in 5.2).
func CheckSyntax52(chunk string, src []byte) error { return checkDialect(chunk, src, 52) }

func checkDialect(chunk string, src []byte, dialect int) error {
	line := 1
	n := len(src)
	i := 0
	// Skip a leading "#!" line as lua does.
	if n > 0 && src[0] == '#' {
		for i < n && src[i] != '\n' {
			i++
		}
	}
	prevGoto := false // previous token was the identifier "goto"
	fail := func(msg string) error { return &SyntaxError{Chunk: chunk, Line: line, Msg: msg} }
	near := func(s string) error { return fail("unexpected symbol near '" + s + "'") }
	for i < n {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '-' && i+1 < n && src[i+1] == '-':
			i += 2
			if lvl, ok := longBracket(src, i); ok {
				j, nl, closed := skipLong(src, i+lvl+2, lvl)
				if !closed {
					return fail("unfinished long comment near '<eof>'")
				}
				line += nl
				i = j
			} else {
				for i < n && src[i] != '\n' {
					i++
				}
			}
			continue
		case c == '[':
			if lvl, ok := longBracket(src, i); ok {
				j, nl, closed := skipLong(src, i+lvl+2, lvl)
				if !closed {
					return fail("unfinished long string near '<eof>'")
				}
				line += nl
				i = j
				prevGoto = false
				continue
			}
			i++
		case c == '"' || c == '\'':
			j := i + 1
			for j < n && src[j] != c {
				if src[j] == '\\' && j+1 < n {
					if src[j+1] == '\n' {
						line++
					}
					j += 2
					continue
				}
				if src[j] == '\n' {
					return fail("unfinished string near '" + string(src[i:j]) + "'")
				}
				j++
			}
			i = j + 1
		case isIdentStart(c):
			j := i
			for j < n && isIdentChar(src[j]) {
				j++
			}
			word := string(src[i:j])
			if dialect == 51 && prevGoto && !isKeyword51(word) {
				return fail("'=' expected near '" + word + "'")
			}
			prevGoto = word == "goto"
			i = j
			continue
		case c >= '0' && c <= '9' || c == '.' && i+1 < n && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			for j < n && (isIdentChar(src[j]) || src[j] == '.' ||
				(src[j] == '-' || src[j] == '+') && (src[j-1] == 'e' || src[j-1] == 'E' || src[j-1] == 'p' || src[j-1] == 'P')) {
				j++
			}
			i = j
		case c == ':' && i+1 < n && src[i+1] == ':':
			if dialect == 51 {
				return near(":")
			}
			i += 2
		case c == '/' && i+1 < n && src[i+1] == '/':
			return near("/")
		case c == '&' || c == '|':
			return near(string(c))
		case c == '~':
			if i+1 < n && src[i+1] == '=' {
				i += 2
			} else {
				return near("~")
			}
		case (c == '<' || c == '>') && i+1 < n && src[i+1] == c:
			return near(string(c))
		default:
			i++
		}
		prevGoto = false
	}
	return nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func isKeyword51(w string) bool {
	switch w {
	case "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in",
		"local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while":
		return true
	}
	return false
}

// longBracket reports whether src[i:] opens a long bracket "[==[" and its level.
func longBracket(src []byte, i int) (int, bool) {
	if i >= len(src) || src[i] != '[' {
		return 0, false
	}
	j := i + 1
	for j < len(src) && src[j] == '=' {
		j++
	}
	if j < len(src) && src[j] == '[' {
		return j - i - 1, true
	}
	return 0, false
}

// skipLong skips to after the closing "]==]" of the given level, returning
// the index after it, the number of newlines skipped and whether it closed.
func skipLong(src []byte, i, lvl int) (int, int, bool) {
	nl := 0
	for i < len(src) {
		if src[i] == '\n' {
			nl++
		} else if src[i] == ']' {
			j := i + 1
			for j < len(src) && src[j] == '=' {
				j++
			}
			if j-i-1 == lvl && j < len(src) && src[j] == ']' {
				return j + 1, nl, true
			}
		}
		i++
	}
	return i, nl, false
}
