package function

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cards"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/metrics"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/service"
	"github.com/onewindow/onewindow/shared/webhook"
)

// supervision holds what the routes share for the life of the process.
type supervision struct {
	board     *cards.Board // nil without a database: every route answers 503
	calendars *calendar.Store
}

// newSupervision opens the card board over the database. The outbox is
// not run here: the scan wakes nobody in this process, and case-submit's
// replicas and its cron re-drive deliver what the scan queued.
func newSupervision(s *service.Service) *supervision {
	if s.DB() == nil {
		return &supervision{}
	}
	cat := catalog.Open(s.DB(), catalog.Config{})
	outbox, err := webhook.New(s.DB(), webhook.Config{Endpoints: cat})
	if err != nil {
		slog.Error("webhook outbox", "err", err)
		return &supervision{}
	}
	calendars := calendar.NewStore(s.DB(), calendar.StoreConfig{})
	board, err := cards.New(cards.Config{DB: s.DB(), Calendars: calendars, Outbox: outbox})
	if err != nil {
		slog.Error("card board", "err", err)
		return &supervision{}
	}
	metrics.Register(board.Collector())
	return &supervision{board: board, calendars: calendars}
}

// ready wraps a route so that it answers 503 when the board could not be built.
func (s *supervision) ready(h httpx.HandlerFunc) httpx.HandlerFunc {
	if s.board != nil {
		return h
	}
	return func(context.Context, *httpx.Request) (handler.Response, error) {
		return handler.Response{}, problem.Unavailable("warning-scan is not configured; see its logs")
	}
}

// scan: POST / → {"scanned","issued","escalated","durationMs"}.
func (s *supervision) scan(ctx context.Context, _ *httpx.Request) (handler.Response, error) {
	rep, err := s.board.Scan(ctx)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, rep), nil
}

// year reads {year}; a year out of range is ParseYear's 422 on PUT and a
// calendar with no data on GET.
func year(r *httpx.Request) (int, error) {
	y, err := strconv.Atoi(r.Param("year"))
	if err != nil {
		return 0, problem.NotFound("no calendar year " + r.Param("year"))
	}
	return y, nil
}

// getCalendar: GET /calendar/{year} → the year's holidays and make-up workdays.
func (s *supervision) getCalendar(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	y, err := year(r)
	if err != nil {
		return handler.Response{}, err
	}
	got, err := s.calendars.Get(ctx, y)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, got), nil
}

// putCalendar: PUT /calendar/{year} → the year as stored; every open case
// is looked at again by the next scan.
func (s *supervision) putCalendar(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	y, err := year(r)
	if err != nil {
		return handler.Response{}, err
	}
	var in calendar.YearInput
	if err := r.Decode(&in); err != nil {
		return handler.Response{}, err
	}
	parsed, err := calendar.ParseYear(y, in)
	if err != nil {
		return handler.Response{}, err
	}
	stored, err := s.calendars.Put(ctx, r.App.ID, parsed)
	if err != nil {
		return handler.Response{}, err
	}
	if _, err := s.board.Recheck(ctx); err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, stored), nil
}

// listCards: GET /cards?department=&level=&status=&caseSerial=&limit=&cursor=.
func (s *supervision) listCards(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	page, err := catalog.ParsePage(r.Query.Get("limit"), r.Query.Get("cursor"))
	if err != nil {
		return handler.Response{}, err
	}
	list, next, err := s.board.List(ctx, r.App, cards.Query{
		Department: r.Query.Get("department"), Level: cards.Level(r.Query.Get("level")),
		Status: cards.Status(r.Query.Get("status")), CaseSerial: r.Query.Get("caseSerial"),
		Limit: page.Limit, Cursor: page.Cursor,
	})
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, struct {
		Items      []cards.Card `json:"items"`
		NextCursor string       `json:"nextCursor,omitempty"`
	}{list, next}), nil
}

// requestRevocation: POST /cards/{cardId}/revocation {"reason"}.
func (s *supervision) requestRevocation(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := r.Decode(&in); err != nil {
		return handler.Response{}, err
	}
	card, err := s.board.RequestRevocation(ctx, r.App, r.Param("cardId"), in.Reason)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, card), nil
}

// decideRevocation: POST /cards/{cardId}/revocation/decision {"approve","note"}.
func (s *supervision) decideRevocation(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	var in struct {
		Approve *bool  `json:"approve"`
		Note    string `json:"note"`
	}
	if err := r.Decode(&in); err != nil {
		return handler.Response{}, err
	}
	if in.Approve == nil {
		var v problem.Validation
		v.Add("approve", "required", "approve is true (revoke) or false (keep the card)")
		return handler.Response{}, v.Err()
	}
	card, err := s.board.Decide(ctx, r.App, r.Param("cardId"), *in.Approve, in.Note)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, card), nil
}

// stats: GET /stats?from=&to=&groupBy=.
func (s *supervision) stats(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	q, err := cards.ParseStatsQuery(r.Query.Get("from"), r.Query.Get("to"), r.Query.Get("groupBy"))
	if err != nil {
		return handler.Response{}, err
	}
	st, err := s.board.Stats(ctx, q)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, st), nil
}

func scope(r *httpx.Request) (cards.Scope, error) {
	switch r.Param("scope") {
	case "items":
		return cards.ItemScope, nil
	case "departments":
		return cards.DepartmentScope, nil
	}
	return "", problem.NotFound("thresholds are kept for items and departments")
}

// getThreshold: GET /thresholds/{items|departments}/{code}.
func (s *supervision) getThreshold(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	sc, err := scope(r)
	if err != nil {
		return handler.Response{}, err
	}
	t, err := s.board.Threshold(ctx, sc, r.Param("code"))
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, t), nil
}

// putThreshold: PUT /thresholds/{items|departments}/{code} {"yellowDaysBefore"}.
func (s *supervision) putThreshold(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	sc, err := scope(r)
	if err != nil {
		return handler.Response{}, err
	}
	var t cards.Thresholds
	if err := r.Decode(&t); err != nil {
		return handler.Response{}, err
	}
	if err := s.board.PutThreshold(ctx, r.App.ID, sc, r.Param("code"), t); err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, t), nil
}
