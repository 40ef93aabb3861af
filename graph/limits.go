package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/offsession/offsession/apierror"
)

// Defaults of Options' page sizes.
const (
	MaxPageSizeDefault = 100
	PageSizeDefault    = 20
)

// queryLimits is the one place every connection, nested ones included, gets
// its page size, and every operation its cost, before anything executes:
//
//   - a connection with neither first nor last gets first: PageSize;
//   - first or last over MaxPageSize, a negative one, both at once, a
//     cursor that does not decode, or nodes(ids:) with more than
//     MaxPageSize IDs is BAD_USER_INPUT naming the argument;
//   - the cost (each field 1, a connection's edges and nodes times its page
//     size, nodes(ids:) times its IDs) over MaxComplexity is
//     BAD_USER_INPUT with reason query_too_complex.
//
// The default is written into a copy of the operation, not the parsed
// document, which the query cache shares between requests; ent's eager
// loading of nested connections reads its arguments from that operation.
type queryLimits struct {
	maxPage, pageSize int
	maxComplexity     int64
	schema            *ast.Schema
}

// queryCost is what queryLimits measured, kept in the operation's stats.
type queryCost struct {
	Complexity int64
	Mutations  int64
	Limit      int64
}

const queryCostExtension = "QueryCost"

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*queryLimits)(nil)

func (*queryLimits) ExtensionName() string { return queryCostExtension }

func (l *queryLimits) Validate(es graphql.ExecutableSchema) error {
	l.schema = es.Schema()
	return nil
}

func (l *queryLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	w := &limitWalk{l: l, vars: oc.Variables, frags: map[fragKey]fragResult{}, rewritten: map[string]*ast.FragmentDefinition{}}
	set, changed, cost := w.selections(oc.Operation.SelectionSet, "", 0)
	if w.err != nil {
		return w.err
	}
	cost = max(cost, 1)
	var mutations int64
	if oc.Operation.Operation == ast.Mutation {
		mutations = rootFields(oc.Operation.SelectionSet, map[string]bool{})
	}
	oc.Stats.SetExtension(queryCostExtension, &queryCost{Complexity: cost, Mutations: mutations, Limit: l.maxComplexity})
	if cost > l.maxComplexity {
		return limitError("", "query_too_complex", nil,
			fmt.Sprintf("query costs %d, more than the limit of %d: ask for smaller pages or fewer fields", cost, l.maxComplexity),
			map[string]any{"complexity": cost, "max_complexity": l.maxComplexity})
	}
	if changed || len(w.rewritten) > 0 {
		op := *oc.Operation
		op.SelectionSet = set
		doc := *oc.Doc
		doc.Operations = replaceOperation(doc.Operations, oc.Operation, &op)
		doc.Fragments = make(ast.FragmentDefinitionList, len(oc.Doc.Fragments))
		for i, f := range oc.Doc.Fragments {
			doc.Fragments[i] = f
			if r, ok := w.rewritten[f.Name]; ok {
				doc.Fragments[i] = r
			}
		}
		oc.Doc, oc.Operation = &doc, &op
	}
	return nil
}

type fragKey struct {
	name string
	size int64
}

type fragResult struct {
	cost    int64
	changed bool
}

// limitWalk walks one operation: it checks, scores and, copying on write,
// fills in default page sizes.
type limitWalk struct {
	l         *queryLimits
	vars      map[string]any
	frags     map[fragKey]fragResult
	rewritten map[string]*ast.FragmentDefinition
	visiting  []string
	err       *gqlerror.Error
}

// selections returns set with defaults filled (set itself if nothing
// changed) and its cost. In a connection's selection set, size is the page
// size that its edges and nodes are multiplied by.
func (w *limitWalk) selections(set ast.SelectionSet, path string, size int64) (ast.SelectionSet, bool, int64) {
	var out ast.SelectionSet
	var cost int64
	for i, sel := range set {
		if w.err != nil {
			return set, false, cost
		}
		var repl ast.Selection
		var c int64
		switch s := sel.(type) {
		case *ast.Field:
			f, changed, fc := w.field(s, path)
			if size > 0 && (s.Name == "edges" || s.Name == "nodes") {
				fc = add(1, mul(size, fc-1))
			}
			c = fc
			if changed {
				repl = f
			}
		case *ast.InlineFragment:
			sub, changed, sc := w.selections(s.SelectionSet, path, size)
			c = sc
			if changed {
				cp := *s
				cp.SelectionSet = sub
				repl = &cp
			}
		case *ast.FragmentSpread:
			c = w.fragment(s, path, size)
		}
		if repl != nil {
			if out == nil {
				out = append(ast.SelectionSet(nil), set...)
			}
			out[i] = repl
		}
		cost = add(cost, c)
	}
	if out == nil {
		return set, false, cost
	}
	return out, true, cost
}

// fragment scores a named fragment once per page size; a fragment whose
// fields needed defaults is rewritten once, into w.rewritten.
func (w *limitWalk) fragment(s *ast.FragmentSpread, path string, size int64) int64 {
	if s.Definition == nil {
		return 0
	}
	k := fragKey{s.Name, size}
	if r, ok := w.frags[k]; ok {
		return r.cost
	}
	for _, v := range w.visiting {
		if v == s.Name {
			return 0 // cycles are refused by validation; never loop here.
		}
	}
	w.visiting = append(w.visiting, s.Name)
	sub, changed, cost := w.selections(s.Definition.SelectionSet, path, size)
	w.visiting = w.visiting[:len(w.visiting)-1]
	if changed {
		cp := *s.Definition
		cp.SelectionSet = sub
		w.rewritten[s.Name] = &cp
	}
	w.frags[k] = fragResult{cost: cost, changed: changed}
	return cost
}

// field checks and scores one field and its selections.
func (w *limitWalk) field(f *ast.Field, path string) (*ast.Field, bool, int64) {
	if strings.HasPrefix(f.Name, "__") || f.Definition == nil {
		return f, false, 0
	}
	here := f.Alias
	if path != "" {
		here = path + "." + f.Alias
	}
	args := f.ArgumentMap(w.vars)
	for _, a := range f.Definition.Arguments {
		if a.Type.Name() == "Cursor" && args[a.Name] != nil {
			var c entgql.Cursor[string]
			if err := c.UnmarshalGQL(args[a.Name]); err != nil || !cursorFitsOrder(c, f.Definition, args) {
				w.err = limitError(a.Name, "invalid_cursor", f, fmt.Sprintf("%s on %s is not a cursor this API gave out for this orderBy", a.Name, here), nil)
				return f, false, 0
			}
		}
	}
	out := f
	var size int64
	switch {
	case w.isConnection(f.Definition):
		first, firstSet, ok1 := w.intArg(f, args, "first", here)
		last, lastSet, ok2 := w.intArg(f, args, "last", here)
		switch {
		case !ok1 || !ok2:
			return f, false, 0
		case firstSet && lastSet:
			w.err = limitError("last", "first_and_last", f, fmt.Sprintf("give first or last on %s, not both", here), nil)
			return f, false, 0
		case firstSet:
			size = first
		case lastSet:
			size = last
		default:
			size = int64(w.l.pageSize)
			out = withFirst(f, w.l.pageSize)
		}
	case f.Definition.Type.Elem != nil && f.Definition.Arguments.ForName("ids") != nil:
		ids, _ := args["ids"].([]any)
		if len(ids) > w.l.maxPage {
			w.err = limitError("ids", "too_many_ids", f, fmt.Sprintf("ids on %s has %d IDs, more than the maximum of %d", here, len(ids), w.l.maxPage),
				map[string]any{"max_page_size": w.l.maxPage})
			return f, false, 0
		}
		sub, changed, c := w.selections(f.SelectionSet, here, 0)
		if changed {
			out = copyField(f)
			out.SelectionSet = sub
		}
		return out, out != f, add(1, mul(int64(len(ids)), c))
	}
	sub, changed, c := w.selections(f.SelectionSet, here, max(size, 0))
	if changed {
		if out == f {
			out = copyField(f)
		}
		out.SelectionSet = sub
	}
	return out, out != f, add(1, c)
}

// cursorFitsOrder reports whether a decoded cursor has the shape ent's
// pager expects for the field's orderBy: with a list orderBy, one value per
// order field (or none, for ordering by ID); with a single one, no list.
func cursorFitsOrder(c entgql.Cursor[string], def *ast.FieldDefinition, args map[string]any) bool {
	ob := def.Arguments.ForName("orderBy")
	if ob == nil || c.Value == nil {
		return true
	}
	var orders []any
	switch o := args["orderBy"].(type) {
	case []any:
		orders = o
	case map[string]any:
		orders = []any{o} // a single object is a list of one
	}
	values, isList := c.Value.([]any)
	if ob.Type.Elem == nil {
		return !isList && len(orders) == 1 && valueFitsField(c.Value, orders[0])
	}
	if !isList || len(values) != len(orders) {
		return false
	}
	for i, v := range values {
		if !valueFitsField(v, orders[i]) {
			return false
		}
	}
	return true
}

// valueFitsField reports whether a cursor value can be compared with the
// column of an order ({field: X}): a scalar, a time for a *_AT field, and
// not a time for another.
func valueFitsField(v, order any) bool {
	field, _ := order.(map[string]any)["field"].(string)
	switch v.(type) {
	case nil:
		return true
	case time.Time:
		return strings.HasSuffix(field, "_AT")
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return !strings.HasSuffix(field, "_AT")
	}
	return false
}

// intArg reads a page-size argument; ok is false when it is refused.
func (w *limitWalk) intArg(f *ast.Field, args map[string]any, name, here string) (n int64, set, ok bool) {
	v := args[name]
	if v == nil {
		return 0, false, true
	}
	n, isInt := toInt64(v)
	switch {
	case !isInt || n < 0:
		w.err = limitError(name, "invalid_page_size", f, fmt.Sprintf("%s on %s must be 0 to %d", name, here, w.l.maxPage),
			map[string]any{"max_page_size": w.l.maxPage})
		return 0, true, false
	case n > int64(w.l.maxPage):
		w.err = limitError(name, "page_too_large", f, fmt.Sprintf("%s on %s is %d, more than the maximum page size of %d", name, here, n, w.l.maxPage),
			map[string]any{"max_page_size": w.l.maxPage})
		return 0, true, false
	}
	return n, true, true
}

// isConnection reports whether a field pages a Relay connection: it takes
// first and last and its type has edges and pageInfo.
func (w *limitWalk) isConnection(def *ast.FieldDefinition) bool {
	return isConnectionField(w.l.schema, def)
}

func isConnectionField(schema *ast.Schema, def *ast.FieldDefinition) bool {
	if def.Arguments.ForName("first") == nil || def.Arguments.ForName("last") == nil {
		return false
	}
	t := schema.Types[def.Type.Name()]
	return t != nil && t.Fields.ForName("edges") != nil && t.Fields.ForName("pageInfo") != nil
}

func copyField(f *ast.Field) *ast.Field {
	cp := *f
	return &cp
}

// withFirst is f with first: n in place of an absent or null first and
// last.
func withFirst(f *ast.Field, n int) *ast.Field {
	cp := copyField(f)
	cp.Arguments = make(ast.ArgumentList, 0, len(f.Arguments)+1)
	for _, a := range f.Arguments {
		if a.Name != "first" && a.Name != "last" {
			cp.Arguments = append(cp.Arguments, a)
		}
	}
	cp.Arguments = append(cp.Arguments, &ast.Argument{
		Name:     "first",
		Value:    &ast.Value{Kind: ast.IntValue, Raw: strconv.Itoa(n), Position: f.Position},
		Position: f.Position,
	})
	return cp
}

// rootFields counts the fields at the top of an operation, aliases each.
func rootFields(set ast.SelectionSet, visiting map[string]bool) int64 {
	var n int64
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !strings.HasPrefix(s.Name, "__") {
				n++
			}
		case *ast.InlineFragment:
			n += rootFields(s.SelectionSet, visiting)
		case *ast.FragmentSpread:
			if s.Definition != nil && !visiting[s.Name] {
				visiting[s.Name] = true
				n += rootFields(s.Definition.SelectionSet, visiting)
				delete(visiting, s.Name)
			}
		}
	}
	return n
}

func replaceOperation(ops ast.OperationList, old, repl *ast.OperationDefinition) ast.OperationList {
	out := make(ast.OperationList, len(ops))
	for i, op := range ops {
		out[i] = op
		if op == old {
			out[i] = repl
		}
	}
	return out
}

func limitError(field, reason string, at *ast.Field, msg string, extra map[string]any) *gqlerror.Error {
	ext := extensions(apierror.BadUserInput, field, reason)
	for k, v := range extra {
		ext[k] = v
	}
	e := &gqlerror.Error{Message: msg, Extensions: ext}
	if at != nil && at.Position != nil {
		e.Locations = []gqlerror.Location{{Line: at.Position.Line, Column: at.Position.Column}}
	}
	return e
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > math.MaxInt32 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// costCap keeps scores from overflowing: nothing near it is ever allowed.
const costCap = 1 << 40

func add(a, b int64) int64 { return min(a+b, costCap) }

func mul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > costCap/b {
		return costCap
	}
	return min(a*b, costCap)
}
