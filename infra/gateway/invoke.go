package gateway

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/onewindow/onewindow/infra/supervisor"
)

// maxAttempts bounds how many replicas one request is offered to.
const maxAttempts = 3

// invoke proxies /function/{name}{subpath} to a replica of name as
// {subpath}, "/" when empty: /function/case-submit/cases/1?x=1 reaches the
// replica as GET /cases/1?x=1. The escaped path and the raw query reach
// the function exactly as the client sent them (request signatures cover
// both), and the body is streamed through (the function enforces the
// 1 MiB limit).
//
// Retries: a request whose replica could not be reached is offered to
// another replica only when that cannot run it twice: when the connection
// was never established (a dial error, e.g. the replica just died), or
// for GET and HEAD. A request that may have reached a function is never
// sent again; it gets 502.
func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request) {
	name, subpath, ok := splitFunctionPath(requestPath(r))
	if !ok || !g.known(name) {
		writeProblem(w, r, http.StatusNotFound, "function_not_found", fmt.Sprintf("error finding function %q", name))
		return
	}
	g.invocations[name].Add(1)
	// The function would make one up; making it here puts the same id in
	// the gateway's own errors and logs.
	if r.Header.Get(requestIDHeader) == "" {
		r.Header.Set(requestIDHeader, uuid.NewString())
	}
	start := time.Now()
	rec := &statusWriter{ResponseWriter: w}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = name // replaced by the replica's address per attempt
			setTarget(pr.Out.URL, subpath, pr.In.URL.RawQuery)
			pr.Out.Host = ""
			pr.SetXForwarded()
		},
		Transport:    &functionTransport{g: g, fn: name},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { g.proxyError(w, r, name, err) },
		ErrorLog:     slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	proxy.ServeHTTP(rec, r)
	g.log.Debug("invoke", "function", name, "method", r.Method, "path", subpath, "status", rec.status,
		"duration_ms", time.Since(start).Milliseconds(), "request_id", r.Header.Get(requestIDHeader))
}

// requestPath is the request's path exactly as sent (escapes included).
func requestPath(r *http.Request) string {
	if p, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(p, "/") {
		return p
	}
	return r.URL.EscapedPath() // absolute-form request target
}

// splitFunctionPath splits "/function/{name}{subpath}" into the name and the
// subpath ("/" when empty).
func splitFunctionPath(p string) (name, subpath string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/function/")
	if !ok {
		return "", "", false
	}
	name, sub, _ := strings.Cut(rest, "/")
	return name, "/" + sub, name != ""
}

// setTarget makes u's request target exactly subpath?rawQuery. An opaque
// URL is written to the wire as is; a path starting with "//" cannot be
// opaque (it would read as a host), and goes through Path and RawPath.
func setTarget(u *url.URL, subpath, rawQuery string) {
	u.RawQuery = rawQuery // as sent: ReverseProxy drops the parameters it cannot parse
	if !strings.HasPrefix(subpath, "//") {
		u.Opaque, u.Path, u.RawPath = subpath, "", ""
		return
	}
	u.Opaque = ""
	path, err := url.PathUnescape(subpath)
	if err != nil { // cannot happen: the server parsed the same path
		path = subpath
	}
	u.Path, u.RawPath = path, subpath
}

// functionTransport sends a proxied request to a replica of fn, retrying
// on another replica when that is safe (see invoke).
type functionTransport struct {
	g  *Gateway
	fn string
}

func (t *functionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body *guardedBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &guardedBody{rc: req.Body}
	}
	var tried []*supervisor.Endpoint
	var last error
	for range maxAttempts {
		ep, err := t.g.resolver.pick(t.fn, tried)
		if err != nil {
			if last != nil {
				break // every replica failed: report the last failure
			}
			return nil, err
		}
		out := new(http.Request)
		*out = *req
		u := *req.URL
		u.Host = ep.Addr
		out.URL = &u
		if body != nil {
			out.Body = body
		}
		resp, err := ep.RoundTrip(out)
		if err == nil {
			if resp.StatusCode == http.StatusSwitchingProtocols {
				ep.Release() // an upgraded connection is not tracked
			} else {
				resp.Body = &releasingBody{ReadCloser: resp.Body, release: ep.Release}
			}
			return resp, nil
		}
		ep.Release()
		last = &upstreamError{ep: ep, err: err}
		tried = append(tried, ep)
		if req.Context().Err() != nil || !mayRetry(req.Method, body.wasRead(), err) {
			break
		}
		t.g.log.Warn("replica unreachable; retrying on another", "function", t.fn, "replica", ep.String(),
			"method", req.Method, "err", err, "request_id", req.Header.Get(requestIDHeader))
	}
	return nil, last
}

// mayRetry reports whether a request that failed with err may be sent to
// another replica: never once a byte of its body was read (the request
// line and headers were written by then), else for GET and HEAD, which are
// safe to repeat, and for any method when the connection was never
// established.
func mayRetry(method string, bodyRead bool, err error) bool {
	if bodyRead {
		return false
	}
	if method == http.MethodGet || method == http.MethodHead {
		return true
	}
	return isDialError(err)
}

// isDialError reports whether err is a failure to connect (refused,
// unreachable, timed out): nothing was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// upstreamError is a failure to get an answer from one replica.
type upstreamError struct {
	ep  *supervisor.Endpoint
	err error
}

func (e *upstreamError) Error() string { return e.ep.String() + ": " + e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// proxyError answers a request that got no response from any replica.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, fn string, err error) {
	var ue *upstreamError
	switch {
	case r.Context().Err() != nil:
		g.log.Debug("client gone", "function", fn, "err", err)
		w.WriteHeader(http.StatusBadGateway) // nobody is listening
	case errors.As(err, &ue):
		g.log.Warn("replica failed before answering", "function", fn, "replica", ue.ep.String(),
			"method", r.Method, "err", ue.err, "request_id", r.Header.Get(requestIDHeader))
		writeProblemBody(w, r, gatewayProblem{
			Problem: newProblem(http.StatusBadGateway, "upstream_failed",
				fmt.Sprintf("replica %s of %s failed before answering: %v", ue.ep, fn, ue.err)),
			Replica: fmt.Sprintf("%s-%d", fn, ue.ep.Replica),
			Pid:     ue.ep.Pid,
		})
	case errors.Is(err, errNoReplica):
		p := newProblem(http.StatusServiceUnavailable, "function_unavailable",
			fmt.Sprintf("function %s has no healthy replica right now; retry shortly", fn))
		p.RetryAfter = time.Second
		writeProblemBody(w, r, gatewayProblem{Problem: p})
	default:
		g.log.Error("proxy failed", "function", fn, "err", err)
		writeProblem(w, r, http.StatusBadGateway, "upstream_failed", err.Error())
	}
}

// guardedBody passes a request body to the transport, noting whether it
// was ever read, and does not close it: the transport closes the body on
// every error, and a retry needs it. The server closes it after the handler.
type guardedBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *guardedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *guardedBody) Close() error { return nil }

func (b *guardedBody) wasRead() bool { return b != nil && b.read.Load() }

// releasingBody releases the replica once the response has been copied.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// statusWriter remembers the status for the log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 { // not a 1xx informational answer
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (ReverseProxy's flushes) reach w.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
