package wslua

import (
	"strconv"

	"github.com/yuin/gopher-lua/ast"
)

// gopher-lua (v1.1.2) compiles a multiple assignment to local variables by
// storing each value straight into its variable's register as soon as it is
// computed, so a later expression of the same statement reads the new value:
// `a, b = b, a` leaves both equal, and `a, b = f(a / 2), ...` can even see a
// function in a. Lua evaluates every expression before assigning any. This
// pass rewrites each multiple assignment
//
//	x, t[k], y = e1, e2, e3
//
// into
//
//	do local o1, k1 = t, k; local v1, v2, v3 = e1, e2, e3; x, o1[k1], y = v1, v2, v3 end
//
// which evaluates the targets' tables and keys first, then the values, as
// Lua 5.1 to 5.4 do, and assigns only from temporaries no target names.

// fixMultiAssign rewrites the multiple assignments of a block, including
// those in nested blocks and function bodies.
func fixMultiAssign(stmts []ast.Stmt) {
	m := &multiAssign{}
	m.block(stmts)
}

type multiAssign struct{ n int }

// temp returns a fresh local name no script can spell.
func (m *multiAssign) temp() string {
	m.n++
	return "(wslua tmp " + strconv.Itoa(m.n) + ")"
}

func (m *multiAssign) block(stmts []ast.Stmt) {
	for i, st := range stmts {
		m.stmt(st)
		if a, ok := st.(*ast.AssignStmt); ok && len(a.Lhs) > 1 {
			stmts[i] = m.rewrite(a)
		}
	}
}

func (m *multiAssign) rewrite(a *ast.AssignStmt) ast.Stmt {
	line, last := a.Line(), a.LastLine()
	pos := func(n interface {
		SetLine(int)
		SetLastLine(int)
	}) {
		n.SetLine(line)
		n.SetLastLine(last)
	}
	ident := func(name string) *ast.IdentExpr {
		e := &ast.IdentExpr{Value: name}
		pos(e)
		return e
	}
	var out []ast.Stmt
	// Tables and keys of indexed targets first.
	hoist := &ast.LocalAssignStmt{}
	pos(hoist)
	lhs := make([]ast.Expr, len(a.Lhs))
	for i, l := range a.Lhs {
		g, ok := l.(*ast.AttrGetExpr)
		if !ok {
			lhs[i] = l
			continue
		}
		obj, key := m.temp(), m.temp()
		hoist.Names = append(hoist.Names, obj, key)
		hoist.Exprs = append(hoist.Exprs, g.Object, g.Key)
		ng := &ast.AttrGetExpr{Object: ident(obj), Key: ident(key)}
		pos(ng)
		lhs[i] = ng
	}
	if len(hoist.Names) > 0 {
		out = append(out, hoist)
	}
	// Then every value, into temporaries (at least one per target, so a
	// call or ... at the end still fills them all).
	vals := &ast.LocalAssignStmt{Exprs: a.Rhs}
	pos(vals)
	n := max(len(a.Lhs), len(a.Rhs))
	rhs := make([]ast.Expr, len(a.Lhs))
	for i := 0; i < n; i++ {
		name := m.temp()
		vals.Names = append(vals.Names, name)
		if i < len(a.Lhs) {
			rhs[i] = ident(name)
		}
	}
	out = append(out, vals)
	assign := &ast.AssignStmt{Lhs: lhs, Rhs: rhs}
	pos(assign)
	out = append(out, assign)
	do := &ast.DoBlockStmt{Stmts: out}
	pos(do)
	return do
}

func (m *multiAssign) stmt(st ast.Stmt) {
	switch s := st.(type) {
	case *ast.AssignStmt:
		m.exprs(s.Lhs)
		m.exprs(s.Rhs)
	case *ast.LocalAssignStmt:
		m.exprs(s.Exprs)
	case *ast.FuncCallStmt:
		m.expr(s.Expr)
	case *ast.DoBlockStmt:
		m.block(s.Stmts)
	case *ast.WhileStmt:
		m.expr(s.Condition)
		m.block(s.Stmts)
	case *ast.RepeatStmt:
		m.block(s.Stmts)
		m.expr(s.Condition)
	case *ast.IfStmt:
		m.expr(s.Condition)
		m.block(s.Then)
		m.block(s.Else)
	case *ast.NumberForStmt:
		m.expr(s.Init)
		m.expr(s.Limit)
		m.expr(s.Step)
		m.block(s.Stmts)
	case *ast.GenericForStmt:
		m.exprs(s.Exprs)
		m.block(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			m.expr(s.Name.Func)
			m.expr(s.Name.Receiver)
		}
		if s.Func != nil {
			m.block(s.Func.Stmts)
		}
	case *ast.ReturnStmt:
		m.exprs(s.Exprs)
	}
}

func (m *multiAssign) exprs(es []ast.Expr) {
	for _, e := range es {
		m.expr(e)
	}
}

func (m *multiAssign) expr(e ast.Expr) {
	switch x := e.(type) {
	case *ast.FunctionExpr:
		m.block(x.Stmts)
	case *ast.FuncCallExpr:
		m.expr(x.Func)
		m.expr(x.Receiver)
		m.exprs(x.Args)
	case *ast.AttrGetExpr:
		m.expr(x.Object)
		m.expr(x.Key)
	case *ast.TableExpr:
		for _, f := range x.Fields {
			m.expr(f.Key)
			m.expr(f.Value)
		}
	case *ast.LogicalOpExpr:
		m.expr(x.Lhs)
		m.expr(x.Rhs)
	case *ast.RelationalOpExpr:
		m.expr(x.Lhs)
		m.expr(x.Rhs)
	case *ast.StringConcatOpExpr:
		m.expr(x.Lhs)
		m.expr(x.Rhs)
	case *ast.ArithmeticOpExpr:
		m.expr(x.Lhs)
		m.expr(x.Rhs)
	case *ast.UnaryMinusOpExpr:
		m.expr(x.Expr)
	case *ast.UnaryNotOpExpr:
		m.expr(x.Expr)
	case *ast.UnaryLenOpExpr:
		m.expr(x.Expr)
	}
}
