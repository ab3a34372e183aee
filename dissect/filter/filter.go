package filter

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/mqttdissect/mqttdissect/dissect"
)

// Filter is a compiled display filter. A Filter is not safe for concurrent
// use.
type Filter struct {
	expr string
	root node
	one  [1]*dissect.PDU
}

// String returns the expression the filter was compiled from.
func (f *Filter) String() string { return f.expr }

// Match reports whether the filter keeps the frame whose MQTT packets are
// pdus: a field occurs when any of the packets carries it.
func (f *Filter) Match(pdus []*dissect.PDU) bool { return f.root.eval(pdus) }

// MatchPDU reports whether the filter keeps one MQTT packet.
func (f *Filter) MatchPDU(p *dissect.PDU) bool {
	f.one[0] = p
	ok := f.root.eval(f.one[:])
	f.one[0] = nil
	return ok
}

// Compile parses and types a display filter. Errors are *Error, with the
// column of the mistake.
func Compile(expr string) (*Filter, error) {
	s, err := parse(expr)
	if err != nil {
		return nil, err
	}
	c := &compiler{src: expr}
	root, err := c.expr(s)
	if err != nil {
		return nil, err
	}
	return &Filter{expr: expr, root: root}, nil
}

// Predicate returns a filter made of a Go function, for conditions the
// filter language cannot state (the state of the packet's connection).
func Predicate(name string, fn func(pdus []*dissect.PDU) bool) *Filter {
	return &Filter{expr: name, root: funcNode(fn)}
}

// And returns a filter that holds when all of fs hold; nil filters are
// skipped, and nil is returned when none is left.
func And(fs ...*Filter) *Filter {
	var out *Filter
	for _, f := range fs {
		switch {
		case f == nil:
		case out == nil:
			out = f
		default:
			out = &Filter{expr: "(" + out.expr + ") && (" + f.expr + ")", root: andNode{out.root, f.root}}
		}
	}
	return out
}

// Or returns a filter that holds when any of fs holds (nil when fs is
// empty).
func Or(fs ...*Filter) *Filter {
	var out *Filter
	for _, f := range fs {
		switch {
		case f == nil:
		case out == nil:
			out = f
		default:
			out = &Filter{expr: "(" + out.expr + ") || (" + f.expr + ")", root: orNode{out.root, f.root}}
		}
	}
	return out
}

type node interface {
	eval(pdus []*dissect.PDU) bool
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ x node }
type funcNode func([]*dissect.PDU) bool

func (n andNode) eval(p []*dissect.PDU) bool  { return n.l.eval(p) && n.r.eval(p) }
func (n orNode) eval(p []*dissect.PDU) bool   { return n.l.eval(p) || n.r.eval(p) }
func (n notNode) eval(p []*dissect.PDU) bool  { return !n.x.eval(p) }
func (n funcNode) eval(p []*dissect.PDU) bool { return n(p) }

// valuer yields the occurrences of one side of a test.
type valuer interface {
	each(pdus []*dissect.PDU, fn func(v *val) bool) bool
}

type existsNode struct{ v valuer }

func (n existsNode) eval(p []*dissect.PDU) bool {
	if d, ok := n.v.(*fieldDef); ok && d.src == pSpec {
		for _, pdu := range p {
			nodes := pdu.Packet.Nodes
			for i := range nodes {
				if d.has(nodes[i].Field.Index()) {
					return true
				}
			}
		}
		return false
	}
	return n.v.each(p, func(*val) bool { return true })
}

// op is a comparison.
type op uint8

const (
	opEq    op = iota // any equal
	opAllNe           // present, and no occurrence equal
	opAnyNe           // some occurrence differs
	opAllEq           // present, and every occurrence equal
	opGt
	opLt
	opGe
	opLe
	opContains
	opMatches
)

// cmpNode compares the occurrences of a field with a constant.
type cmpNode struct {
	v    valuer
	k    kind
	op   op
	c    val
	re   *regexp.Regexp
	rhs  valuer // when the right side is a field too
	rset []setElem
}

type setElem struct {
	lo, hi val
	rng    bool
}

func (n *cmpNode) eval(p []*dissect.PDU) bool {
	if d, ok := n.v.(*fieldDef); ok && d.src == pSpec && n.rhs == nil {
		return n.evalNodes(d, p)
	}
	switch {
	case n.rset != nil:
		return n.v.each(p, func(v *val) bool {
			for i := range n.rset {
				e := &n.rset[i]
				if e.rng {
					if compare(n.k, v, &e.lo) >= 0 && compare(n.k, v, &e.hi) <= 0 {
						return true
					}
				} else if equal(n.k, v, &e.lo) {
					return true
				}
			}
			return false
		})
	case n.rhs != nil && (n.op == opAllNe || n.op == opAllEq):
		// Every pair must differ (all_ne) or be equal (all_eq).
		pairs, failed := 0, false
		n.v.each(p, func(a *val) bool {
			return n.rhs.each(p, func(b *val) bool {
				pairs++
				failed = equal(n.k, a, b) == (n.op == opAllNe)
				return failed
			})
		})
		return pairs > 0 && !failed
	case n.rhs != nil:
		return n.v.each(p, func(a *val) bool {
			return n.rhs.each(p, func(b *val) bool { return n.test(a, b) })
		})
	}
	switch n.op {
	case opAllNe, opAllEq:
		present, failed := false, false
		n.v.each(p, func(v *val) bool {
			present = true
			eq := equal(n.k, v, &n.c)
			if eq == (n.op == opAllNe) {
				failed = true
				return true
			}
			return false
		})
		return present && !failed
	}
	return n.v.each(p, func(v *val) bool { return n.test(v, &n.c) })
}

// evalNodes is eval for a field of the table, walking the nodes without
// closures: the common case, kept free of allocations.
func (n *cmpNode) evalNodes(d *fieldDef, pdus []*dissect.PDU) bool {
	all := n.op == opAllNe || n.op == opAllEq
	present := false
	for _, pdu := range pdus {
		nodes := pdu.Packet.Nodes
		for i := range nodes {
			nd := &nodes[i]
			if !d.has(nd.Field.Index()) {
				continue
			}
			present = true
			v := val{u: nd.Uint, n: nd.Len}
			if d.kind == kStr {
				v.b = textBytes(nd.Raw)
			} else if d.kind == kBytes {
				v.b = nd.Raw
			}
			if n.rset != nil {
				if n.inSet(&v) {
					return true
				}
				continue
			}
			if all {
				if equal(n.k, &v, &n.c) == (n.op == opAllNe) {
					return false
				}
				continue
			}
			if n.test(&v, &n.c) {
				return true
			}
		}
	}
	return all && present
}

func (n *cmpNode) inSet(v *val) bool {
	for i := range n.rset {
		e := &n.rset[i]
		if e.rng {
			if compare(n.k, v, &e.lo) >= 0 && compare(n.k, v, &e.hi) <= 0 {
				return true
			}
		} else if equal(n.k, v, &e.lo) {
			return true
		}
	}
	return false
}

func (n *cmpNode) test(a, b *val) bool {
	switch n.op {
	case opEq, opAllEq:
		return equal(n.k, a, b)
	case opAllNe, opAnyNe:
		return !equal(n.k, a, b)
	case opGt:
		return compare(n.k, a, b) > 0
	case opLt:
		return compare(n.k, a, b) < 0
	case opGe:
		return compare(n.k, a, b) >= 0
	case opLe:
		return compare(n.k, a, b) <= 0
	case opContains:
		return bytes.Contains(a.b, b.b)
	case opMatches:
		return n.re.Match(a.b)
	}
	return false
}

func equal(k kind, a, b *val) bool {
	if k == kAddr && b.pfx.IsValid() {
		return b.pfx.Contains(a.a)
	}
	if k == kAddr && a.pfx.IsValid() {
		return a.pfx.Contains(b.a)
	}
	return compare(k, a, b) == 0
}

func compare(k kind, a, b *val) int {
	switch k {
	case kStr, kBytes, kNone:
		return bytes.Compare(a.b, b.b)
	case kAddr:
		return a.a.Compare(b.a)
	}
	switch {
	case a.neg && b.neg:
		return cmpUint(b.u, a.u)
	case a.neg:
		return -1
	case b.neg:
		return 1
	}
	return cmpUint(a.u, b.u)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Entities that are not plain fields.

type sliceValuer struct {
	x     valuer
	start int
	end   int // exclusive; math.MaxInt for "to the end"
}

func (s *sliceValuer) each(p []*dissect.PDU, fn func(v *val) bool) bool {
	return s.x.each(p, func(v *val) bool {
		n := len(v.b)
		start, end := s.start, s.end
		if start < 0 {
			start += n
		}
		if end < 0 {
			end += n
		} else if end == math.MaxInt {
			end = n
		}
		if start < 0 || end > n || start >= end {
			return false // Wireshark: the slice does not exist
		}
		w := val{b: v.b[start:end], n: end - start}
		return fn(&w)
	})
}

type lenValuer struct{ x valuer }

func (l lenValuer) each(p []*dissect.PDU, fn func(v *val) bool) bool {
	return l.x.each(p, func(v *val) bool {
		n := v.n
		if v.b != nil {
			n = len(v.b)
		}
		w := val{u: uint64(n)}
		return fn(&w)
	})
}

type countValuer struct{ x valuer }

func (c countValuer) each(p []*dissect.PDU, fn func(v *val) bool) bool {
	n := 0
	c.x.each(p, func(*val) bool { n++; return false })
	w := val{u: uint64(n)}
	return fn(&w)
}

type caseValuer struct {
	x     valuer
	upper bool
}

func (c caseValuer) each(p []*dissect.PDU, fn func(v *val) bool) bool {
	return c.x.each(p, func(v *val) bool {
		w := *v
		if c.upper {
			w.b = bytes.ToUpper(v.b)
		} else {
			w.b = bytes.ToLower(v.b)
		}
		return fn(&w)
	})
}

// The compiler types the syntax tree against the field catalogue.

type compiler struct{ src string }

func (c *compiler) errAt(pos, end int, format string, args ...any) *Error {
	if end <= pos {
		end = pos + 1
	}
	return &Error{Expr: c.src, Col: pos + 1, Len: end - pos, Msg: fmt.Sprintf(format, args...)}
}

func (c *compiler) expr(s sExpr) (node, *Error) {
	switch s := s.(type) {
	case *sBinary:
		l, err := c.expr(s.l)
		if err != nil {
			return nil, err
		}
		r, err := c.expr(s.r)
		if err != nil {
			return nil, err
		}
		if s.and {
			return andNode{l, r}, nil
		}
		return orNode{l, r}, nil
	case *sNot:
		x, err := c.expr(s.x)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case *sTest:
		return c.test(s)
	}
	panic("filter: unknown syntax node")
}

// operand is a typed side of a test: a valuer, or a literal still to be
// converted to the other side's kind.
type operand struct {
	v   valuer
	k   kind
	def *fieldDef // for value names, booleans and widths; nil for functions
	lit *sEntity
}

func (c *compiler) operand(e *sEntity) (operand, *Error) {
	switch e.kind {
	case eString, eChar:
		return operand{lit: e}, nil
	case eWord:
		if d, ok := catalogue[e.tok.text]; ok {
			return operand{v: d, k: d.kind, def: d}, nil
		}
		return operand{lit: e}, nil
	case eSlice:
		x, err := c.operand(e.x)
		if err != nil {
			return x, err
		}
		if x.v == nil {
			return x, c.errAt(e.tok.pos, e.end, "only a field can be sliced")
		}
		if x.k != kStr && x.k != kBytes {
			return x, c.errAt(e.tok.pos, e.end, "%s is %s and cannot be sliced", e.x.tok.text, x.k)
		}
		sv, err := c.sliceRange(e.rng, x.v)
		if err != nil {
			return x, err
		}
		return operand{v: sv, k: kBytes}, nil
	case eCall:
		name := e.tok.text
		if len(e.args) != 1 {
			return operand{}, c.errAt(e.tok.pos, e.end, "%s() takes one field", name)
		}
		x, err := c.operand(e.args[0])
		if err != nil {
			return x, err
		}
		if x.v == nil {
			a := e.args[0]
			return x, c.errAt(a.tok.pos, a.end, "%s() takes a field, not %q", name, a.tok.text)
		}
		switch name {
		case "len":
			return operand{v: lenValuer{x.v}, k: kUint}, nil
		case "count":
			return operand{v: countValuer{x.v}, k: kUint}, nil
		case "lower", "upper":
			if x.k != kStr {
				return x, c.errAt(e.tok.pos, e.end, "%s() takes a text field", name)
			}
			return operand{v: caseValuer{x.v, name == "upper"}, k: kStr}, nil
		}
		return operand{}, c.errAt(e.tok.pos, e.tok.end, "unknown function %s() (len, count, lower and upper are known)", name)
	}
	return operand{}, c.errAt(e.tok.pos, e.end, "unexpected %q", e.tok.text)
}

func (c *compiler) sliceRange(r token, x valuer) (*sliceValuer, *Error) {
	bad := c.errAt(r.pos, r.end, "%q is not a slice: write [offset:length], [start-end], [offset] or [offset:]", r.text)
	s := &sliceValuer{x: x}
	txt := r.text
	num := func(t string) (int, bool) {
		n, err := strconv.Atoi(t)
		return n, err == nil && n > -1<<20 && n < 1<<20
	}
	switch {
	case strings.Contains(txt, ":"):
		a, b, _ := strings.Cut(txt, ":")
		start := 0
		if a != "" {
			v, ok := num(a)
			if !ok {
				return nil, bad
			}
			start = v
		}
		s.start, s.end = start, math.MaxInt
		if b != "" {
			n, ok := num(b)
			if !ok || n <= 0 {
				return nil, bad
			}
			if start < 0 && start+n > 0 {
				return nil, bad
			}
			s.end = start + n
			if start < 0 && s.end == 0 {
				s.end = math.MaxInt
			}
		}
	case strings.Count(txt, "-") == 1 && !strings.HasPrefix(txt, "-"):
		a, b, _ := strings.Cut(txt, "-")
		x, ok1 := num(a)
		y, ok2 := num(b)
		if !ok1 || !ok2 || y < x {
			return nil, bad
		}
		s.start, s.end = x, y+1
	default:
		v, ok := num(txt)
		if !ok {
			return nil, bad
		}
		s.start, s.end = v, v+1
		if v == -1 {
			s.end = math.MaxInt
		}
	}
	return s, nil
}

var opNames = map[string]op{
	"==": opEq, "!=": opAllNe, "~=": opAnyNe, "!==": opAnyNe, "===": opAllEq,
	">": opGt, "<": opLt, ">=": opGe, "<=": opLe, "contains": opContains, "matches": opMatches,
}

// mirror is the operator with its sides swapped.
var mirror = map[op]op{opGt: opLt, opLt: opGt, opGe: opLe, opLe: opGe}

func (c *compiler) test(t *sTest) (node, *Error) {
	lhs, err := c.operand(t.lhs)
	if err != nil {
		return nil, err
	}
	if t.op.kind == tEOF {
		if lhs.v == nil {
			return nil, c.errAt(t.lhs.tok.pos, t.lhs.end, "%s", unknownField(t.lhs.tok.text))
		}
		return existsNode{lhs.v}, nil
	}
	if t.op.text == "in" {
		if lhs.v == nil {
			return nil, c.errAt(t.lhs.tok.pos, t.lhs.end, "the left side of \"in\" must be a field: %s", unknownField(t.lhs.tok.text))
		}
		n := &cmpNode{v: lhs.v, k: lhs.k}
		for _, el := range t.set {
			var e setElem
			if e.lo, err = c.literal(el.lo, lhs); err != nil {
				return nil, err
			}
			if el.hi != nil {
				if e.hi, err = c.literal(el.hi, lhs); err != nil {
					return nil, err
				}
				e.rng = true
			}
			n.rset = append(n.rset, e)
		}
		return n, nil
	}
	o := opNames[t.op.text]
	rhs, err := c.operand(t.rhs)
	if err != nil {
		return nil, err
	}
	if lhs.v == nil && rhs.v == nil {
		return nil, c.errAt(t.lhs.tok.pos, t.lhs.end, "%s", unknownField(t.lhs.tok.text))
	}
	if lhs.v == nil { // literal on the left: swap the sides
		if o == opContains || o == opMatches {
			return nil, c.errAt(t.lhs.tok.pos, t.lhs.end, "the left side of %q must be a field: %s", t.op.text, unknownField(t.lhs.tok.text))
		}
		lhs, rhs = rhs, lhs
		t = &sTest{lhs: t.rhs, op: t.op, rhs: t.lhs, end: t.end}
		if m, ok := mirror[o]; ok {
			o = m
		}
	}
	if err := c.checkOp(t, o, lhs); err != nil {
		return nil, err
	}
	n := &cmpNode{v: lhs.v, k: lhs.k, op: o}
	if rhs.v != nil {
		if !compatible(lhs.k, rhs.k) {
			return nil, c.errAt(t.rhs.tok.pos, t.rhs.end, "%s is %s and %s is %s: they cannot be compared", t.lhs.tok.text, lhs.k, t.rhs.tok.text, rhs.k)
		}
		if o == opMatches {
			return nil, c.errAt(t.rhs.tok.pos, t.rhs.end, "\"matches\" takes a regular expression in quotes")
		}
		n.rhs = rhs.v
		return n, nil
	}
	if o == opMatches {
		if t.rhs.kind != eString && t.rhs.kind != eWord {
			return nil, c.errAt(t.rhs.tok.pos, t.rhs.end, "\"matches\" takes a regular expression in quotes")
		}
		// Wireshark's regular expressions are case-insensitive unless the
		// pattern says otherwise ((?-i)).
		re, rerr := regexp.Compile("(?i)" + t.rhs.tok.text)
		if rerr != nil {
			return nil, c.errAt(t.rhs.tok.pos, t.rhs.end, "not a regular expression mqttdissect can use (Go's RE2 syntax): %v", rerr)
		}
		n.re = re
		return n, nil
	}
	k := lhs
	if o == opContains && (lhs.k == kNone) {
		k.k = kBytes
	}
	if n.c, err = c.literal(t.rhs, k); err != nil {
		return nil, err
	}
	return n, nil
}

func compatible(a, b kind) bool {
	num := func(k kind) bool { return k == kUint || k == kBool }
	bin := func(k kind) bool { return k == kStr || k == kBytes || k == kNone }
	return a == b || num(a) && num(b) || bin(a) && bin(b)
}

func (c *compiler) checkOp(t *sTest, o op, lhs operand) *Error {
	name := t.lhs.tok.text
	switch o {
	case opContains, opMatches:
		if lhs.k != kStr && lhs.k != kBytes && !(lhs.def != nil && lhs.def.src == pMQTT) {
			return c.errAt(t.op.pos, t.op.end, "%s is %s: %q applies to text and byte strings", name, lhs.k, t.op.text)
		}
	case opGt, opLt, opGe, opLe:
		if lhs.k == kNone {
			return c.errAt(t.op.pos, t.op.end, "%s is %s: it can only be tested for presence", name, lhs.k)
		}
	default:
		if lhs.k == kNone && !(lhs.def != nil && lhs.def.src == pMQTT) {
			return c.errAt(t.op.pos, t.op.end, "%s is %s: it can only be tested for presence", name, lhs.k)
		}
	}
	return nil
}

// literal converts a literal to the kind of the field it is compared with.
func (c *compiler) literal(e *sEntity, to operand) (val, *Error) {
	if e.kind != eString && e.kind != eChar && e.kind != eWord {
		return val{}, c.errAt(e.tok.pos, e.end, "a value was expected here")
	}
	if e.kind == eWord {
		if _, isField := catalogue[e.tok.text]; isField {
			return val{}, c.errAt(e.tok.pos, e.end, "a value was expected here, not the field %s", e.tok.text)
		}
	}
	txt := e.tok.text
	bad := func(format string, args ...any) (val, *Error) {
		return val{}, c.errAt(e.tok.pos, e.end, format, args...)
	}
	fieldName := "the field"
	if to.def != nil {
		fieldName = to.def.name
	}
	switch to.k {
	case kUint, kBool:
		if e.kind == eChar {
			return val{u: uint64(txt[0])}, nil
		}
		if to.k == kBool {
			switch strings.ToLower(txt) {
			case "true", "1":
				return val{u: 1}, nil
			case "false", "0":
				return val{u: 0}, nil
			}
		}
		if e.kind == eWord {
			if strings.HasPrefix(txt, "-") {
				if u, err := strconv.ParseUint(txt[1:], 0, 64); err == nil {
					return val{u: u, neg: u != 0}, nil
				}
			}
			if u, err := strconv.ParseUint(txt, 0, 64); err == nil {
				if to.def != nil && to.def.bits > 0 && to.def.bits < 64 && u >= 1<<to.def.bits {
					return bad("%s is too large for %s (%d bits)", txt, fieldName, to.def.bits)
				}
				return val{u: u}, nil
			}
		}
		if to.def != nil && to.def.values != nil {
			for _, vn := range to.def.values.Entries {
				if strings.EqualFold(vn.Name, txt) {
					return val{u: uint64(vn.Value)}, nil
				}
			}
			return bad("%q is not a number nor one of the value names of %s", txt, fieldName)
		}
		if to.k == kBool {
			if strings.EqualFold(txt, "Set") {
				return val{u: 1}, nil
			}
			if strings.EqualFold(txt, "Not set") {
				return val{u: 0}, nil
			}
			return bad("%q is not a boolean: write True, False, 1 or 0", txt)
		}
		return bad("%q is not a number", txt)
	case kStr:
		return val{b: []byte(txt)}, nil
	case kBytes, kNone:
		if e.kind != eWord {
			return val{b: []byte(txt)}, nil
		}
		b, ok := parseBytes(txt)
		if !ok {
			return bad("%q is not a byte string: write hex bytes such as aa:bb:cc, or text in double quotes", txt)
		}
		return val{b: b}, nil
	case kAddr:
		if a, err := netip.ParseAddr(txt); err == nil {
			return val{a: a.Unmap()}, nil
		}
		if p, err := netip.ParsePrefix(txt); err == nil {
			return val{pfx: p.Masked()}, nil
		}
		return bad("%q is not an IP address or network (such as 10.0.0.1 or 10.0.0.0/8)", txt)
	case kTime:
		ns, ok := parseEpoch(txt)
		if !ok {
			return bad("%q is not a time: write seconds since the epoch, such as 1700000000.25", txt)
		}
		return val{u: ns}, nil
	}
	return bad("cannot compare %s with a value", fieldName)
}

// parseBytes reads hex bytes separated by ':', '-' or '.', or unseparated.
func parseBytes(s string) ([]byte, bool) {
	var out []byte
	sep := byte(0)
	for i := 0; i < len(s); {
		if i > 0 {
			c := s[i]
			if c == ':' || c == '-' || c == '.' {
				if sep != 0 && sep != c {
					return nil, false
				}
				sep = c
				i++
			} else if sep != 0 {
				return nil, false
			}
		}
		if i+1 < len(s) && hexVal(s[i]) >= 0 && hexVal(s[i+1]) >= 0 {
			out = append(out, byte(hexVal(s[i])<<4|hexVal(s[i+1])))
			i += 2
			continue
		}
		isSep := func(c byte) bool { return c == ':' || c == '-' || c == '.' }
		if hexVal(s[i]) >= 0 && (sep != 0 && i+1 == len(s) || i+1 < len(s) && isSep(s[i+1])) {
			out = append(out, byte(hexVal(s[i])))
			i++
			continue
		}
		return nil, false
	}
	return out, len(out) > 0
}

func parseEpoch(s string) (uint64, bool) {
	sec, frac, _ := strings.Cut(s, ".")
	u, err := strconv.ParseUint(sec, 10, 34)
	if err != nil || len(frac) > 9 {
		return 0, false
	}
	ns := u * 1e9
	if frac != "" {
		f, err := strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return 0, false
		}
		ns += f
	}
	return ns, true
}
