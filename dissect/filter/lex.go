// Package filter implements Wireshark's display-filter language over the
// fields of decoded MQTT packets, so that one expression selects the same
// packets in mqttdissect and in Wireshark or tshark.
//
// The grammar is Wireshark 4's: comparisons (== != ~= > < >= <= and eq ne
// any_ne gt lt ge le), contains, matches, membership (in {a, b, lo..hi}),
// && and || (and, or; "and" binds tighter), ! (not), parentheses, field
// existence, slices (f[i:n], f[i-j], f[i]) and the functions len, count,
// lower and upper. Fields are Wireshark's filter names from the spec table
// plus a few pseudo-fields of the frame (frame.number, frame.time_epoch,
// ip.src, ip.dst, ip.addr, ipv6.*, tcp.srcport, tcp.dstport, tcp.port,
// tcp.stream).
//
// A filter holds when any occurrence of a field satisfies a comparison, as
// in Wireshark; "!=" holds when the field is present and no occurrence is
// equal (Wireshark 4's all_ne), "~=" when some occurrence differs.
package filter

import (
	"fmt"
	"strings"
)

// Error is a mistake in a filter expression, with the column it starts at.
type Error struct {
	Expr string // the whole expression
	Col  int    // 1-based column of the mistake (in bytes)
	Len  int    // how many bytes the mistake spans, at least 1
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("column %d: %s", e.Col, e.Msg)
}

// Caret returns the expression and, under it, a marker pointing at the
// mistake, as Wireshark shows filter errors.
func (e *Error) Caret() string {
	n := e.Len
	if n < 1 {
		n = 1
	}
	return "    " + e.Expr + "\n    " + strings.Repeat(" ", e.Col-1) + "^" + strings.Repeat("~", n-1)
}

type tokKind uint8

const (
	tEOF    tokKind = iota
	tWord           // a field name, keyword or unquoted literal
	tString         // "..." or r"..."
	tChar           // 'c'
	tOp             // comparison operator, normalised (== != ~= > < >= <=)
	tAnd
	tOr
	tNot
	tLParen
	tRParen
	tLBrace
	tRBrace
	tLBracket
	tRBracket
	tComma
	tRange // ..
)

type token struct {
	kind tokKind
	text string // the word, the string's decoded value, the operator
	pos  int    // byte offset in the expression
	end  int
}

// wordChar reports whether c may be part of a field name or unquoted
// literal: letters, digits and . _ - : / (byte strings, addresses, CIDR).
func wordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == ':' || c == '/'
}

func lex(expr string) ([]token, *Error) {
	var toks []token
	errAt := func(pos, n int, format string, args ...any) *Error {
		return &Error{Expr: expr, Col: pos + 1, Len: n, Msg: fmt.Sprintf(format, args...)}
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		start := i
		two := ""
		if i+1 < len(expr) {
			two = expr[i : i+2]
		}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case two == "==" || two == "!=" || two == "~=" || two == ">=" || two == "<=":
			i += 2
			if i < len(expr) && expr[i] == '=' && (two == "==" || two == "!=") {
				i++ // === and !== are Wireshark 4's all_eq and any_ne
			}
			toks = append(toks, token{kind: tOp, text: expr[start:i], pos: start, end: i})
			continue
		case two == "&&":
			toks = append(toks, token{kind: tAnd, text: two, pos: i, end: i + 2})
			i += 2
			continue
		case two == "||":
			toks = append(toks, token{kind: tOr, text: two, pos: i, end: i + 2})
			i += 2
			continue
		case c == '>' || c == '<':
			toks = append(toks, token{kind: tOp, text: string(c), pos: i, end: i + 1})
			i++
			continue
		case c == '~':
			toks = append(toks, token{kind: tOp, text: "matches", pos: i, end: i + 1})
			i++
			continue
		case c == '!':
			toks = append(toks, token{kind: tNot, text: "!", pos: i, end: i + 1})
			i++
			continue
		case c == '=':
			return nil, errAt(i, 1, `"=" is not an operator: compare with "=="`)
		case c == '&' || c == '|':
			return nil, errAt(i, 1, `%q is not an operator: use "%c%c"`, string(c), c, c)
		case c == '(' || c == ')' || c == '{' || c == '}' || c == '[' || c == ']' || c == ',':
			k := map[byte]tokKind{'(': tLParen, ')': tRParen, '{': tLBrace, '}': tRBrace, '[': tLBracket, ']': tRBracket, ',': tComma}[c]
			toks = append(toks, token{kind: k, text: string(c), pos: i, end: i + 1})
			i++
			continue
		case c == '"' || (c == 'r' || c == 'R') && i+1 < len(expr) && expr[i+1] == '"':
			raw := c != '"'
			if raw {
				i++
			}
			s, n, err := lexString(expr, i, raw)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, text: s, pos: start, end: i + n})
			i += n
			continue
		case c == '\'':
			s, n, err := lexChar(expr, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tChar, text: s, pos: i, end: i + n})
			i += n
			continue
		case wordChar(c):
			for i < len(expr) && wordChar(expr[i]) {
				// ".." separates the ends of a range inside a set.
				if expr[i] == '.' && i+1 < len(expr) && expr[i+1] == '.' {
					break
				}
				i++
			}
			if i == start { // ".." itself
				toks = append(toks, token{kind: tRange, text: "..", pos: i, end: i + 2})
				i += 2
				continue
			}
			w := expr[start:i]
			t := token{kind: tWord, text: w, pos: start, end: i}
			switch w {
			case "and":
				t.kind = tAnd
			case "or":
				t.kind = tOr
			case "not":
				t.kind = tNot
			case "eq", "any_eq":
				t.kind, t.text = tOp, "=="
			case "ne", "all_ne":
				t.kind, t.text = tOp, "!="
			case "any_ne":
				t.kind, t.text = tOp, "~="
			case "all_eq":
				t.kind, t.text = tOp, "==="
			case "gt":
				t.kind, t.text = tOp, ">"
			case "lt":
				t.kind, t.text = tOp, "<"
			case "ge":
				t.kind, t.text = tOp, ">="
			case "le":
				t.kind, t.text = tOp, "<="
			case "contains", "matches", "in":
				t.kind = tOp
			}
			toks = append(toks, t)
			continue
		}
		return nil, errAt(i, 1, "unexpected character %q", string(c))
	}
	toks = append(toks, token{kind: tEOF, pos: len(expr), end: len(expr)})
	return toks, nil
}

// lexString reads a double-quoted string starting at expr[i] (the quote),
// decoding the escapes \\ \" \a \b \f \n \r \t \v \xHH and \OOO unless raw.
// It returns the value and the number of bytes read.
func lexString(expr string, i int, raw bool) (string, int, *Error) {
	var sb strings.Builder
	j := i + 1
	for j < len(expr) {
		c := expr[j]
		switch {
		case c == '"':
			return sb.String(), j + 1 - i, nil
		case c == '\\' && j+1 < len(expr):
			if raw {
				sb.WriteByte(c)
				sb.WriteByte(expr[j+1])
				j += 2
				continue
			}
			b, n, ok := unescape(expr[j+1:])
			if !ok {
				return "", 0, &Error{Expr: expr, Col: j + 1, Len: 2, Msg: fmt.Sprintf("unknown escape %q in a string", expr[j:j+2])}
			}
			sb.WriteByte(b)
			j += 1 + n
			continue
		}
		sb.WriteByte(c)
		j++
	}
	return "", 0, &Error{Expr: expr, Col: i + 1, Len: len(expr) - i, Msg: "the string has no closing quote"}
}

func unescape(s string) (byte, int, bool) {
	switch s[0] {
	case '\\', '"', '\'':
		return s[0], 1, true
	case 'a':
		return '\a', 1, true
	case 'b':
		return '\b', 1, true
	case 'f':
		return '\f', 1, true
	case 'n':
		return '\n', 1, true
	case 'r':
		return '\r', 1, true
	case 't':
		return '\t', 1, true
	case 'v':
		return '\v', 1, true
	case '0':
		if len(s) == 1 || s[1] < '0' || s[1] > '7' {
			return 0, 1, true
		}
	case 'x':
		v, n := 0, 0
		for n < 2 && 1+n < len(s) && hexVal(s[1+n]) >= 0 {
			v = v*16 + hexVal(s[1+n])
			n++
		}
		return byte(v), 1 + n, n > 0
	}
	if s[0] >= '0' && s[0] <= '7' {
		v, n := 0, 0
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v*8 + int(s[n]-'0')
			n++
		}
		return byte(v), n, v < 256
	}
	return 0, 0, false
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// lexChar reads a character constant such as 'a' or '\x41'.
func lexChar(expr string, i int) (string, int, *Error) {
	bad := &Error{Expr: expr, Col: i + 1, Len: 1, Msg: "a character constant is one character in single quotes, such as 'a' or '\\x41'"}
	j := i + 1
	if j >= len(expr) {
		return "", 0, bad
	}
	var b byte
	if expr[j] == '\\' && j+1 < len(expr) {
		v, n, ok := unescape(expr[j+1:])
		if !ok {
			return "", 0, bad
		}
		b = v
		j += 1 + n
	} else {
		b = expr[j]
		j++
	}
	if j >= len(expr) || expr[j] != '\'' {
		return "", 0, bad
	}
	return string([]byte{b}), j + 1 - i, nil
}
