package wslua

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// Lua 5.4 distinguishes integers from floats: 6/2 is the float 3.0 and
// prints as "3.0", where Lua 5.1/5.2 print "3". gopher-lua has only
// float64 numbers, so the 4.4 profile approximates the difference at
// compile time: expressions that are floats in Lua 5.4 by construction
// (a "/" or "^", a float literal, arithmetic on those, and locals assigned
// from them) are wrapped in a conversion to Lua 5.4's float text where
// they reach text: operands of "..", arguments of tostring, print,
// string.format, and of the TreeItem/Column text methods. Floats that flow
// through tables, function parameters or globals are not tracked.

const floatTextFn = "__wslua_float54"

// float54Text formats a number as Lua 5.4's tostring of a float.
func float54Text(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', 14, 64)
	if strings.Contains(s, "e") {
		// C's %.14g writes at least two exponent digits.
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[0]
		digits := exp[1:]
		if len(digits) < 2 {
			digits = "0" + digits
		}
		return mant + "e" + string(sign) + digits
	}
	if !strings.ContainsAny(s, ".n") {
		s += ".0"
	}
	return s
}

func (s *State) registerFloat54() {
	s.L.G.Global.RawSetString(floatTextFn, s.L.NewFunction(func(L *lua.LState) int {
		v := L.Get(1)
		if n, ok := v.(lua.LNumber); ok {
			L.Push(lua.LString(float54Text(float64(n))))
			return 1
		}
		L.Push(v)
		return 1
	}))
}

type floatScope struct {
	vars   map[string]bool
	parent *floatScope
}

func (sc *floatScope) lookup(name string) bool {
	for x := sc; x != nil; x = x.parent {
		if v, ok := x.vars[name]; ok {
			return v
		}
	}
	return false
}

func (sc *floatScope) set(name string, isFloat bool) {
	for x := sc; x != nil; x = x.parent {
		if _, ok := x.vars[name]; ok {
			x.vars[name] = isFloat
			return
		}
	}
}

type float54 struct{}

func (f float54) block(stmts []ast.Stmt, parent *floatScope) {
	sc := &floatScope{vars: map[string]bool{}, parent: parent}
	for _, st := range stmts {
		f.stmt(st, sc)
	}
}

func (f float54) stmt(st ast.Stmt, sc *floatScope) {
	switch s := st.(type) {
	case *ast.AssignStmt:
		f.exprs(s.Lhs, sc)
		f.exprs(s.Rhs, sc)
		for i, l := range s.Lhs {
			if id, ok := l.(*ast.IdentExpr); ok {
				sc.set(id.Value, i < len(s.Rhs) && f.isFloat(s.Rhs[i], sc))
			}
		}
	case *ast.LocalAssignStmt:
		f.exprs(s.Exprs, sc)
		for i, n := range s.Names {
			sc.vars[n] = i < len(s.Exprs) && f.isFloat(s.Exprs[i], sc)
		}
	case *ast.FuncCallStmt:
		f.expr(&s.Expr, sc)
	case *ast.DoBlockStmt:
		f.block(s.Stmts, sc)
	case *ast.WhileStmt:
		f.expr(&s.Condition, sc)
		f.block(s.Stmts, sc)
	case *ast.RepeatStmt:
		f.block(s.Stmts, sc)
		f.expr(&s.Condition, sc)
	case *ast.IfStmt:
		f.expr(&s.Condition, sc)
		f.block(s.Then, sc)
		f.block(s.Else, sc)
	case *ast.NumberForStmt:
		f.expr(&s.Init, sc)
		f.expr(&s.Limit, sc)
		if s.Step != nil {
			f.expr(&s.Step, sc)
		}
		inner := &floatScope{vars: map[string]bool{s.Name: f.isFloat(s.Init, sc) || (s.Step != nil && f.isFloat(s.Step, sc))}, parent: sc}
		f.block(s.Stmts, inner)
	case *ast.GenericForStmt:
		f.exprs(s.Exprs, sc)
		inner := &floatScope{vars: map[string]bool{}, parent: sc}
		for _, n := range s.Names {
			inner.vars[n] = false
		}
		f.block(s.Stmts, inner)
	case *ast.FuncDefStmt:
		f.function(s.Func, sc)
	case *ast.ReturnStmt:
		f.exprs(s.Exprs, sc)
	}
}

func (f float54) function(fn *ast.FunctionExpr, sc *floatScope) {
	inner := &floatScope{vars: map[string]bool{}, parent: sc}
	if fn.ParList != nil {
		for _, n := range fn.ParList.Names {
			inner.vars[n] = false
		}
	}
	f.block(fn.Stmts, inner)
}

func (f float54) exprs(es []ast.Expr, sc *floatScope) {
	for i := range es {
		f.expr(&es[i], sc)
	}
}

// isFloat reports whether e is a float in Lua 5.4 by construction.
func (f float54) isFloat(e ast.Expr, sc *floatScope) bool {
	switch x := e.(type) {
	case *ast.NumberExpr:
		v := strings.ToLower(x.Value)
		return !strings.HasPrefix(v, "0x") && strings.ContainsAny(v, ".e")
	case *ast.ArithmeticOpExpr:
		if x.Operator == "/" || x.Operator == "^" {
			return true
		}
		return f.isFloat(x.Lhs, sc) || f.isFloat(x.Rhs, sc)
	case *ast.UnaryMinusOpExpr:
		return f.isFloat(x.Expr, sc)
	case *ast.IdentExpr:
		return sc.lookup(x.Value)
	}
	return false
}

func (f float54) wrap(e *ast.Expr, sc *floatScope) {
	if !f.isFloat(*e, sc) {
		return
	}
	orig := *e
	call := &ast.FuncCallExpr{Func: &ast.IdentExpr{Value: floatTextFn}, Args: []ast.Expr{orig}}
	call.SetLine(orig.Line())
	call.SetLastLine(orig.LastLine())
	call.Func.SetLine(orig.Line())
	*e = call
}

var textMethods = map[string]bool{"append_text": true, "set_text": true, "prepend_text": true, "set": true, "append": true, "prepend": true, "add": true, "add_le": true, "add_expert_info": true}

func (f float54) expr(e *ast.Expr, sc *floatScope) {
	switch x := (*e).(type) {
	case *ast.StringConcatOpExpr:
		f.expr(&x.Lhs, sc)
		f.expr(&x.Rhs, sc)
		f.wrap(&x.Lhs, sc)
		f.wrap(&x.Rhs, sc)
	case *ast.FuncCallExpr:
		if x.Func != nil {
			f.expr(&x.Func, sc)
		}
		if x.Receiver != nil {
			f.expr(&x.Receiver, sc)
		}
		f.exprs(x.Args, sc)
		name := ""
		switch fn := x.Func.(type) {
		case *ast.IdentExpr:
			name = fn.Value
		case *ast.AttrGetExpr:
			if obj, ok := fn.Object.(*ast.IdentExpr); ok {
				if key, ok := fn.Key.(*ast.StringExpr); ok {
					name = obj.Value + "." + key.Value
				}
			}
		}
		switch {
		case name == "string.format":
			// Only %s arguments of a literal format become text.
			if lit, ok := firstArg(x).(*ast.StringExpr); ok {
				for i, conv := range formatConversions(lit.Value) {
					if conv == 's' && i+1 < len(x.Args) {
						f.wrap(&x.Args[i+1], sc)
					}
				}
			}
		case name == "tostring" || name == "print" || name == "io.write":
			for i := range x.Args {
				f.wrap(&x.Args[i], sc)
			}
		case x.Receiver != nil && textMethods[x.Method]:
			// Text arguments of TreeItem/Column methods; for add() only
			// the arguments after a value (index >= 3) are labels, but a
			// float value for an integer field is an error in 5.4 anyway.
			first := 0
			if x.Method == "add" || x.Method == "add_le" {
				first = 3
			}
			for i := first; i < len(x.Args); i++ {
				f.wrap(&x.Args[i], sc)
			}
		}
	case *ast.ArithmeticOpExpr:
		f.expr(&x.Lhs, sc)
		f.expr(&x.Rhs, sc)
	case *ast.LogicalOpExpr:
		f.expr(&x.Lhs, sc)
		f.expr(&x.Rhs, sc)
	case *ast.RelationalOpExpr:
		f.expr(&x.Lhs, sc)
		f.expr(&x.Rhs, sc)
	case *ast.UnaryMinusOpExpr:
		f.expr(&x.Expr, sc)
	case *ast.UnaryNotOpExpr:
		f.expr(&x.Expr, sc)
	case *ast.UnaryLenOpExpr:
		f.expr(&x.Expr, sc)
	case *ast.AttrGetExpr:
		f.expr(&x.Object, sc)
		f.expr(&x.Key, sc)
	case *ast.TableExpr:
		for _, fl := range x.Fields {
			if fl.Key != nil {
				f.expr(&fl.Key, sc)
			}
			f.expr(&fl.Value, sc)
		}
	case *ast.FunctionExpr:
		f.function(x, sc)
	}
}

func firstArg(c *ast.FuncCallExpr) ast.Expr {
	if len(c.Args) == 0 {
		return nil
	}
	return c.Args[0]
}

// formatConversions lists the conversion letters of a string.format
// format, one per argument.
func formatConversions(f string) []byte {
	var out []byte
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		for i < len(f) && strings.IndexByte("-+ #0123456789.", f[i]) >= 0 {
			i++
		}
		if i < len(f) {
			out = append(out, f[i])
		}
	}
	return out
}
