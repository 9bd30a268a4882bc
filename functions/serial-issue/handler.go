// Package function is serial-issue: unified application serial numbers
// (统一申办流水号, contract section 2).
package function

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/metrics"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/service"
)

var svc = service.New("serial-issue", func(s *service.Service, r *httpx.Router) {
	is := newIssuer(s)
	r.Post("/", httpx.Roles(auth.RolePlatform, auth.RoleDepartment, auth.RoleAdmin), is.issue)
	r.Get("/verify", httpx.Anyone, verify)
})

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }

// issuer serves POST /. Its allocator lives as long as the process; the
// numbers it holds in memory when the replica stops are gaps.
type issuer struct {
	alloc *serial.Allocator // nil without a database: the service answers 503 before routes run
}

func newIssuer(s *service.Service) *issuer {
	if s.DB() == nil {
		return &issuer{}
	}
	alloc, err := serial.NewAllocator(s.DB(), serial.Config{})
	if err != nil { // only a bad Config fails, and the default is good
		slog.Error("serial allocator", "err", err)
		return &issuer{}
	}
	metrics.Register(alloc.Collector())
	return &issuer{alloc: alloc}
}

// issue: POST / {"region","channel","count"} → 201 {"serials","issuedAt"}.
func (is *issuer) issue(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	var in serial.IssueInput
	if err := r.Decode(&in); err != nil {
		return handler.Response{}, err
	}
	req, err := in.Validate()
	if err != nil {
		return handler.Response{}, err
	}
	if is.alloc == nil {
		return handler.Response{}, problem.Unavailable("serial-issue has no database")
	}
	serials := make([]serial.Serial, req.Count)
	at, err := is.alloc.IssueInto(ctx, serials, req.Region, req.Channel)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusCreated, issueResponse{Serials: serials, IssuedAt: at.Format(time.RFC3339)}), nil
}

type issueResponse struct {
	Serials []serial.Serial `json:"serials"`
	// IssuedAt is when the serials were dated, with the +08:00 offset.
	IssuedAt string `json:"issuedAt"`
}

// verify: GET /verify?serial=... → 200 {"valid":true,...} or
// {"valid":false,"reason"}. A missing serial is valid:false, reason format:
// the answer keeps one shape for every input.
func verify(_ context.Context, r *httpx.Request) (handler.Response, error) {
	return httpx.JSON(http.StatusOK, serial.Verify(r.Query.Get("serial"))), nil
}
