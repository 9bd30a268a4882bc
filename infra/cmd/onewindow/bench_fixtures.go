package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onewindow/onewindow/shared/client"
)

// The records the function benchmarks read and write, prepared through
// the API before the measured time and named with the run's id, so that
// runs on the same data directory never collide.
const (
	// benchPayItem is a charged item of benchDepartment without materials:
	// its cases are cheap to open, one per payment order.
	benchPayItem   = "SJZ-XZSP-BENCH-PAY"
	benchFeeFen    = 8000
	benchLicenses  = 100 // issued as sjz-xzsp-window, type benchLicenseTy
	benchLicenseTy = "LT-GGWSXK"
	// benchAttachments is how many of the warm-up's cases give their
	// attachments to GET /attachments/{id}.
	benchAttachments = 100
	benchShipments   = 100 // outbound EMS waybills on warm-up cases
	// paymentRequestWorkers is how many payment_requested events are sent
	// at once while preparing orders.
	paymentRequestWorkers = 16
)

// benchApps are the demo apps of infra/local/apps.json the benchmarks act
// as, each for the role the contract gives it.
type benchApps struct {
	portal     *client.Client // hebei-portal: applies, reads progress, uses licenses
	window     *client.Client // sjz-xzsp-window: 130100-XZSP's events and licenses
	supervisor *client.Client // sjz-supervisor: warning-scan's stats and cards
	payer      *client.Client // unionpay-gateway: payment notifications
	courier    *client.Client // ems-courier: shipment status pushes
}

func newBenchApps(gatewayURL string, secrets map[string]string, hc *http.Client) benchApps {
	as := func(id string) *client.Client {
		c := client.New(gatewayURL, id, secrets[id])
		c.HTTP = hc
		return c
	}
	return benchApps{portal: as("hebei-portal"), window: as("sjz-xzsp-window"), supervisor: as("sjz-supervisor"),
		payer: as("unionpay-gateway"), courier: as("ems-courier")}
}

// benchLicense is an issued license and the verification request that
// matches it.
type benchLicense struct {
	no     string
	verify []byte // POST /licenses/verify body
}

// paymentOrder is an open order of a case awaiting payment.
type paymentOrder struct {
	caseSerial, paymentSerial string
}

// fixtures prepares what the function benchmarks and the mixed scenario
// need, each part once, on the first benchmark that asks for it. It
// builds on the case-submit warm-up (caseBench.setup): the bench item,
// the department's webhook pointed at the bench's receiver, and 1,000
// cases of hebei-portal with two attachments each.
type fixtures struct {
	apps    benchApps
	cases   *caseBench
	http    *http.Client
	workers int
	runID   string // base 36 seconds: unique per run on one data directory

	licenses    []benchLicense
	attachments []string
	waybills    []string
	payItem     bool
	// eventSeq numbers logistics events across benchmarks.
	eventSeq atomic.Int64
}

func newFixtures(apps benchApps, cases *caseBench, workers int) *fixtures {
	return &fixtures{apps: apps, cases: cases, http: cases.http, workers: max(workers, 1),
		runID: strconv.FormatInt(time.Now().Unix(), 36)}
}

// serial is one of the warm-up's cases, spread by worker and seq.
func (f *fixtures) serial(worker, seq int) string {
	s := f.cases.serials
	return s[(worker*7919+seq)%len(s)]
}

// needLicenses issues benchLicenses licenses of the warm-up's applicant,
// each with its own uploaded file, in one POST /licenses/batch.
func (f *fixtures) needLicenses(ctx context.Context) error {
	if f.licenses != nil {
		return nil
	}
	ids := make([]string, benchLicenses)
	err := parallel(ctx, f.workers, len(ids), func(i int) error {
		id, err := uploadPDF(ctx, f.apps.window, f.http)
		ids[i] = id
		return err
	})
	if err != nil {
		return fmt.Errorf("license files: %w", err)
	}
	today := time.Now().Format(time.DateOnly)
	until := time.Now().AddDate(5, 0, 0).Format(time.DateOnly)
	batch := make([]map[string]any, len(ids))
	licenses := make([]benchLicense, len(ids))
	for i, id := range ids {
		no := fmt.Sprintf("BENCH-%s-%04d", f.runID, i)
		batch[i] = map[string]any{"typeCode": benchLicenseTy, "licenseNo": no,
			"holder":   map[string]string{"idType": "resident_id", "idNumber": benchIDNumber, "name": "张三"},
			"issuedAt": today, "validUntil": until, "data": map[string]any{"场所名称": "压测民宿"}, "uploadId": id}
		body, err := json.Marshal(map[string]string{"licenseNo": no, "holderId": benchIDNumber, "sha256": benchPDFSum})
		if err != nil {
			return fmt.Errorf("encode verification: %w", err)
		}
		licenses[i] = benchLicense{no: no, verify: body}
	}
	var res struct {
		Results []struct {
			LicenseNo string `json:"licenseNo"`
			Status    string `json:"status"`
		} `json:"results"`
	}
	if err := f.apps.window.Call(ctx, "document-fetch", http.MethodPost, "/licenses/batch",
		map[string]any{"licenses": batch}, &res); err != nil {
		return fmt.Errorf("issue the bench licenses: %w", err)
	}
	for _, r := range res.Results {
		if r.Status != "created" {
			return fmt.Errorf("issue the bench licenses: %s was %s", r.LicenseNo, r.Status)
		}
	}
	f.licenses = licenses
	return nil
}

// needAttachments reads the attachment ids of benchAttachments warm-up
// cases.
func (f *fixtures) needAttachments(ctx context.Context) error {
	if f.attachments != nil {
		return nil
	}
	n := min(benchAttachments, len(f.cases.serials))
	found := make([][]string, n)
	err := parallel(ctx, f.workers, n, func(i int) error {
		var c struct {
			Materials []struct {
				Attachments []struct {
					AttachmentID string `json:"attachmentId"`
				} `json:"attachments"`
			} `json:"materials"`
		}
		if err := f.apps.portal.Call(ctx, "case-submit", http.MethodGet, "/cases/"+f.cases.serials[i], nil, &c); err != nil {
			return fmt.Errorf("read case %s: %w", f.cases.serials[i], err)
		}
		for _, m := range c.Materials {
			for _, a := range m.Attachments {
				found[i] = append(found[i], a.AttachmentID)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var ids []string
	for _, a := range found {
		ids = append(ids, a...)
	}
	if len(ids) == 0 {
		return errors.New("the warm-up's cases have no attachments")
	}
	f.attachments = ids
	return nil
}

// needShipments registers benchShipments outbound EMS waybills, one per
// warm-up case, as the portal that submitted them.
func (f *fixtures) needShipments(ctx context.Context) error {
	if f.waybills != nil {
		return nil
	}
	waybills := make([]string, min(benchShipments, len(f.cases.serials)))
	err := parallel(ctx, f.workers, len(waybills), func(i int) error {
		no := fmt.Sprintf("BENCH%s%05d", f.runID, i)
		reg := map[string]any{"caseSerial": f.cases.serials[i], "direction": "outbound", "carrier": "EMS", "waybillNo": no,
			"recipient": map[string]string{"name": "张三", "phone": "13800138000", "address": "河北省石家庄市长安区中山东路1号"}}
		if err := f.apps.portal.Call(ctx, "logistics-callback", http.MethodPost, "/shipments", reg, nil); err != nil {
			return fmt.Errorf("register waybill %s: %w", no, err)
		}
		waybills[i] = no
		return nil
	})
	if err != nil {
		return err
	}
	f.waybills = waybills
	return nil
}

// pushBody is a courier's push of one new in_transit event for a bench
// waybill.
func (f *fixtures) pushBody(worker, seq int) ([]byte, error) {
	event := map[string]string{"eventId": fmt.Sprintf("BENCH-%s-%d", f.runID, f.eventSeq.Add(1)), "status": "in_transit",
		"at": time.Now().Format(time.RFC3339), "location": "石家庄", "description": "运输中"}
	return json.Marshal(map[string]any{"waybillNo": f.waybills[(worker*31+seq)%len(f.waybills)], "events": []any{event}})
}

// openOrders opens n payment orders: for each, a case of benchPayItem
// submitted by the portal, accepted and asked to pay benchFeeFen by
// sjz-xzsp-window, and its order's serial read back from the case.
func (f *fixtures) openOrders(ctx context.Context, n int) ([]paymentOrder, error) {
	if !f.payItem {
		item := map[string]any{"name": "压测收费事项（无材料）", "kind": "行政确认", "department": benchDepartment,
			"region": benchRegion, "legalDays": 20, "promisedDays": 5, "acceptDays": 5,
			"fee": map[string]any{"required": true, "amountFen": benchFeeFen}, "materials": []any{}}
		if err := f.cases.cfg.Admin.Call(ctx, "catalog-lookup", http.MethodPut, "/items/"+benchPayItem, item, nil); err != nil {
			return nil, fmt.Errorf("put the charged bench item: %w", err)
		}
		f.payItem = true
	}
	body := submission(nil)
	body["itemCode"] = benchPayItem
	serials := make([]string, n)
	orders := make([]paymentOrder, n)
	start := time.Now()
	err := parallel(ctx, f.workers, n, func(i int) error {
		var err error
		if serials[i], err = f.submitRetrying(ctx, body); err != nil {
			return err
		}
		return f.event(ctx, serials[i], map[string]any{"type": "accepted"})
	})
	if err != nil {
		return nil, err
	}
	err = parallel(ctx, paymentRequestWorkers, n, func(i int) error {
		return f.event(ctx, serials[i], map[string]any{"type": "payment_requested", "amountFen": benchFeeFen})
	})
	if err != nil {
		return nil, err
	}
	err = parallel(ctx, f.workers, n, func(i int) error {
		var c struct {
			Payment struct {
				PaymentSerial string `json:"paymentSerial"`
			} `json:"payment"`
		}
		if err := f.apps.window.Call(ctx, "case-submit", http.MethodGet, "/cases/"+serials[i], nil, &c); err != nil {
			return fmt.Errorf("read case %s: %w", serials[i], err)
		}
		if c.Payment.PaymentSerial == "" {
			return fmt.Errorf("case %s awaits payment without an order", serials[i])
		}
		orders[i] = paymentOrder{caseSerial: serials[i], paymentSerial: c.Payment.PaymentSerial}
		return nil
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: opened %d payment orders in %s\n", n, time.Since(start).Round(time.Millisecond))
	return orders, nil
}

// event posts an event on a case as sjz-xzsp-window.
func (f *fixtures) event(ctx context.Context, serial string, ev map[string]any) error {
	if err := f.apps.window.Call(ctx, "case-submit", http.MethodPost, "/cases/"+serial+"/events", ev, nil); err != nil {
		return fmt.Errorf("%v on %s: %w", ev["type"], serial, err)
	}
	return nil
}

// submitRetrying submits body and returns the serial, trying again while
// a replica does not know the item yet (the catalogue promises a write
// within 5 s).
func (f *fixtures) submitRetrying(ctx context.Context, body map[string]any) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var receipt struct {
			Serial string `json:"serial"`
		}
		err := f.apps.portal.Call(ctx, "case-submit", http.MethodPost, "/cases", body, &receipt)
		var pe *client.Error
		if !errors.As(err, &pe) || pe.Problem.Code != "unknown_item" || time.Now().After(deadline) {
			if err != nil {
				return "", fmt.Errorf("submit a case of %v: %w", body["itemCode"], err)
			}
			return receipt.Serial, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond): // the replicas refresh on NOTIFY
		}
	}
}

// paymentNotifier hands out the paid notifications of a run's orders:
// each order's first notification once, and repeats of those already
// handed out, as a provider resends a notification it has no answer to.
type paymentNotifier struct {
	bodies [][]byte
	next   atomic.Int64 // first notifications handed out
}

func (f *fixtures) newNotifier(orders []paymentOrder) (*paymentNotifier, error) {
	p := &paymentNotifier{bodies: make([][]byte, len(orders))}
	paidAt := time.Now().Format(time.RFC3339)
	for i, o := range orders {
		b, err := json.Marshal(map[string]any{"notifyId": fmt.Sprintf("BENCH-%s-%s", f.runID, o.paymentSerial),
			"paymentSerial": o.paymentSerial, "amountFen": benchFeeFen, "status": "paid", "paidAt": paidAt,
			"providerTxnId": "UP" + o.paymentSerial})
		if err != nil {
			return nil, fmt.Errorf("encode notification: %w", err)
		}
		p.bodies[i] = b
	}
	return p, nil
}

// first is the next order's first notification; false when every order
// has had one.
func (p *paymentNotifier) first() ([]byte, bool) {
	i := p.next.Add(1) - 1
	if i >= int64(len(p.bodies)) {
		return nil, false
	}
	return p.bodies[i], true
}

// repeat is a notification handed out before (the first order's when
// none was yet).
func (p *paymentNotifier) repeat(worker, seq int) []byte {
	n := max(min(p.next.Load(), int64(len(p.bodies))), 1)
	return p.bodies[int64(worker*7919+seq)%n]
}

// used is how many orders had their first notification.
func (p *paymentNotifier) used() int { return int(min(p.next.Load(), int64(len(p.bodies)))) }

// uploadPDF announces benchPDF as the app of as (POST /uploads) and PUTs
// it to the presigned URL; it returns the upload's id.
func uploadPDF(ctx context.Context, as *client.Client, hc *http.Client) (string, error) {
	announce := map[string]any{"fileName": "许可证.pdf", "contentType": "application/pdf",
		"sizeBytes": len(benchPDF), "sha256": benchPDFSum}
	var up struct {
		UploadID string            `json:"uploadId"`
		PutURL   string            `json:"putUrl"`
		Headers  map[string]string `json:"headers"`
	}
	if err := as.Call(ctx, "case-submit", http.MethodPost, "/uploads", announce, &up); err != nil {
		return "", fmt.Errorf("announce upload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, up.PutURL, bytes.NewReader(benchPDF))
	if err != nil {
		return "", fmt.Errorf("build PUT for upload %s: %w", up.UploadID, err)
	}
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("PUT upload %s: %w", up.UploadID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("PUT upload %s: status %d", up.UploadID, resp.StatusCode)
	}
	return up.UploadID, nil
}

// parallel runs task(0..n-1) on workers goroutines and returns the first
// error; after an error the remaining tasks are not started.
func parallel(ctx context.Context, workers, n int, task func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n) && !failed.Load() && ctx.Err() == nil; i = next.Add(1) - 1 {
				if err := task(int(i)); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
