package script

import (
	"errors"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// maxSyntaxLevels bounds how deeply a chunk may nest blocks and
// expressions. Lua 5.1 stops at LUAI_MAXCCALLS (200) C levels with "chunk
// has too many syntax levels"; gopher-lua's compiler recurses on the syntax
// tree without a bound, so a pathological script could exhaust the Go
// stack. Chains Lua parses in a loop (elseif, left-associative operators)
// do not count.
const maxSyntaxLevels = 1000

// compile parses and compiles a chunk; name is how error positions name it
// ("user_script" gives "user_script:3: ..."). Errors read like Lua's:
// "user_script:1: syntax error near 'x'".
func compile(src, name string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		var pe *parse.Error
		if errors.As(err, &pe) {
			if pe.Pos.Line == parse.EOF {
				return nil, fmt.Errorf("%s:%d: %s near '<eof>'", name, lastLine(src), pe.Message)
			}
			return nil, fmt.Errorf("%s:%d: %s near '%s'", name, pe.Pos.Line, pe.Message, pe.Token)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if d := stmtsDepth(chunk, 0); d > maxSyntaxLevels {
		return nil, fmt.Errorf("%s:%d: chunk has too many syntax levels", name, 1)
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		var ce *lua.CompileError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%s:%d: %s", name, ce.Line, ce.Message)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	// A chunk has no "arg" local in Lua 5.1 (gopher-lua builds the table
	// anyway, three allocations per run, and nothing can reach it).
	proto.IsVarArg &^= lua.VarArgNeedsArg
	return proto, nil
}

func lastLine(src string) int { return strings.Count(src, "\n") + 1 }

// stmtsDepth returns the nesting depth of a block, stopping early once it
// passes the bound (so the walk itself stays shallow).
func stmtsDepth(stmts []ast.Stmt, d int) int {
	if d > maxSyntaxLevels {
		return d
	}
	best := d
	for _, s := range stmts {
		best = max(best, stmtDepth(s, d+1))
		if best > maxSyntaxLevels {
			return best
		}
	}
	return best
}

func stmtDepth(s ast.Stmt, d int) int {
	if d > maxSyntaxLevels {
		return d
	}
	switch st := s.(type) {
	case *ast.AssignStmt:
		return max(exprsDepth(st.Lhs, d), exprsDepth(st.Rhs, d))
	case *ast.LocalAssignStmt:
		return exprsDepth(st.Exprs, d)
	case *ast.FuncCallStmt:
		return exprDepth(st.Expr, d)
	case *ast.DoBlockStmt:
		return stmtsDepth(st.Stmts, d)
	case *ast.WhileStmt:
		return max(exprDepth(st.Condition, d), stmtsDepth(st.Stmts, d))
	case *ast.RepeatStmt:
		return max(exprDepth(st.Condition, d), stmtsDepth(st.Stmts, d))
	case *ast.IfStmt:
		best := d
		for {
			best = max(best, exprDepth(st.Condition, d), stmtsDepth(st.Then, d))
			if len(st.Else) == 1 {
				if next, ok := st.Else[0].(*ast.IfStmt); ok { // elseif
					st = next
					continue
				}
			}
			return max(best, stmtsDepth(st.Else, d))
		}
	case *ast.NumberForStmt:
		return max(exprDepth(st.Init, d), exprDepth(st.Limit, d), exprDepth(st.Step, d), stmtsDepth(st.Stmts, d))
	case *ast.GenericForStmt:
		return max(exprsDepth(st.Exprs, d), stmtsDepth(st.Stmts, d))
	case *ast.FuncDefStmt:
		return exprDepth(st.Func, d)
	case *ast.ReturnStmt:
		return exprsDepth(st.Exprs, d)
	}
	return d
}

func exprsDepth(es []ast.Expr, d int) int {
	best := d
	for _, e := range es {
		best = max(best, exprDepth(e, d))
		if best > maxSyntaxLevels {
			return best
		}
	}
	return best
}

func exprDepth(e ast.Expr, d int) int {
	if e == nil || d > maxSyntaxLevels {
		return d
	}
	d++
	best := d
	// Walk left spines (operator chains, field and call chains) in a loop:
	// Lua parses them iteratively and so does this walk.
	for {
		switch ex := e.(type) {
		case *ast.AttrGetExpr:
			best = max(best, exprDepth(ex.Key, d))
			e = ex.Object
			continue
		case *ast.FuncCallExpr:
			best = max(best, exprsDepth(ex.Args, d))
			if ex.Receiver != nil {
				e = ex.Receiver
			} else {
				e = ex.Func
			}
			continue
		case *ast.LogicalOpExpr:
			best = max(best, exprDepth(ex.Rhs, d))
			e = ex.Lhs
			continue
		case *ast.RelationalOpExpr:
			best = max(best, exprDepth(ex.Rhs, d))
			e = ex.Lhs
			continue
		case *ast.ArithmeticOpExpr:
			best = max(best, exprDepth(ex.Rhs, d))
			e = ex.Lhs
			continue
		case *ast.StringConcatOpExpr:
			return max(best, exprDepth(ex.Lhs, d), exprDepth(ex.Rhs, d))
		case *ast.TableExpr:
			for _, f := range ex.Fields {
				best = max(best, exprDepth(f.Key, d), exprDepth(f.Value, d))
				if best > maxSyntaxLevels {
					return best
				}
			}
			return best
		case *ast.UnaryMinusOpExpr:
			return max(best, exprDepth(ex.Expr, d))
		case *ast.UnaryNotOpExpr:
			return max(best, exprDepth(ex.Expr, d))
		case *ast.UnaryLenOpExpr:
			return max(best, exprDepth(ex.Expr, d))
		case *ast.FunctionExpr:
			return max(best, stmtsDepth(ex.Stmts, d))
		}
		return best
	}
}
