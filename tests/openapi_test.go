package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/onewindow/onewindow/shared/client"
)

// openAPIFile is the document under test, relative to the repository root.
const openAPIFile = "docs/openapi.yaml"

// openAPIURL names the document inside the schema compiler; $refs such as
// "#/components/schemas/Item" resolve against it.
const openAPIURL = "mem:///openapi.json"

// healthSubpath is answered by the template's entrypoint, not a router.
const healthSubpath = "/_/health"

// openAPI is the parsed document with its schemas compiled on demand.
type openAPI struct {
	doc      map[string]any
	ops      []apiOperation
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema // by JSON pointer
}

// apiOperation is one path and method of the document.
type apiOperation struct {
	ID     string
	Method string
	Path   string // as documented: /function/case-submit/cases/{serial}
	// Function and Subpath split Path as the contract's URL does.
	Function, Subpath string
	// Public is `security: []`: callable without a signature.
	Public bool
	// TakesIdempotencyKey is an Idempotency-Key header parameter.
	TakesIdempotencyKey bool
	params              []map[string]any // path- and operation-level, resolved
	pointer             string           // JSON pointer of the operation object
}

func (op apiOperation) String() string { return op.Method + " " + op.Path }

// loadOpenAPI reads and parses the document. YAML becomes JSON first, so
// that the schema compiler sees the numbers and maps it expects.
func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), openAPIFile))
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		t.Fatalf("parse %s: %v", openAPIFile, err)
	}
	js, err := json.Marshal(tree)
	if err != nil {
		t.Fatalf("%s as JSON: %v", openAPIFile, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is not an object", openAPIFile)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // date-time, date, uuid and uri are part of the contract
	if err := c.AddResource(openAPIURL, doc); err != nil {
		t.Fatal(err)
	}
	api := &openAPI{doc: doc, compiler: c, compiled: map[string]*jsonschema.Schema{}}
	api.ops = api.operations(t)
	return api
}

// pathItemMethods are the operation keys of a path item.
var pathItemMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func (api *openAPI) operations(t *testing.T) []apiOperation {
	t.Helper()
	paths, _ := api.doc["paths"].(map[string]any)
	var ops []apiOperation
	for _, path := range sortedNames(paths) {
		item, _ := paths[path].(map[string]any)
		for _, m := range pathItemMethods {
			raw, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			op := apiOperation{Method: strings.ToUpper(m), Path: path, pointer: "/paths/" + pointerToken(path) + "/" + m}
			op.ID, _ = raw["operationId"].(string)
			fn, sub, _ := strings.Cut(strings.TrimPrefix(path, "/function/"), "/")
			op.Function, op.Subpath = fn, "/"+sub
			if sec, ok := raw["security"].([]any); ok && len(sec) == 0 {
				op.Public = true
			}
			for _, list := range []any{item["parameters"], raw["parameters"]} {
				ps, _ := list.([]any)
				for _, p := range ps {
					param, _, err := api.resolve(p, "")
					if err != nil {
						t.Errorf("%s: parameter: %v", op, err)
						continue
					}
					pm, _ := param.(map[string]any)
					op.params = append(op.params, pm)
					if pm["in"] == "header" && pm["name"] == "Idempotency-Key" {
						op.TakesIdempotencyKey = true
					}
				}
			}
			ops = append(ops, op)
		}
	}
	return ops
}

// resolve follows $ref (local JSON pointers only) from node, found at
// pointer, and returns the target and its pointer.
func (api *openAPI) resolve(node any, pointer string) (any, string, error) {
	for range 10 {
		m, ok := node.(map[string]any)
		if !ok {
			return node, pointer, nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return node, pointer, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, "", fmt.Errorf("$ref %q is not a local JSON pointer", ref)
		}
		target, ok := resolvePointer(api.doc, ref[1:])
		if !ok {
			return nil, "", fmt.Errorf("$ref %q resolves to nothing", ref)
		}
		node, pointer = target, ref[1:]
	}
	return nil, "", fmt.Errorf("$ref chain from %s too long", pointer)
}

// schema compiles the JSON Schema at pointer, once.
func (api *openAPI) schema(pointer string) (*jsonschema.Schema, error) {
	if s, ok := api.compiled[pointer]; ok {
		return s, nil
	}
	s, err := api.compiler.Compile(openAPIURL + "#" + pointer)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", pointer, err)
	}
	api.compiled[pointer] = s
	return s, nil
}

// operationFor finds the documented operation for a request; literal
// segments win over {param} ones (/scopes/selection before /scopes/{code}).
func (api *openAPI) operationFor(method, path string) (apiOperation, bool) {
	segs := strings.Split(path, "/")
	best, bestLiterals := apiOperation{}, -1
	for _, op := range api.ops {
		tmpl := strings.Split(op.Path, "/")
		if op.Method != method || len(tmpl) != len(segs) {
			continue
		}
		literals := 0
		for i, seg := range tmpl {
			switch {
			case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && segs[i] != "":
			case seg == segs[i]:
				literals++
			default:
				literals = -1
			}
			if literals < 0 {
				break
			}
		}
		if literals > bestLiterals {
			best, bestLiterals = op, literals
		}
	}
	return best, bestLiterals >= 0
}

// check validates one real answer against the document: the status must be
// documented for the operation, every required header present and valid,
// and the body must match the schema of its content type (no body where
// none is documented). It returns the operation and what does not match.
func (api *openAPI) check(method, pathAndQuery string, a stackAnswer) (apiOperation, []string) {
	path, _, _ := strings.Cut(pathAndQuery, "?")
	op, ok := api.operationFor(method, path)
	if !ok {
		return op, []string{"no documented operation for " + method + " " + path}
	}
	status := strconv.Itoa(a.status)
	resp, respPtr, err := api.resolve(pointerValue(api.doc, op.pointer+"/responses/"+status), op.pointer+"/responses/"+status)
	if err != nil || resp == nil {
		return op, []string{fmt.Sprintf("status %s is not documented for %s (%s)", status, op.ID, tailOf(string(a.body), 300))}
	}
	respObj, _ := resp.(map[string]any)
	var problems []string
	problems = append(problems, api.checkHeaders(respObj, respPtr, a.header)...)
	problems = append(problems, api.checkBody(respObj, respPtr, a)...)
	for i := range problems {
		problems[i] = fmt.Sprintf("%s %s: %s", op.ID, status, problems[i])
	}
	return op, problems
}

func (api *openAPI) checkHeaders(resp map[string]any, respPtr string, got http.Header) []string {
	var problems []string
	headers, _ := resp["headers"].(map[string]any)
	for _, name := range sortedNames(headers) {
		h, hPtr, err := api.resolve(headers[name], respPtr+"/headers/"+pointerToken(name))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		hm, _ := h.(map[string]any)
		value := got.Get(name)
		if value == "" {
			if hm["required"] == true {
				problems = append(problems, "required header "+name+" missing")
			}
			continue
		}
		s, err := api.schema(hPtr + "/schema")
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if err := s.Validate(value); err != nil {
			problems = append(problems, fmt.Sprintf("header %s %q: %v", name, value, err))
		}
	}
	if got.Get("Idempotent-Replayed") != "" && headers["Idempotent-Replayed"] == nil {
		problems = append(problems, "Idempotent-Replayed sent but not documented")
	}
	return problems
}

func (api *openAPI) checkBody(resp map[string]any, respPtr string, a stackAnswer) []string {
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(a.body) > 0 {
			return []string{"a body where none is documented: " + tailOf(string(a.body), 200)}
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(a.header.Get("Content-Type"))
	if err != nil || content[mt] == nil {
		return []string{fmt.Sprintf("Content-Type %q is not one of %v", a.header.Get("Content-Type"), sortedNames(content))}
	}
	s, err := api.schema(respPtr + "/content/" + pointerToken(mt) + "/schema")
	if err != nil {
		return []string{err.Error()}
	}
	body, err := jsonschema.UnmarshalJSON(bytes.NewReader(a.body))
	if err != nil {
		return []string{fmt.Sprintf("body is not JSON: %v", err)}
	}
	if err := s.Validate(body); err != nil {
		return []string{fmt.Sprintf("body does not match the schema: %v\nbody: %s", err, tailOf(string(a.body), 1500))}
	}
	return nil
}

// TestOpenAPIDocument checks the document on its own: OpenAPI 3.1.0, every
// $ref resolves, every operation has an operationId unique in the
// document, path templates and path parameters agree, and every component
// schema compiles as JSON Schema 2020-12.
func TestOpenAPIDocument(t *testing.T) {
	api := loadOpenAPI(t)
	if api.doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", api.doc["openapi"])
	}

	refs := 0
	walkJSON(api.doc, "", func(pointer string, node map[string]any) {
		if _, ok := node["$ref"].(string); !ok {
			return
		}
		refs++
		if _, _, err := api.resolve(node, pointer); err != nil {
			t.Errorf("%s: %v", pointer, err)
		}
	})
	if refs == 0 {
		t.Error("no $ref at all: the walk found nothing to check")
	}

	if len(api.ops) == 0 {
		t.Fatal("no operations")
	}
	seen := map[string]string{}
	for _, op := range api.ops {
		switch prev, dup := seen[op.ID]; {
		case op.ID == "":
			t.Errorf("%s has no operationId", op)
		case dup:
			t.Errorf("operationId %s is used by %s and %s", op.ID, prev, op)
		}
		seen[op.ID] = op.String()

		inPath := map[string]bool{}
		for _, seg := range strings.Split(op.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				inPath[strings.Trim(seg, "{}")] = true
			}
		}
		declared := map[string]bool{}
		for _, p := range op.params {
			if p["in"] != "path" {
				continue
			}
			name, _ := p["name"].(string)
			declared[name] = true
			if !inPath[name] || p["required"] != true {
				t.Errorf("%s: path parameter %q is not a required {%s} of the path", op, name, name)
			}
		}
		for name := range inPath {
			if !declared[name] {
				t.Errorf("%s: {%s} has no path parameter", op, name)
			}
		}
	}

	schemas, _ := pointerValue(api.doc, "/components/schemas").(map[string]any)
	for _, name := range sortedNames(schemas) {
		if _, err := api.schema("/components/schemas/" + pointerToken(name)); err != nil {
			t.Error(err)
		}
	}
}

// TestOpenAPICheck shows that the check of real answers can fail: each
// answer below breaks the document in one way.
func TestOpenAPICheck(t *testing.T) {
	api := loadOpenAPI(t)
	withID := func(h http.Header) http.Header { h.Set("X-Request-Id", "r-1"); return h }
	jsonType := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	problemType := http.Header{"Content-Type": {"application/problem+json"}}
	verdict := `{"valid":true,"region":"130100","channel":"online","date":"2026-11-22","sequence":17}`
	tests := []struct {
		name, method, path string
		answer             stackAnswer
		want               string // "" for a match, else part of the complaint
	}{
		{"a documented answer", "GET", "/function/serial-issue/verify?serial=1",
			stackAnswer{200, withID(jsonType.Clone()), []byte(verdict)}, ""},
		{"no X-Request-Id", "GET", "/function/serial-issue/verify",
			stackAnswer{200, jsonType.Clone(), []byte(verdict)}, "required header X-Request-Id missing"},
		{"an undocumented field", "GET", "/function/serial-issue/verify",
			stackAnswer{200, withID(jsonType.Clone()), []byte(`{"valid":false,"reason":"format","hint":"x"}`)}, "does not match"},
		{"a date that is no date", "GET", "/function/serial-issue/verify",
			stackAnswer{200, withID(jsonType.Clone()), []byte(strings.Replace(verdict, "2026-11-22", "2026-11-31", 1))}, "does not match"},
		{"an undocumented status", "GET", "/function/serial-issue/verify",
			stackAnswer{404, withID(problemType.Clone()), []byte(`{"type":"t","title":"Not Found","status":404,"code":"not_found"}`)}, "not documented"},
		{"the wrong content type", "POST", "/function/serial-issue/",
			stackAnswer{422, withID(jsonType.Clone()), []byte(`{"type":"t","title":"x","status":422,"code":"invalid_region"}`)}, "Content-Type"},
		{"503 without Retry-After", "POST", "/function/serial-issue/",
			stackAnswer{503, withID(problemType.Clone()), []byte(`{"type":"t","title":"x","status":503,"code":"dependency_unavailable"}`)}, "Retry-After missing"},
		{"a replay header where none is documented", "GET", "/function/catalog-lookup/items/X",
			stackAnswer{304, withID(http.Header{"Etag": {`"abc"`}, "Idempotent-Replayed": {"true"}}), nil}, "Idempotent-Replayed"},
		{"a 304 with a body", "GET", "/function/catalog-lookup/items/X",
			stackAnswer{304, withID(http.Header{"Etag": {`"abc"`}}), []byte("{}")}, "a body where none is documented"},
		{"a path nobody documents", "GET", "/function/serial-issue/nowhere",
			stackAnswer{200, withID(jsonType.Clone()), []byte(`{}`)}, "no documented operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := api.check(tt.method, tt.path, tt.answer)
			got := strings.Join(problems, "\n")
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("problems %q, want one containing %q", got, tt.want)
			}
		})
	}
}

// registeredRoute is one route a function's handler package declares.
type registeredRoute struct {
	Function, Method, Pattern string
	Public, Idempotent        bool
}

func (r registeredRoute) key() string { return r.Function + " " + r.Method + " " + r.Pattern }

// registeredRoutes reads the routes every function declares from its
// handler package's source: calls of Get, Post, Put, Delete or Handle on a
// parameter of type *httpx.Router, as in `routes(r *httpx.Router, ...)`.
// The functions keep their Service (and so their router) unexported, so
// the source is the one place a test in another module can read them
// without starting them; the stack test below confirms each documented
// route answers for real.
func registeredRoutes(t *testing.T, root string) []registeredRoute {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, "functions", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var routes []registeredRoute
	for _, dir := range dirs {
		fn := filepath.Base(dir)
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				var typ *ast.FuncType
				var body *ast.BlockStmt
				switch fd := n.(type) {
				case *ast.FuncDecl:
					typ, body = fd.Type, fd.Body
				case *ast.FuncLit:
					typ, body = fd.Type, fd.Body
				default:
					return true
				}
				for _, router := range routerParams(typ) {
					rs, err := routesOn(body, router)
					if err != nil {
						t.Errorf("%s: %v", file, err)
					}
					for _, r := range rs {
						r.Function = fn
						routes = append(routes, r)
						found++
					}
				}
				return true
			})
		}
		if found == 0 {
			t.Errorf("%s: no route found; has the routes table moved?", fn)
		}
	}
	return routes
}

// routerParams names the parameters of type *httpx.Router.
func routerParams(typ *ast.FuncType) []string {
	var names []string
	for _, field := range typ.Params.List {
		star, ok := field.Type.(*ast.StarExpr)
		if !ok {
			continue
		}
		sel, ok := star.X.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Router" {
			continue
		}
		if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "httpx" {
			for _, n := range field.Names {
				names = append(names, n.Name)
			}
		}
	}
	return names
}

// routesOn collects the routes declared on the router variable in body.
func routesOn(body *ast.BlockStmt, router string) ([]registeredRoute, error) {
	notIdempotent := map[*ast.CallExpr]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NotIdempotent" {
				if inner, ok := sel.X.(*ast.CallExpr); ok {
					notIdempotent[inner] = true
				}
			}
		}
		return true
	})
	byName := map[string]string{"Get": http.MethodGet, "Post": http.MethodPost, "Put": http.MethodPut, "Delete": http.MethodDelete}
	var routes []registeredRoute
	var err error
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); !ok || id.Name != router {
			return true
		}
		args := call.Args
		method, ok := byName[sel.Sel.Name]
		if sel.Sel.Name == "Handle" && len(args) > 0 {
			// Handle(http.MethodX, pattern, access, h)
			if m, isSel := args[0].(*ast.SelectorExpr); isSel && strings.HasPrefix(m.Sel.Name, "Method") {
				method, ok = strings.ToUpper(strings.TrimPrefix(m.Sel.Name, "Method")), true
			}
			args = args[1:]
		}
		if !ok {
			return true
		}
		lit, isLit := args[0].(*ast.BasicLit)
		if !isLit || lit.Kind != token.STRING {
			err = fmt.Errorf("%s route with a pattern that is not a string literal", method)
			return true
		}
		pattern, _ := strconv.Unquote(lit.Value)
		public := false
		if a, isSel := args[1].(*ast.SelectorExpr); isSel && a.Sel.Name == "Public" {
			public = true
		}
		// As service.serve: a POST honours Idempotency-Key unless marked
		// NotIdempotent or public.
		idempotent := method == http.MethodPost && !notIdempotent[call] && !public
		routes = append(routes, registeredRoute{Method: method, Pattern: pattern, Public: public, Idempotent: idempotent})
		return true
	})
	return routes, err
}

// TestOpenAPIRoutes checks coverage both ways: every route a function
// declares is documented (with the same public access and Idempotency-Key
// handling), and every documented operation is a route of its function or
// the entrypoint's health path.
func TestOpenAPIRoutes(t *testing.T) {
	api := loadOpenAPI(t)
	routes := registeredRoutes(t, repoRoot(t))
	documented := map[string]apiOperation{}
	for _, op := range api.ops {
		documented[op.Function+" "+op.Method+" "+op.Subpath] = op
	}
	declared := map[string]bool{}
	functions := map[string]bool{}
	for _, r := range routes {
		declared[r.key()] = true
		functions[r.Function] = true
		op, ok := documented[r.key()]
		if !ok {
			t.Errorf("route %s is not documented in %s", r.key(), openAPIFile)
			continue
		}
		if op.Public != r.Public {
			t.Errorf("%s: documented public=%v, route public=%v", op, op.Public, r.Public)
		}
		if op.TakesIdempotencyKey != r.Idempotent {
			t.Errorf("%s: documented Idempotency-Key=%v, route honours it=%v", op, op.TakesIdempotencyKey, r.Idempotent)
		}
	}
	for key, op := range documented {
		if op.Method == http.MethodGet && op.Subpath == healthSubpath && functions[op.Function] {
			continue // answered by the template's entrypoint
		}
		if !declared[key] {
			t.Errorf("documented %s (%s) is no route of any function", op, op.ID)
		}
	}
	for fn := range functions {
		if _, ok := documented[fn+" GET "+healthSubpath]; !ok {
			t.Errorf("%s: its health path is not documented", fn)
		}
	}
	if len(functions) != 7 {
		t.Errorf("routes found for %d functions, want 7", len(functions))
	}
}

// apiExchange sends requests to the stack and checks each answer against
// the document, keeping which statuses every operation answered.
type apiExchange struct {
	t        *testing.T
	api      *openAPI
	s        *runningStack
	answered map[string][]int // operationId → statuses seen
}

// call sends a request signed by c (unsigned when c is nil), fails the test
// unless the status is want, and checks the answer against the document.
func (x *apiExchange) call(c *client.Client, fn, method, pathAndQuery string, body []byte, h http.Header, want int) stackAnswer {
	x.t.Helper()
	var a stackAnswer
	var err error
	ctx := context.Background()
	if h == nil {
		h = http.Header{}
	}
	if body != nil && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	if c != nil {
		a, err = readAnswer(c.Do(ctx, fn, method, pathAndQuery, body, h))
	} else {
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, method, x.s.url+"/function/"+fn+pathAndQuery, bytes.NewReader(body))
		if err != nil {
			x.t.Fatal(err)
		}
		req.Header = h
		a, err = readAnswer(http.DefaultClient.Do(req))
	}
	if err != nil {
		x.t.Fatalf("%s %s%s: %v", method, fn, pathAndQuery, err)
	}
	if want != 0 && a.status != want {
		x.t.Errorf("%s /function/%s%s: %v, want %d", method, fn, pathAndQuery, a, want)
	}
	op, problems := x.api.check(method, "/function/"+fn+pathAndQuery, a)
	for _, p := range problems {
		x.t.Errorf("%s /function/%s%s: %s", method, fn, pathAndQuery, p)
	}
	if op.ID != "" {
		x.answered[op.ID] = append(x.answered[op.ID], a.status)
	}
	return a
}

// decode unmarshals an answer that later steps depend on, or stops.
func (x *apiExchange) decode(a stackAnswer, v any) {
	x.t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		x.t.Fatalf("decode %s: %v", tailOf(string(a.body), 300), err)
	}
}

// upload announces data as a PDF through case-submit and PUTs it to the
// presigned URL, as an applicant or an issuing department does.
func (x *apiExchange) upload(c *client.Client, data []byte) string {
	x.t.Helper()
	sum := sha256.Sum256(data)
	body := fmt.Appendf(nil, `{"fileName":"证明.pdf","contentType":"application/pdf","sizeBytes":%d,"sha256":%q}`, len(data), hex.EncodeToString(sum[:]))
	a := x.call(c, "case-submit", http.MethodPost, "/uploads", body, nil, http.StatusCreated)
	var up struct {
		UploadID string            `json:"uploadId"`
		PutURL   string            `json:"putUrl"`
		Headers  map[string]string `json:"headers"`
	}
	x.decode(a, &up)
	req, err := http.NewRequest(http.MethodPut, up.PutURL, bytes.NewReader(data))
	if err != nil {
		x.t.Fatal(err)
	}
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	put, err := readAnswer(http.DefaultClient.Do(req))
	if err != nil || put.status != http.StatusOK {
		x.t.Fatalf("PUT to the presigned URL: %v %v", put, err)
	}
	return up.UploadID
}

// TestOpenAPIResponses drives every function of a real stack through a
// representative scenario and validates each answer (status, headers,
// body) against the document; then it sends every documented operation
// once more as an admin with an empty body and placeholder parameters, so
// that each is seen to exist and to answer only documented statuses.
func TestOpenAPIResponses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole stack: not in -short")
	}
	api := loadOpenAPI(t)
	s := startStack(t)
	s.waitHealthy(t, 5*time.Minute)
	x := &apiExchange{t: t, api: api, s: s, answered: map[string][]int{}}

	portal := s.appClient(t, "hebei-portal")
	otherPortal := s.appClient(t, "wechat-hall")
	window := s.appClient(t, "sjz-xzsp-window") // department 130100-XZSP
	supervisor := s.appClient(t, "sjz-supervisor")
	admin := s.appClient(t, "onewindow-admin")
	payer := s.appClient(t, "unionpay-gateway")
	courier := s.appClient(t, "ems-courier")

	now := time.Now()
	today := now.In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	const holderID = "11010519491231002X"

	for _, fn := range loadStack(t, s.root).Names() {
		x.call(nil, fn, http.MethodGet, healthSubpath, nil, nil, http.StatusOK)
	}

	// serial-issue
	a := x.call(portal, "serial-issue", http.MethodPost, "/", []byte(`{"region":"130100","channel":"online","count":2}`), nil, http.StatusCreated)
	var issued struct{ Serials []string }
	x.decode(a, &issued)
	x.call(portal, "serial-issue", http.MethodPost, "/", []byte(`{"region":"999999","channel":"online"}`), nil, http.StatusUnprocessableEntity)
	x.call(courier, "serial-issue", http.MethodPost, "/", []byte(`{"region":"130100","channel":"online"}`), nil, http.StatusForbidden)
	if len(issued.Serials) > 0 {
		x.call(portal, "serial-issue", http.MethodGet, "/verify?serial="+issued.Serials[0], nil, nil, http.StatusOK)
	}
	x.call(portal, "serial-issue", http.MethodGet, "/verify?serial=123", nil, nil, http.StatusOK)

	// catalog-lookup
	const item, bundle = "SJZ-XZSP-GGWS-001", "SJZ-YJS-MINSU"
	a = x.call(portal, "catalog-lookup", http.MethodGet, "/items/"+item, nil, nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/items/"+item, nil, http.Header{"If-None-Match": {a.header.Get("ETag")}}, http.StatusNotModified)
	x.call(portal, "catalog-lookup", http.MethodGet, "/items/NO-SUCH-ITEM", nil, nil, http.StatusNotFound)
	x.call(portal, "catalog-lookup", http.MethodGet, "/items?q="+url.QueryEscape("民宿")+"&limit=5", nil, nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/items?limit=0", nil, nil, http.StatusBadRequest)
	x.call(admin, "catalog-lookup", http.MethodGet, "/items/"+item+"/history?limit=1", nil, nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/bundles/"+bundle, nil, nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/bundles?q="+url.QueryEscape("民宿"), nil, nil, http.StatusOK)
	x.call(admin, "catalog-lookup", http.MethodGet, "/bundles/"+bundle+"/history", nil, nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/scopes?q="+url.QueryEscape("食品"), nil, nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/scopes/SC-1301", nil, nil, http.StatusOK)
	x.call(admin, "catalog-lookup", http.MethodGet, "/scopes/SC-1301/history", nil, nil, http.StatusOK)
	const uscc = "91130102MA0D8TQ541"
	x.call(portal, "catalog-lookup", http.MethodPut, "/scopes/selection?uscc="+uscc,
		[]byte(`{"entries":[{"code":"SC-1301","expressionIds":["SC-1301-A"]}]}`), nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/scopes/selection?uscc="+uscc, nil, nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/scopes/selection?uscc=91130102MA0D8TQ540", nil, nil, http.StatusBadRequest)
	x.call(portal, "catalog-lookup", http.MethodGet, "/scopes/stats?month="+today[:7], nil, nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/scopes/stats?month=2026-13", nil, nil, http.StatusBadRequest)
	x.call(portal, "catalog-lookup", http.MethodGet, "/license-types", nil, nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/license-types/LT-GGWSXK", nil, nil, http.StatusOK)
	x.call(admin, "catalog-lookup", http.MethodGet, "/license-types/LT-GGWSXK/history", nil, nil, http.StatusOK)
	x.call(admin, "catalog-lookup", http.MethodPut, "/license-types/LT-OPENAPI",
		[]byte(`{"name":"接口测试证","department":"130100-XZSP"}`), nil, http.StatusCreated)
	x.call(admin, "catalog-lookup", http.MethodPut, "/departments/T-OPENAPI",
		[]byte(`{"name":"接口测试局","region":"130100"}`), nil, http.StatusCreated)
	x.call(admin, "catalog-lookup", http.MethodPut, "/departments/T-OPENAPI",
		[]byte(`{"name":"接口测试局（改）","region":"130100"}`), nil, http.StatusOK)
	x.call(admin, "catalog-lookup", http.MethodGet, "/departments/T-OPENAPI", nil, nil, http.StatusOK)
	x.call(admin, "catalog-lookup", http.MethodGet, "/departments/T-OPENAPI/history", nil, nil, http.StatusOK)
	x.call(portal, "catalog-lookup", http.MethodGet, "/departments/T-OPENAPI", nil, nil, http.StatusForbidden)
	a = x.call(admin, "catalog-lookup", http.MethodGet, "/items/"+item, nil, nil, http.StatusOK)
	x.call(admin, "catalog-lookup", http.MethodPut, "/items/"+item, a.body, nil, http.StatusOK) // a read written back
	a = x.call(admin, "catalog-lookup", http.MethodGet, "/bundles?q="+bundle, nil, nil, http.StatusOK)
	var bundles struct{ Items []json.RawMessage }
	x.decode(a, &bundles)
	if len(bundles.Items) > 0 {
		x.call(admin, "catalog-lookup", http.MethodPut, "/bundles/"+bundle, bundles.Items[0], nil, http.StatusOK)
	}
	x.call(admin, "catalog-lookup", http.MethodPut, "/scopes/SC-OPENAPI",
		[]byte(`{"name":"接口测试","domain":"食品","expressions":[{"id":"A","text":"测试"}]}`), nil, http.StatusCreated)

	// case-submit: a case for 公共场所卫生许可 from its uploads to its acceptance
	a = x.call(portal, "catalog-lookup", http.MethodGet, "/items/"+item, nil, nil, http.StatusOK)
	var itemBody struct {
		Materials []struct {
			Code     string
			Required bool
		}
	}
	x.decode(a, &itemBody)
	var materials []map[string]any
	for _, m := range itemBody.Materials {
		if m.Required {
			materials = append(materials, map[string]any{"code": m.Code, "uploadIds": []string{x.upload(portal, demoPDF)}})
		}
	}
	submission := map[string]any{
		"itemCode": item, "channel": "online", "region": "130102",
		"applicant": map[string]any{"type": "person", "name": "张三", "idType": "resident_id", "idNumber": holderID, "phone": "13800138000"},
		"materials": materials, "delivery": map[string]any{"method": "mail", "address": map[string]any{"line": "石家庄市长安区中山东路1号"}},
	}
	body, _ := json.Marshal(submission)
	key := http.Header{"Idempotency-Key": {"openapi-" + uuid.NewString()}}
	a = x.call(portal, "case-submit", http.MethodPost, "/cases", body, key, http.StatusCreated)
	if again := x.call(portal, "case-submit", http.MethodPost, "/cases", body, key, http.StatusCreated); again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay without Idempotent-Replayed: %v", again.header)
	}
	var receipt struct{ Serial string }
	x.decode(a, &receipt)
	if receipt.Serial == "" {
		t.Fatalf("no serial in %s", a.body)
	}
	caseSerial := receipt.Serial
	submission["applicant"].(map[string]any)["idNumber"] = "110105194912310021" // wrong check digit
	bad, _ := json.Marshal(submission)
	x.call(portal, "case-submit", http.MethodPost, "/cases", bad, nil, http.StatusUnprocessableEntity)
	x.call(portal, "case-submit", http.MethodPost, "/cases", []byte(`{"itemCode":`), nil, http.StatusBadRequest)
	x.call(portal, "case-submit", http.MethodGet, "/cases?limit=10", nil, nil, http.StatusOK)
	x.call(portal, "case-submit", http.MethodGet, "/cases?status=nonsense", nil, nil, http.StatusUnprocessableEntity)
	x.call(otherPortal, "case-submit", http.MethodGet, "/cases/"+caseSerial, nil, nil, http.StatusNotFound)
	events := "/cases/" + caseSerial + "/events"
	x.call(window, "case-submit", http.MethodPost, events, []byte(`{"type":"accepted","operator":"窗口一"}`), nil, http.StatusCreated)
	x.call(window, "case-submit", http.MethodPost, events, []byte(`{"type":"accepted"}`), nil, http.StatusConflict)
	x.call(portal, "case-submit", http.MethodPost, events, []byte(`{"type":"evaluation","score":5}`), nil, http.StatusCreated)
	x.call(window, "case-submit", http.MethodPost, events, []byte(`{"type":"payment_requested","amountFen":5000}`), nil, http.StatusCreated)
	x.call(nil, "case-submit", http.MethodPost, "/", nil, nil, http.StatusOK)

	a = x.call(portal, "case-submit", http.MethodGet, "/cases/"+caseSerial, nil, nil, http.StatusOK)
	var view struct {
		Materials []struct {
			Attachments []struct{ AttachmentID string }
		}
		Payment *struct{ PaymentSerial string }
	}
	x.decode(a, &view)
	if len(view.Materials) == 0 || len(view.Materials[0].Attachments) == 0 || view.Payment == nil {
		t.Fatalf("case view without attachments or payment: %s", tailOf(string(a.body), 600))
	}
	attachmentID, paymentSerial := view.Materials[0].Attachments[0].AttachmentID, view.Payment.PaymentSerial

	// document-fetch
	x.call(portal, "document-fetch", http.MethodGet, "/attachments/"+attachmentID, nil, nil, http.StatusOK)
	x.call(otherPortal, "document-fetch", http.MethodGet, "/attachments/"+attachmentID, nil, nil, http.StatusNotFound)
	licenseNo := "WS-OPENAPI-" + strings.ToUpper(uuid.NewString()[:8])
	license := func(no, uploadID string) []byte {
		return fmt.Appendf(nil, `{"typeCode":"LT-GGWSXK","licenseNo":%q,"holder":{"idType":"resident_id","idNumber":%q,"name":"张三"},`+
			`"issuedAt":%q,"validUntil":"2036-12-31","data":{"场所名称":"正定古城民宿"},"uploadId":%q}`,
			no, holderID, now.Add(-time.Hour).Format(time.RFC3339), uploadID)
	}
	x.call(window, "document-fetch", http.MethodPost, "/licenses", license(licenseNo, x.upload(window, demoPDF)), nil, http.StatusCreated)
	x.call(window, "document-fetch", http.MethodPost, "/licenses", license(licenseNo, x.upload(window, demoPDF)), nil, http.StatusConflict)
	x.call(window, "document-fetch", http.MethodPost, "/licenses/batch",
		[]byte(`{"licenses":[`+string(license(licenseNo+"-B", x.upload(window, demoPDF)))+`,{"typeCode":"LT-GGWSXK"}]}`), nil, http.StatusOK)
	purpose := "?purpose=" + caseSerial
	x.call(portal, "document-fetch", http.MethodGet, "/licenses/"+licenseNo+purpose, nil, nil, http.StatusOK)
	x.call(portal, "document-fetch", http.MethodGet, "/licenses/"+licenseNo, nil, nil, http.StatusUnprocessableEntity)
	x.call(portal, "document-fetch", http.MethodGet, "/licenses?holderId="+holderID+"&purpose="+caseSerial, nil, nil, http.StatusOK)
	sum := sha256.Sum256(demoPDF)
	x.call(portal, "document-fetch", http.MethodPost, "/licenses/verify",
		fmt.Appendf(nil, `{"licenseNo":%q,"holderId":%q,"sha256":%q}`, licenseNo, holderID, hex.EncodeToString(sum[:])), nil, http.StatusOK)
	x.call(portal, "document-fetch", http.MethodPost, "/licenses/verify", []byte(`{"licenseNo":"x"}`), nil, http.StatusUnprocessableEntity)
	x.call(portal, "document-fetch", http.MethodPost, "/licenses/"+licenseNo+"/revoke", nil, nil, http.StatusForbidden)
	x.call(window, "document-fetch", http.MethodPost, "/licenses/"+licenseNo+"/revoke", []byte(`{"reason":"接口测试"}`), nil, http.StatusOK)
	stats := "?from=" + today + "&to=" + today + "&groupBy=type"
	x.call(supervisor, "document-fetch", http.MethodGet, "/stats/issuance"+stats, nil, nil, http.StatusOK)
	x.call(supervisor, "document-fetch", http.MethodGet, "/stats/usage"+stats, nil, nil, http.StatusOK)
	x.call(portal, "document-fetch", http.MethodGet, "/stats/usage"+stats, nil, nil, http.StatusForbidden)
	x.call(portal, "document-fetch", http.MethodGet, "/materials?holderId="+holderID, nil, nil, http.StatusOK)
	x.call(portal, "document-fetch", http.MethodGet, "/materials", nil, nil, http.StatusUnprocessableEntity)

	// payment-callback
	x.call(portal, "payment-callback", http.MethodGet, "/orders/"+paymentSerial, nil, nil, http.StatusOK)
	x.call(otherPortal, "payment-callback", http.MethodGet, "/orders/"+paymentSerial, nil, nil, http.StatusNotFound)
	notify := func(serial string) []byte {
		return fmt.Appendf(nil, `{"notifyId":%q,"paymentSerial":%q,"amountFen":5000,"status":"paid","paidAt":%q,"providerTxnId":"UP-1"}`,
			"n-"+uuid.NewString(), serial, now.Format(time.RFC3339))
	}
	x.call(payer, "payment-callback", http.MethodPost, "/", notify(paymentSerial), nil, http.StatusOK)
	x.call(payer, "payment-callback", http.MethodPost, "/", notify("13010092026010100000011"), nil, http.StatusNotFound)
	x.call(supervisor, "payment-callback", http.MethodGet, "/reconciliation?date="+today, nil, nil, http.StatusOK)
	x.call(supervisor, "payment-callback", http.MethodGet, "/reconciliation", nil, nil, http.StatusUnprocessableEntity)

	// logistics-callback
	waybill := "EMS" + strconv.FormatInt(now.UnixNano()%1e10, 10)
	shipment := fmt.Appendf(nil, `{"caseSerial":%q,"direction":"outbound","carrier":"EMS","waybillNo":%q,"recipient":{"name":"张三"}}`, caseSerial, waybill)
	x.call(window, "logistics-callback", http.MethodPost, "/shipments", shipment, nil, http.StatusCreated)
	x.call(window, "logistics-callback", http.MethodPost, "/shipments", shipment, nil, http.StatusConflict)
	x.call(courier, "logistics-callback", http.MethodPost, "/", fmt.Appendf(nil,
		`{"waybillNo":%q,"events":[{"eventId":"e1","status":"picked_up","at":%q,"location":"石家庄"}]}`, waybill, now.Add(-time.Minute).Format(time.RFC3339)),
		nil, http.StatusOK)
	x.call(courier, "logistics-callback", http.MethodPost, "/", []byte(`{"waybillNo":"x","events":[{"eventId":"e1","status":"teleported"}]}`), nil, http.StatusUnprocessableEntity)
	x.call(portal, "logistics-callback", http.MethodGet, "/shipments/"+waybill, nil, nil, http.StatusOK)
	x.call(portal, "logistics-callback", http.MethodGet, "/shipments/NO-SUCH-WAYBILL", nil, nil, http.StatusNotFound)

	// warning-scan
	x.call(nil, "warning-scan", http.MethodPost, "/", nil, nil, http.StatusOK)
	x.call(portal, "warning-scan", http.MethodGet, "/calendar/2026", nil, nil, http.StatusOK)
	x.call(admin, "warning-scan", http.MethodPut, "/calendar/2031", []byte(`{"holidays":["2031-01-01"],"workdays":[]}`), nil, http.StatusOK)
	x.call(admin, "warning-scan", http.MethodPut, "/calendar/2031", []byte(`{"holidays":["2031-02-30"],"workdays":[]}`), nil, http.StatusUnprocessableEntity)
	x.call(supervisor, "warning-scan", http.MethodGet, "/cards?limit=5", nil, nil, http.StatusOK)
	x.call(window, "warning-scan", http.MethodGet, "/cards?caseSerial="+caseSerial, nil, nil, http.StatusOK)
	x.call(supervisor, "warning-scan", http.MethodGet, "/cards?level=purple", nil, nil, http.StatusUnprocessableEntity)
	x.call(window, "warning-scan", http.MethodPost, "/cards/"+uuid.NewString()+"/revocation", []byte(`{"reason":"已按时办结"}`), nil, http.StatusNotFound)
	x.call(supervisor, "warning-scan", http.MethodPost, "/cards/"+uuid.NewString()+"/revocation/decision", []byte(`{"note":"?"}`), nil, http.StatusUnprocessableEntity)
	x.call(supervisor, "warning-scan", http.MethodGet, "/stats?from="+today+"&to="+today+"&groupBy=item", nil, nil, http.StatusOK)
	x.call(supervisor, "warning-scan", http.MethodGet, "/stats?from=yesterday", nil, nil, http.StatusUnprocessableEntity)
	x.call(admin, "warning-scan", http.MethodPut, "/thresholds/items/"+item, []byte(`{"yellowDaysBefore":1}`), nil, http.StatusOK)
	x.call(supervisor, "warning-scan", http.MethodGet, "/thresholds/items/"+item, nil, nil, http.StatusOK)
	x.call(supervisor, "warning-scan", http.MethodGet, "/thresholds/planets/mars", nil, nil, http.StatusNotFound)

	// The case once more, now with its payment, shipment, events and deliveries.
	x.call(portal, "case-submit", http.MethodGet, "/cases/"+caseSerial, nil, nil, http.StatusOK)

	// Every documented operation, as an admin with an empty body: it must be
	// a real route (not 404 no-such-endpoint nor 405) and answer only what
	// the document lists for it.
	for _, op := range api.ops {
		var c *client.Client
		if !op.Public {
			c = admin
		}
		a := x.call(c, op.Function, op.Method, placeholderPath(op.Subpath), nil, nil, 0)
		if a.status == http.StatusMethodNotAllowed || (a.status == http.StatusNotFound && strings.Contains(string(a.body), "no such endpoint")) {
			t.Errorf("%s (%s) is not served: %v", op, op.ID, a)
		}
	}

	// Every operation answered at least once, and all but those that need
	// state a test cannot make quickly answered 2xx.
	needsACard := map[string]bool{"requestCardRevocation": true, "decideCardRevocation": true}
	for _, op := range api.ops {
		statuses := x.answered[op.ID]
		if len(statuses) == 0 {
			t.Errorf("%s (%s) never answered", op, op.ID)
			continue
		}
		if !needsACard[op.ID] && !slices.ContainsFunc(statuses, func(s int) bool { return s < 400 }) {
			t.Errorf("%s (%s): no success checked (statuses %v)", op, op.ID, statuses)
		}
		t.Logf("%-28s %v", op.ID, statuses)
	}
}

// placeholderPath fills {param} segments with a value that names nothing.
func placeholderPath(subpath string) string {
	segs := strings.Split(subpath, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "openapi-probe"
		}
	}
	return strings.Join(segs, "/")
}

// walkJSON calls visit for every object in v with its JSON pointer.
func walkJSON(v any, pointer string, visit func(pointer string, node map[string]any)) {
	switch n := v.(type) {
	case map[string]any:
		visit(pointer, n)
		for k, child := range n {
			walkJSON(child, pointer+"/"+pointerToken(k), visit)
		}
	case []any:
		for i, child := range n {
			walkJSON(child, pointer+"/"+strconv.Itoa(i), visit)
		}
	}
}

// resolvePointer resolves a JSON pointer (RFC 6901) in doc.
func resolvePointer(doc any, pointer string) (any, bool) {
	if pointer == "" {
		return doc, true
	}
	node := doc
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := node.(type) {
		case map[string]any:
			child, ok := n[tok]
			if !ok {
				return nil, false
			}
			node = child
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil, false
			}
			node = n[i]
		default:
			return nil, false
		}
	}
	return node, true
}

// pointerValue is resolvePointer with nil for nothing.
func pointerValue(doc any, pointer string) any {
	v, _ := resolvePointer(doc, pointer)
	return v
}

func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func sortedNames(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
