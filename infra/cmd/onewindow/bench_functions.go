package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onewindow/onewindow/infra/loadgen"
)

// benchSearches are catalogue searches a portal's visitors type: one- and
// two-character Chinese words that the demo catalogue's names contain
// (the contract's 民宿 and 食品 among them).
var benchSearches = []string{"民宿", "食品", "许可", "卫生", "消防", "登记", "药品", "备案", "证"}

// functionBenchmarks are the load scenarios of catalog-lookup,
// document-fetch, warning-scan, payment-callback and logistics-callback,
// with the replicas stack.yml gives them. (serial-issue's and
// case-submit's are in bench.go and bench_case.go.)
func (f *fixtures) functionBenchmarks(gatewayURL string, orders int) []benchmark {
	return []benchmark{
		f.catalogBenchmark(),
		f.documentBenchmark(),
		f.warningBenchmark(),
		f.scanOnce(gatewayURL),
		f.paymentBenchmark(orders),
		f.logisticsBenchmark(),
	}
}

// catalogBenchmark reads items by code, searches and expands a bundle, as
// hebei-portal, over the demo catalogue.
func (f *fixtures) catalogBenchmark() benchmark {
	var codes []string
	return benchmark{
		name: "catalog-lookup: item by code, search, bundle",
		prepare: func(ctx context.Context, _ time.Duration) error {
			var err error
			codes, err = f.itemCodes(ctx)
			return err
		},
		scenarios: []loadgen.Scenario{
			f.itemScenario(func() []string { return codes }, 2),
			f.searchScenario(1),
			f.portalGet("catalog-lookup GET /bundles/{code}", 1, "catalog-lookup", func(int, int) string { return "/bundles/SJZ-YJS-MINSU" }),
		},
		notes: func(loadgen.Report) string { return loadNote() },
	}
}

// itemCodes lists the codes of the published items of Shijiazhuang.
func (f *fixtures) itemCodes(ctx context.Context) ([]string, error) {
	var page struct {
		Items []struct {
			Code string `json:"code"`
		} `json:"items"`
	}
	if err := f.apps.portal.Call(ctx, "catalog-lookup", http.MethodGet, "/items?region="+benchRegion+"&limit=500", nil, &page); err != nil {
		return nil, fmt.Errorf("list the catalogue's items: %w", err)
	}
	var codes []string
	for _, it := range page.Items {
		codes = append(codes, it.Code)
	}
	if len(codes) == 0 {
		return nil, errors.New("the catalogue lists no item of " + benchRegion)
	}
	return codes, nil
}

func (f *fixtures) itemScenario(codes func() []string, weight int) loadgen.Scenario {
	return f.portalGet("catalog-lookup GET /items/{code}", weight, "catalog-lookup", func(worker, seq int) string {
		c := codes()
		return "/items/" + c[(worker+seq)%len(c)]
	})
}

func (f *fixtures) searchScenario(weight int) loadgen.Scenario {
	s := f.portalGet("catalog-lookup GET /items?q=", weight, "catalog-lookup", func(worker, seq int) string {
		return "/items?q=" + url.QueryEscape(benchSearches[(worker+seq)%len(benchSearches)])
	})
	s.Check = nonEmptyItems
	return s
}

// documentBenchmark uses and verifies licenses and fetches attachments as
// hebei-portal: the reads of a portal that fills a form from licenses
// and shows an applicant the files of a case.
func (f *fixtures) documentBenchmark() benchmark {
	return benchmark{
		name: "document-fetch: license use and verify, attachment fetch",
		prepare: func(ctx context.Context, _ time.Duration) error {
			if err := f.cases.setup(ctx); err != nil {
				return err
			}
			if err := f.needLicenses(ctx); err != nil {
				return err
			}
			return f.needAttachments(ctx)
		},
		scenarios: []loadgen.Scenario{f.licenseUseScenario(2), f.verifyScenario(2), f.attachmentScenario(1)},
		notes:     func(loadgen.Report) string { return loadNote() },
	}
}

// licenseUseScenario reads a license for one of the portal's cases:
// every use names the case it serves, and is recorded before the answer.
func (f *fixtures) licenseUseScenario(weight int) loadgen.Scenario {
	return f.portalGet("document-fetch GET /licenses/{no}?purpose=", weight, "document-fetch", func(worker, seq int) string {
		l := f.licenses[(worker*13+seq)%len(f.licenses)]
		return "/licenses/" + l.no + "?purpose=" + f.serial(worker, seq)
	})
}

func (f *fixtures) verifyScenario(weight int) loadgen.Scenario {
	return loadgen.Scenario{
		Name: "document-fetch POST /licenses/verify", Weight: weight,
		OK: statusIs(http.StatusOK), Check: jsonField("status", "valid"),
		Request: func(ctx context.Context, worker, seq int) (*http.Request, error) {
			l := f.licenses[(worker*13+seq)%len(f.licenses)]
			return f.apps.portal.Request(ctx, "document-fetch", http.MethodPost, "/licenses/verify", l.verify, nil)
		},
	}
}

func (f *fixtures) attachmentScenario(weight int) loadgen.Scenario {
	return f.portalGet("document-fetch GET /attachments/{id}", weight, "document-fetch", func(worker, seq int) string {
		return "/attachments/" + f.attachments[(worker*17+seq)%len(f.attachments)]
	})
}

// warningBenchmark is the supervisor's screens: the statistics of the
// last 30 days by department and the first page of cards.
func (f *fixtures) warningBenchmark() benchmark {
	get := func(name, path string) loadgen.Scenario {
		return loadgen.Scenario{Name: name, OK: statusIs(http.StatusOK),
			Request: func(ctx context.Context, _, _ int) (*http.Request, error) {
				return f.apps.supervisor.Request(ctx, "warning-scan", http.MethodGet, path, nil, nil)
			}}
	}
	now := time.Now()
	stats := fmt.Sprintf("/stats?from=%s&to=%s&groupBy=department",
		now.AddDate(0, 0, -30).Format(time.DateOnly), now.Format(time.DateOnly))
	return benchmark{
		name: "warning-scan: stats and cards as a supervisor",
		scenarios: []loadgen.Scenario{
			get("warning-scan GET /stats (30 days, by department)", stats),
			get("warning-scan GET /cards (first page)", "/cards?limit=50"),
		},
		notes: func(loadgen.Report) string { return loadNote() },
	}
}

// scanOnce triggers one scan as cron-connector does (unauthenticated
// POST, empty body) and reports its answer: the trigger is a batch job
// the scheduler fires every 5 minutes, not a request rate.
func (f *fixtures) scanOnce(gatewayURL string) benchmark {
	return benchmark{
		name: "warning-scan: one scan, as the scheduler triggers it",
		run: func(ctx context.Context, _ time.Duration) (string, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, gatewayURL+"/function/warning-scan/", nil)
			if err != nil {
				return "", fmt.Errorf("build the scan trigger: %w", err)
			}
			start := time.Now()
			resp, err := f.http.Do(req)
			if err != nil {
				return "", fmt.Errorf("trigger the scan: %w", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			took := time.Since(start)
			if err != nil {
				return "", fmt.Errorf("read the scan's answer: %w", err)
			}
			return fmt.Sprintf("`POST /function/warning-scan/` answered %d in %s: `%s`\n\n%s",
				resp.StatusCode, millis(took), strings.TrimSpace(string(body)), loadNote()), nil
		},
	}
}

// paymentBenchmark sends the provider's paid notifications for prepared
// orders, one in five a repeat of one already sent. The run ends at dur or
// when every order has had its first notification.
func (f *fixtures) paymentBenchmark(orders int) benchmark {
	var notifier *paymentNotifier // set by prepare, read by the requests after it
	return benchmark{
		name:        "payment-callback: paid notifications, 20% repeated",
		maxRequests: orders, // about 4/5 of them first notifications: the orders last
		prepare: func(ctx context.Context, _ time.Duration) error {
			if err := f.cases.setup(ctx); err != nil { // the department's webhook
				return err
			}
			opened, err := f.openOrders(ctx, orders)
			if err != nil {
				return err
			}
			notifier, err = f.newNotifier(opened)
			return err
		},
		scenarios: []loadgen.Scenario{
			f.paymentScenario("payment-callback POST / (paid, first notification)", 4, func(int, int) ([]byte, error) {
				if b, ok := notifier.first(); ok {
					return b, nil
				}
				return nil, errors.New("out of prepared orders (raise -payment-orders)")
			}),
			f.paymentScenario("payment-callback POST / (paid, repeated notifyId)", 1, func(worker, seq int) ([]byte, error) {
				return notifier.repeat(worker, seq), nil
			}),
		},
		notes: func(loadgen.Report) string {
			return fmt.Sprintf("orders prepared %d, first notifications sent %d\n\n%s", len(notifier.bodies), notifier.used(), loadNote())
		},
	}
}

func (f *fixtures) paymentScenario(name string, weight int, body func(worker, seq int) ([]byte, error)) loadgen.Scenario {
	return loadgen.Scenario{
		Name: name, Weight: weight, OK: statusIs(http.StatusOK), Check: jsonField("code", "SUCCESS"),
		Request: func(ctx context.Context, worker, seq int) (*http.Request, error) {
			b, err := body(worker, seq)
			if err != nil {
				return nil, err
			}
			return f.apps.payer.Request(ctx, "payment-callback", http.MethodPost, "/", b, nil)
		},
	}
}

// logisticsBenchmark sends EMS's status pushes, one new event each, for
// registered waybills.
func (f *fixtures) logisticsBenchmark() benchmark {
	return benchmark{
		name: "logistics-callback: status pushes",
		prepare: func(ctx context.Context, _ time.Duration) error {
			if err := f.cases.setup(ctx); err != nil {
				return err
			}
			return f.needShipments(ctx)
		},
		scenarios: []loadgen.Scenario{f.pushScenario(1)},
		notes:     func(loadgen.Report) string { return loadNote() },
	}
}

func (f *fixtures) pushScenario(weight int) loadgen.Scenario {
	return loadgen.Scenario{
		Name: "logistics-callback POST / (one new event)", Weight: weight,
		OK: statusIs(http.StatusOK), Check: jsonField("accepted", 1.0),
		Request: func(ctx context.Context, worker, seq int) (*http.Request, error) {
			b, err := f.pushBody(worker, seq)
			if err != nil {
				return nil, fmt.Errorf("encode push: %w", err)
			}
			return f.apps.courier.Request(ctx, "logistics-callback", http.MethodPost, "/", b, nil)
		},
	}
}

// portalGet is a signed GET as hebei-portal that must answer 200.
func (f *fixtures) portalGet(name string, weight int, fn string, path func(worker, seq int) string) loadgen.Scenario {
	return loadgen.Scenario{Name: name, Weight: weight, OK: statusIs(http.StatusOK),
		Request: func(ctx context.Context, worker, seq int) (*http.Request, error) {
			return f.apps.portal.Request(ctx, fn, http.MethodGet, path(worker, seq), nil, nil)
		}}
}

func statusIs(want int) func(int) bool { return func(s int) bool { return s == want } }

// jsonField checks that the answer's top-level key holds want (numbers
// decode as float64).
func jsonField(key string, want any) func([]byte) error {
	return func(body []byte) error {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		if m[key] != want {
			return fmt.Errorf("%s is %v, want %v", key, m[key], want)
		}
		return nil
	}
}

// nonEmptyItems checks that a search found something: every bench search
// matches demo items.
func nonEmptyItems(body []byte) error {
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	if len(page.Items) == 0 {
		return errors.New("no item found")
	}
	return nil
}

// loadNote is the line under a table that says how busy the machine was.
func loadNote() string { return fmt.Sprintf("load average after the run: %s\n", loadAverage()) }
