// Package client calls OneWindow functions through a gateway as one app,
// signing every request as contract section 1 says. The local CLI, the
// tests and the benchmarks use it; it is also the reference for integrators
// who write a client in another language.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/problem"
)

// Client signs and sends requests as one app. It is safe for concurrent use.
type Client struct {
	// Gateway is the base URL, e.g. http://127.0.0.1:8080.
	Gateway string
	AppID   string
	secret  string
	// HTTP sends the requests; New sets a client with a 30 s timeout.
	HTTP *http.Client
	// Now is the clock for X-Timestamp; nil means time.Now.
	Now func() time.Time
}

// New returns a client for gateway signing as appID with secret.
func New(gateway, appID, secret string) *Client {
	return &Client{
		Gateway: strings.TrimRight(gateway, "/"),
		AppID:   appID,
		secret:  secret,
		HTTP:    &http.Client{Timeout: 30 * time.Second},
	}
}

// Request builds the signed request for function at pathAndQuery ("/", or
// "/cases/13010012026112200000013?x=1"), escaped as it is to be sent. h
// adds headers (Idempotency-Key, ...); a non-empty body is sent as JSON
// unless h says otherwise.
func (c *Client) Request(ctx context.Context, function, method, pathAndQuery string, body []byte, h http.Header) (*http.Request, error) {
	if !strings.HasPrefix(pathAndQuery, "/") {
		pathAndQuery = "/" + pathAndQuery
	}
	subpath, rawQuery, _ := strings.Cut(pathAndQuery, "?")
	u, err := url.Parse(c.Gateway + "/function/" + function + subpath)
	if err != nil {
		return nil, fmt.Errorf("build URL for %s %s: %w", function, pathAndQuery, err)
	}
	u.RawQuery = rawQuery
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request for %s %s: %w", function, pathAndQuery, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if len(body) > 0 && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	nonce := Nonce()
	req.Header.Set(auth.HeaderAppID, c.AppID)
	req.Header.Set(auth.HeaderTimestamp, ts)
	req.Header.Set(auth.HeaderNonce, nonce)
	req.Header.Set(auth.HeaderSignature, auth.Sign(c.secret, auth.Signed{
		Function: function, Method: req.Method, Subpath: subpath, RawQuery: rawQuery,
		Timestamp: ts, Nonce: nonce, Body: body,
	}))
	return req, nil
}

// Do sends a signed request and returns the raw answer; the caller closes its body.
func (c *Client) Do(ctx context.Context, function, method, pathAndQuery string, body []byte, h http.Header) (*http.Response, error) {
	req, err := c.Request(ctx, function, method, pathAndQuery, body, h)
	if err != nil {
		return nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w", function, method, pathAndQuery, err)
	}
	return resp, nil
}

// Error is a non-2xx answer, with the problem the function sent.
type Error struct {
	Status  int
	Problem problem.Problem
}

func (e *Error) Error() string {
	return fmt.Sprintf("status %d: %s: %s", e.Status, e.Problem.Code, e.Problem.Detail)
}

// Call sends in as a JSON body (nil for none) and decodes a 2xx answer into
// out (nil to discard it). Any other answer is an *Error.
func (c *Client) Call(ctx context.Context, function, method, pathAndQuery string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode request body: %w", err)
		}
	}
	resp, err := c.Do(ctx, function, method, pathAndQuery, body, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s %s: read answer: %w", function, method, pathAndQuery, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Status: resp.StatusCode}
		_ = json.Unmarshal(b, &e.Problem) // a non-problem body leaves it empty
		return e
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s %s: decode answer: %w", function, method, pathAndQuery, err)
	}
	return nil
}

// Nonce returns a fresh random X-Nonce (32 hex characters).
func Nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
