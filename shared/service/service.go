// Package service is the runtime under every function's handler.go: it loads
// the configuration, opens the dependencies, authenticates the caller,
// routes, honours Idempotency-Key, and turns every error into a problem. A
// handler.go only declares its routes.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/audit"
	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/idempotency"
	"github.com/onewindow/onewindow/shared/metrics"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/store"
)

// An object store that is down answers 503 with Retry-After, like the database.
func init() { httpx.RegisterUnavailable(objects.IsUnavailable) }

// Service is one function: its routes and the dependencies they share.
// Construct it once per process with New; it is safe for concurrent use.
type Service struct {
	// Name is the function's name, the first line of every signature.
	Name   string
	Config config.Config

	router   httpx.Router
	initErr  error // a configuration that cannot work: every request answers 503
	db       *pgxpool.Pool
	objects  objects.Store
	verifier *auth.Verifier
	idem     *idempotency.Store
	trail    *audit.Trail

	migrateMu sync.Mutex
	migrated  atomic.Bool
}

// New loads the configuration for the function called name and lets routes
// declare its endpoints. Nothing here touches the network, so a replica is
// ready at once; the database is reached on the first request that needs it.
func New(name string, routes func(s *Service, r *httpx.Router)) *Service {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", name))
	cfg, err := config.Load(name)
	return newService(name, cfg, err, routes)
}

// NewWithConfig is New with the configuration given rather than read from
// the environment and secret files (tests, tools).
func NewWithConfig(cfg config.Config, routes func(s *Service, r *httpx.Router)) *Service {
	return newService(cfg.Function, cfg, cfg.Validate(), routes)
}

func newService(name string, cfg config.Config, cfgErr error, routes func(s *Service, r *httpx.Router)) *Service {
	s := &Service{Name: name, Config: cfg, initErr: cfgErr}
	if s.initErr == nil {
		s.initErr = s.open()
	}
	if s.initErr != nil {
		slog.Error("function misconfigured; answering 503 until fixed", "err", s.initErr)
	}
	routes(s, &s.router)
	return s
}

func (s *Service) open() error {
	ctx := context.Background()
	pool, err := store.Open(ctx, s.Config.DatabaseURL, store.PoolOptions{
		MaxConns: s.Config.DBMaxConns, ApplicationName: s.Name})
	if err != nil {
		return err
	}
	s.db = pool
	metrics.Register(metrics.PoolCollector(s.Name, pool))
	s.verifier = &auth.Verifier{Apps: auth.NewRegistry(pool, 5*time.Second), Nonces: auth.NewNonceGuard(pool),
		Limits: auth.NewRateLimits()}
	s.idem = idempotency.New(pool)
	s.trail = audit.NewTrail(pool)
	// A key whose request died is taken over once its lease ends: twice
	// the longest a request may run (write_timeout, which bounds every
	// handler's context), so a client's retry waits tens of seconds, not
	// minutes. Settle refuses an owner that outlived its lease.
	if d, err := config.Duration(os.Getenv("write_timeout"), 0); err == nil && d > 0 {
		s.idem.Lease = max(30*time.Second, 2*d)
	}
	if s.Config.Objects.Endpoint != "" {
		if s.objects, err = objects.New(ctx, s.Config.Objects); err != nil {
			return fmt.Errorf("object store: %w", err)
		}
	}
	return nil
}

// DB is the function's database pool.
func (s *Service) DB() *pgxpool.Pool { return s.db }

// Objects is the object store, nil when S3_ENDPOINT is not configured.
func (s *Service) Objects() objects.Store { return s.objects }

// Handle serves one OpenFaaS request. It never returns an error: every
// failure is an application/problem+json answer.
func (s *Service) Handle(req handler.Request) handler.Response {
	ctx := req.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	r := &httpx.Request{
		Method:    req.Method,
		Path:      req.Header.Get(httpx.PathHeader),
		RawQuery:  req.QueryString,
		Header:    req.Header,
		Body:      req.Body,
		RequestID: req.Header.Get("X-Request-Id"),
	}
	if r.Path == "" {
		r.Path = "/"
	}
	if r.RequestID == "" {
		r.RequestID = uuid.NewString()
	}
	resp := s.serve(ctx, r)
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Header.Set("X-Request-Id", r.RequestID)
	return resp
}

func (s *Service) serve(ctx context.Context, r *httpx.Request) (resp handler.Response) {
	start := time.Now()
	route, params, allowed := s.router.Match(r.Method, r.Path)
	defer func() {
		metrics.ObserveRequest(s.Name, routeLabel(route), r.Method, resp.StatusCode, time.Since(start))
		s.recordWrite(ctx, r, route, resp.StatusCode)
	}()
	if route == nil || !route.Access.Public {
		app, err := s.authenticate(ctx, r)
		if err != nil {
			return httpx.Error(ctx, r.RequestID, err)
		}
		r.App = app
	} else if err := s.ready(ctx); err != nil {
		// A public route (the cron triggers) may be the first request a
		// fresh deployment gets: it needs the schema as much as any other.
		return httpx.Error(ctx, r.RequestID, err)
	}
	switch {
	case route == nil && len(allowed) > 0:
		resp := httpx.Problem(problem.New(http.StatusMethodNotAllowed, "method_not_allowed",
			r.Method+" is not allowed here; use "+strings.Join(allowed, ", ")))
		resp.Header.Set("Allow", strings.Join(allowed, ", "))
		return resp
	case route == nil:
		return httpx.Problem(problem.NotFound("no such endpoint: " + r.Method + " " + r.Path))
	case !route.Access.Allows(r.App):
		return httpx.Problem(problem.Forbidden())
	}
	r.Params = params
	q, err := url.ParseQuery(r.RawQuery)
	if err != nil || !textQuery(q) {
		return httpx.Problem(problem.BadRequest("invalid_query", "malformed query string"))
	}
	r.Query = q

	run := func(ctx context.Context) handler.Response {
		resp, err := route.Handle(ctx, r)
		if err != nil {
			return httpx.Error(ctx, r.RequestID, err)
		}
		return resp
	}
	key := r.Header.Get("Idempotency-Key")
	if !route.Idempotent || key == "" || route.Access.Public {
		return run(ctx)
	}
	return s.idempotently(ctx, r, key, run)
}

// recordWrite keeps a write answered 2xx in the audit trail. It runs after
// the answer is settled, so a failure is logged and does not change it.
func (s *Service) recordWrite(ctx context.Context, r *httpx.Request, route *httpx.Route, status int) {
	if route == nil || r.App.ID == "" || s.trail == nil || !audit.IsWrite(r.Method, status) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err := s.trail.Record(ctx, audit.Write{AppID: r.App.ID, Function: s.Name, Method: r.Method,
		Route: route.Pattern, Path: r.Path, Status: status, RequestID: r.RequestID})
	if err != nil {
		slog.ErrorContext(ctx, "audit record lost", "err", err, "request_id", r.RequestID)
	}
}

// routeLabel is the route's pattern for the request metrics, never the
// raw path, which would give every serial its own series.
func routeLabel(route *httpx.Route) string {
	if route == nil {
		return metrics.Unmatched
	}
	return route.Pattern
}

// textQuery reports whether every name and value of q is UTF-8 without
// NUL: PostgreSQL refuses anything else as text, which would be a 500.
func textQuery(q url.Values) bool {
	text := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
	for k, vs := range q {
		if !text(k) || slices.ContainsFunc(vs, func(v string) bool { return !text(v) }) {
			return false
		}
	}
	return true
}

// authenticate verifies the signature, after making sure the schema exists
// (the first request of a fresh deployment migrates it).
func (s *Service) authenticate(ctx context.Context, r *httpx.Request) (auth.App, error) {
	if err := s.ready(ctx); err != nil {
		return auth.App{}, err
	}
	return s.verifier.Verify(ctx, auth.SignedRequest{
		Function: s.Name, Method: r.Method, Subpath: r.Path, RawQuery: r.RawQuery,
		Header: r.Header, Body: r.Body,
	})
}

func (s *Service) idempotently(ctx context.Context, r *httpx.Request, key string, run func(context.Context) handler.Response) handler.Response {
	if err := idempotency.ValidKey(key); err != nil {
		return httpx.Error(ctx, r.RequestID, err)
	}
	hash := idempotency.RequestHash(r.Method, r.Path, r.RawQuery, r.Body)
	resp, replayed, err := s.idem.Do(ctx, r.App.ID, s.Name, key, hash, func(ctx context.Context) (idempotency.Response, error) {
		out := run(ctx)
		return idempotency.Response{Status: out.StatusCode, Header: out.Header, Body: out.Body}, nil
	})
	if err != nil {
		return httpx.Error(ctx, r.RequestID, err)
	}
	out := handler.Response{StatusCode: resp.Status, Header: resp.Header.Clone(), Body: resp.Body}
	if replayed {
		if out.Header == nil {
			out.Header = http.Header{}
		}
		out.Header.Set("Idempotent-Replayed", "true")
	}
	return out
}

// ready fails while the configuration is unusable and applies migrations
// once per process (ONEWINDOW_MIGRATE=false leaves that to the operator).
func (s *Service) ready(ctx context.Context) error {
	if s.initErr != nil {
		p := problem.Unavailable("function misconfigured; see its logs")
		p.Code = "misconfigured"
		return p
	}
	if s.migrated.Load() {
		return nil
	}
	s.migrateMu.Lock()
	defer s.migrateMu.Unlock()
	if s.migrated.Load() || os.Getenv("ONEWINDOW_MIGRATE") == "false" {
		s.migrated.Store(true)
		return nil
	}
	if err := store.Migrate(ctx, s.db); err != nil {
		return fmt.Errorf("prepare schema: %w", err)
	}
	s.migrated.Store(true)
	return nil
}
