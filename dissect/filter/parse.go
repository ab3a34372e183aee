package filter

import "fmt"

// The syntax tree, before fields and literals are typed.

type sExpr interface{ span() (int, int) }

type sBinary struct {
	and  bool
	l, r sExpr
}

type sNot struct {
	pos int
	x   sExpr
}

// sTest is a comparison, a membership test or, with no op, an existence
// test.
type sTest struct {
	lhs *sEntity
	op  token // kind tEOF when there is no operator
	rhs *sEntity
	set []sSetElem
	end int
}

type sSetElem struct {
	lo, hi *sEntity // hi is nil for a single value
}

type entKind uint8

const (
	eWord   entKind = iota // a field name or an unquoted literal
	eString                // a quoted string
	eChar                  // a character constant
	eCall                  // fn(args)
	eSlice                 // x[range]
)

type sEntity struct {
	kind entKind
	tok  token
	args []*sEntity // eCall
	x    *sEntity   // eSlice
	rng  token      // eSlice: the range text
	end  int
}

func (b *sBinary) span() (int, int) {
	s, _ := b.l.span()
	_, e := b.r.span()
	return s, e
}
func (n *sNot) span() (int, int)  { _, e := n.x.span(); return n.pos, e }
func (t *sTest) span() (int, int) { return t.lhs.tok.pos, t.end }

type parser struct {
	expr  string
	toks  []token
	i     int
	depth int
}

// maxDepth bounds the nesting of parentheses and negations, so that a
// hostile expression cannot exhaust the stack.
const maxDepth = 200

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) errAt(t token, format string, args ...any) *Error {
	n := t.end - t.pos
	return &Error{Expr: p.expr, Col: t.pos + 1, Len: n, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) unexpected(t token) *Error {
	if t.kind == tEOF {
		return &Error{Expr: p.expr, Col: len(p.expr) + 1, Len: 1, Msg: "the expression ends too early"}
	}
	return p.errAt(t, "%q was unexpected here", p.expr[t.pos:t.end])
}

func parse(expr string) (sExpr, *Error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{expr: expr, toks: toks}
	if p.peek().kind == tEOF {
		return nil, &Error{Expr: expr, Col: 1, Len: 1, Msg: "the filter is empty"}
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t)
	}
	return e, nil
}

// "and" binds tighter than "or", as in Wireshark.
func (p *parser) or() (sExpr, *Error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tOr {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &sBinary{l: l, r: r}
	}
	return l, nil
}

func (p *parser) and() (sExpr, *Error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tAnd {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &sBinary{and: true, l: l, r: r}
	}
	return l, nil
}

func (p *parser) unary() (sExpr, *Error) {
	t := p.peek()
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errAt(t, "the expression nests deeper than %d levels", maxDepth)
	}
	switch t.kind {
	case tNot:
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &sNot{pos: t.pos, x: x}, nil
	case tLParen:
		p.next()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			if c.kind == tEOF {
				return nil, p.errAt(t, "this parenthesis is not closed")
			}
			return nil, p.unexpected(c)
		}
		return x, nil
	}
	return p.test()
}

func (p *parser) test() (sExpr, *Error) {
	lhs, err := p.entity()
	if err != nil {
		return nil, err
	}
	t := &sTest{lhs: lhs, end: lhs.end}
	op := p.peek()
	if op.kind != tOp {
		return t, nil
	}
	p.next()
	t.op = op
	if op.text == "in" {
		open := p.next()
		if open.kind != tLBrace {
			return nil, p.errAt(open, `"in" needs a set in braces, such as {3, 8}`)
		}
		for {
			if p.peek().kind == tRBrace && len(t.set) == 0 {
				return nil, p.errAt(p.peek(), "the set is empty")
			}
			lo, err := p.entity()
			if err != nil {
				return nil, err
			}
			el := sSetElem{lo: lo}
			if p.peek().kind == tRange {
				p.next()
				hi, err := p.entity()
				if err != nil {
					return nil, err
				}
				el.hi = hi
			}
			t.set = append(t.set, el)
			c := p.next()
			if c.kind == tRBrace {
				t.end = c.end
				break
			}
			if c.kind != tComma {
				if c.kind == tWord || c.kind == tString || c.kind == tChar {
					return nil, p.errAt(c, "set elements are separated by commas: {3, 8}")
				}
				return nil, p.unexpected(c)
			}
		}
		return t, nil
	}
	rhs, err := p.entity()
	if err != nil {
		return nil, err
	}
	t.rhs = rhs
	t.end = rhs.end
	return t, nil
}

func (p *parser) entity() (*sEntity, *Error) {
	t := p.next()
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errAt(t, "the expression nests deeper than %d levels", maxDepth)
	}
	var e *sEntity
	switch t.kind {
	case tString:
		e = &sEntity{kind: eString, tok: t, end: t.end}
	case tChar:
		e = &sEntity{kind: eChar, tok: t, end: t.end}
	case tWord:
		e = &sEntity{kind: eWord, tok: t, end: t.end}
		if p.peek().kind == tLParen {
			p.next()
			e.kind = eCall
			for p.peek().kind != tRParen {
				a, err := p.entity()
				if err != nil {
					return nil, err
				}
				e.args = append(e.args, a)
				if p.peek().kind == tComma {
					p.next()
				} else if p.peek().kind != tRParen {
					return nil, p.unexpected(p.peek())
				}
			}
			e.end = p.next().end
		}
	default:
		return nil, p.unexpected(t)
	}
	for slices := 0; p.peek().kind == tLBracket; slices++ {
		if slices == 8 {
			return nil, p.errAt(p.peek(), "too many slices in a row")
		}
		p.next()
		r := p.next()
		if r.kind != tWord {
			return nil, p.errAt(r, "a slice is written [offset:length], [start-end] or [offset]")
		}
		c := p.next()
		if c.kind != tRBracket {
			return nil, p.unexpected(c)
		}
		e = &sEntity{kind: eSlice, tok: e.tok, x: e, rng: r, end: c.end}
	}
	return e, nil
}
