// Command handler is the entrypoint of every OneWindow function: the HTTP
// server that of-watchdog (mode=http) proxies to, and that the local stack
// runs directly. It owns what a function should not have to: the listener,
// timeouts from the OpenFaaS environment, X-Request-Id, the 1 MiB body limit,
// panics, access logs, graceful shutdown, and GET /metrics for Prometheus
// on a port of its own (METRICS_PORT). The function itself is
// handler/function.Handle; build.sh explains how the module is wired.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/google/uuid"
	handler "github.com/openfaas/templates-sdk/go-http"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"handler/function"
)

const (
	// pathHeader carries the request's subpath to Handle, because
	// handler.Request has no path field: the escaped path as sent, "/" when
	// empty (e.g. "/cases/13010012026112200000013"). It is always
	// overwritten here, so a client cannot make Handle see another path.
	// shared/httpx reads it under the same name.
	pathHeader = "X-Function-Path"

	// requestIDHeader is on every request Handle sees and every response.
	requestIDHeader = "X-Request-Id"

	// healthPath is answered here without calling Handle. In OpenFaaS
	// of-watchdog answers it first; the local stack has no watchdog.
	healthPath = "/_/health"

	// maxBodyBytes is the contract's limit: larger bodies get 413 body_too_large.
	maxBodyBytes = 1 << 20

	defaultPort    = "8082" // of-watchdog's upstream_url
	defaultTimeout = 10 * time.Second

	// defaultMetricsPort serves GET /metrics in a pod: of-watchdog owns
	// 8080 and 8081, the handler 8082.
	defaultMetricsPort = "8083"
	// metricsPath is the only path the metrics listener answers.
	metricsPath = "/metrics"
)

// config holds the entrypoint's settings, read from the environment by loadConfig.
type config struct {
	addr         string        // 127.0.0.1:$PORT: only the watchdog (or the local gateway) calls us
	readTimeout  time.Duration // read_timeout: the whole request, body included
	writeTimeout time.Duration // write_timeout: until the response is written; also the shutdown grace
	// handleTimeout is the deadline of Handle's context: a little under
	// write_timeout (or exec_timeout when smaller), so that database and
	// storage calls give up while the caller can still be answered.
	handleTimeout time.Duration
	// metricsAddr is where Prometheus scrapes GET /metrics: all interfaces
	// (it scrapes the pod's IP), never through the gateway. "" is off.
	metricsAddr string
	log         *slog.Logger
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", os.Getenv("ONEWINDOW_FUNCTION"))
	if err := run(log); err != nil {
		log.Error("entrypoint stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	cfg.log = log
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { <-ctx.Done(); stop() }() // a second signal kills at once

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.metricsAddr == "" {
		return serve(ctx, ln, cfg, newHandler(function.Handle, cfg))
	}
	metricsLn, err := net.Listen("tcp", cfg.metricsAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen for metrics (METRICS_PORT): %w", err)
	}
	metricsStopped := make(chan struct{})
	go func() { defer close(metricsStopped); serveMetrics(ctx, metricsLn, cfg) }()
	err = serve(ctx, ln, cfg, newHandler(function.Handle, cfg))
	stop() // the metrics server goes down with the main one, whatever stopped it
	<-metricsStopped
	return err
}

// loadConfig reads PORT, METRICS_PORT and the OpenFaaS timeouts
// read_timeout, write_timeout and exec_timeout through getenv.
func loadConfig(getenv func(string) string) (config, error) {
	port := cmp.Or(getenv("PORT"), defaultPort)
	if !isPort(port) {
		return config{}, fmt.Errorf("PORT %q is not a port number", port)
	}
	metricsAddr, err := metricsAddrOf(getenv("METRICS_PORT"), port)
	if err != nil {
		return config{}, err
	}
	cfg := config{addr: net.JoinHostPort("127.0.0.1", port), metricsAddr: metricsAddr}
	for _, t := range []struct {
		name string
		dst  *time.Duration
	}{{"read_timeout", &cfg.readTimeout}, {"write_timeout", &cfg.writeTimeout}} {
		d, err := parseTimeout(getenv(t.name))
		if err == nil && d == 0 {
			err = errors.New("0 would leave requests without a deadline")
		}
		if err != nil {
			return config{}, fmt.Errorf("%s: %w", t.name, err)
		}
		*t.dst = d
	}
	budget := cfg.writeTimeout
	if v := getenv("exec_timeout"); v != "" {
		exec, err := parseTimeout(v)
		if err != nil {
			return config{}, fmt.Errorf("exec_timeout: %w", err)
		}
		if exec > 0 { // 0 disables it in of-watchdog
			budget = min(budget, exec)
		}
	}
	cfg.handleTimeout = budget - min(budget/10, time.Second)
	return cfg, nil
}

// isPort reports whether v is a TCP port number (0-65535).
func isPort(v string) bool {
	n, err := strconv.Atoi(v)
	return err == nil && n >= 0 && n <= math.MaxUint16
}

// metricsAddrOf is the metrics listener's address for METRICS_PORT v:
// "0" or "off" disable it (0 is no port Prometheus could be told of). Unset,
// it is 8083 where of-watchdog runs us (PORT 8082, or unset) and off
// elsewhere: the local stack runs many replicas on one host, each on its
// own PORT, and a fixed metrics port would collide.
func metricsAddrOf(v, port string) (string, error) {
	switch {
	case v == "0" || v == "off":
		return "", nil
	case v == "" && port != defaultPort:
		return "", nil
	case v == "":
		v = defaultMetricsPort
	case !isPort(v):
		return "", fmt.Errorf("METRICS_PORT %q is not a port number or off", v)
	}
	return net.JoinHostPort("", v), nil
}

// parseTimeout reads an OpenFaaS timeout the way the upstream template does:
// bare seconds ("10") or a Go duration ("10s", "1m30s"); empty means
// defaultTimeout. Unlike upstream, junk is an error, not the default: a typo
// in stack.yml should stop the replica, not silently shorten its requests.
func parseTimeout(v string) (time.Duration, error) {
	if v == "" {
		return defaultTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if n, aerr := strconv.Atoi(v); aerr == nil {
		if int64(n) > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("%q seconds is too long", v)
		}
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%q is neither seconds (10) nor a duration (10s)", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", v)
	}
	return d, nil
}

// serve serves h on ln until ctx is done, then stops accepting and lets the
// requests in flight finish, for at most write_timeout.
func serve(ctx context.Context, ln net.Listener, cfg config, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.readTimeout,
		ReadTimeout:       cfg.readTimeout,
		WriteTimeout:      cfg.writeTimeout,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(cfg.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	cfg.log.Info("listening", "addr", ln.Addr().String(), "read_timeout", cfg.readTimeout.String(),
		"write_timeout", cfg.writeTimeout.String(), "handle_timeout", cfg.handleTimeout.String())

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	cfg.log.Info("shutting down: no new connections, finishing requests in flight", "grace", cfg.writeTimeout.String())
	grace, cancel := context.WithTimeout(context.Background(), cfg.writeTimeout)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		return fmt.Errorf("shutdown: requests still in flight after %s: %w", cfg.writeTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	cfg.log.Info("stopped")
	return nil
}

// serveMetrics serves GET /metrics (the process's default Prometheus
// registry: Go runtime, process, and whatever the function registered) on
// ln until ctx is done. Its failure is logged, not fatal: the function
// keeps serving, and Prometheus reports the target down.
func serveMetrics(ctx context.Context, ln net.Listener, cfg config) {
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, promhttp.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.readTimeout,
		WriteTimeout:      cfg.writeTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	cfg.log.Info("serving metrics", "addr", ln.Addr().String(), "path", metricsPath)
	select {
	case err := <-served:
		cfg.log.Error("metrics listener stopped", "err", err)
		return
	case <-ctx.Done():
	}
	// A scrape is short; the grace only lets one in flight finish.
	grace, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		cfg.log.Warn("metrics listener: shutdown", "err", err)
	}
	<-served
}

// entrypoint is the http.Handler around Handle.
type entrypoint struct {
	handle func(handler.Request) (handler.Response, error)
	cfg    config
}

// newHandler serves the health path itself and every other request through
// handle, with the request id, the body limit, the deadline and panic
// recovery around it, and one access log line per request.
func newHandler(handle func(handler.Request) (handler.Response, error), cfg config) http.Handler {
	return &entrypoint{handle: handle, cfg: cfg}
}

func (e *entrypoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestID(r.Header.Get(requestIDHeader))
	r.Header.Set(requestIDHeader, id)
	w.Header().Set(requestIDHeader, id)
	rec := &recorder{ResponseWriter: w}
	defer func() {
		// Health checks come every few seconds; keep them out of the default log.
		level := slog.LevelInfo
		if r.URL.Path == healthPath {
			level = slog.LevelDebug
		}
		e.cfg.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.EscapedPath(),
			"status", rec.status, "duration_ms", float64(time.Since(start).Microseconds())/1000, "request_id", id)
	}()

	if r.URL.Path == healthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(rec, `{"status":"ok"}`)
		return
	}

	body, p := readBody(w, r)
	if p != nil {
		writeProblem(rec, p)
		return
	}
	r.Header.Set(pathHeader, cmp.Or(r.URL.EscapedPath(), "/"))
	ctx, cancel := context.WithTimeout(r.Context(), e.cfg.handleTimeout)
	defer cancel()
	req := handler.Request{Body: body, Header: r.Header, QueryString: r.URL.RawQuery, Method: r.Method, Host: r.Host}
	req.WithContext(ctx)

	resp, err := e.call(req, id)
	if err != nil {
		e.cfg.log.Error("Handle failed", "request_id", id, "err", err)
		writeProblem(rec, newProblem(http.StatusInternalServerError, "internal_error",
			"the function failed; quote request id "+id+" when reporting it"))
		return
	}
	for k, v := range resp.Header {
		rec.Header()[k] = v
	}
	rec.Header().Set(requestIDHeader, id) // the id in our logs wins over one Handle set
	rec.WriteHeader(cmp.Or(resp.StatusCode, http.StatusOK))
	_, _ = rec.Write(resp.Body) // the client is gone if this fails; nothing to do
}

// call runs Handle and turns a panic into an error, so that one bad request
// cannot take down the replica and every request in flight on it.
func (e *entrypoint) call(req handler.Request, id string) (resp handler.Response, err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v) // the handler asked net/http to abort the response
		}
		e.cfg.log.Error("panic in Handle", "request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		err = fmt.Errorf("panic: %v", v)
	}()
	return e.handle(req)
}

// readBody reads the whole body, at most maxBodyBytes. A declared length
// over the limit is refused before a byte is read; a body without one
// (chunked) is cut off by MaxBytesReader as soon as it passes the limit.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *problem) {
	tooLarge := func() *problem {
		w.Header().Set("Connection", "close") // do not wait for the rest of it
		return newProblem(http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the request body is larger than %d bytes (1 MiB)", maxBodyBytes))
	}
	if r.ContentLength > maxBodyBytes {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge()
	case err != nil:
		return nil, newProblem(http.StatusBadRequest, "unreadable_body", "the request body could not be read: "+err.Error())
	}
	return body, nil
}

// requestID returns the caller's X-Request-Id when it is a sane token (1-128
// letters, digits or -_.:+/=), else a new UUID. The id goes into logs and
// response headers, so spaces, quotes and control characters are refused.
func requestID(v string) string {
	ok := len(v) >= 1 && len(v) <= 128
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '/' || c == '='
	}
	if ok {
		return v
	}
	return uuid.NewString()
}

// problem is the contract's application/problem+json body (RFC 9457). The
// entrypoint cannot import shared/problem (the template builds alone), so it
// writes the same shape for the few errors it answers itself.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
}

func newProblem(status int, code, detail string) *problem {
	return &problem{Type: "urn:onewindow:problem:" + code, Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

func writeProblem(w http.ResponseWriter, p *problem) {
	body, _ := json.Marshal(p) // strings and an int: cannot fail
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// recorder remembers the status for the access log.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
