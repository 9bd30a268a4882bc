package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onewindow/onewindow/infra/loadgen"
	"github.com/onewindow/onewindow/shared/client"
)

// The case-submit benchmarks apply, as hebei-portal, for an item of
// 130100-XZSP with exactly two required PDF materials, one file each. The
// item is written through catalog-lookup as onewindow-admin; the uploads
// are announced and PUT to MinIO before the measured time.
const (
	benchItem       = "SJZ-XZSP-BENCH-001"
	benchDepartment = "130100-XZSP"
	benchRegion     = "130100"
	// benchIDNumber is a resident ID with a valid GB 11643 check digit.
	benchIDNumber = "11010519491231002X"
	// warmupSubmissions are sent at warmupClients before the measured runs:
	// they warm the replicas (pools, serial blocks, statement caches), give
	// the rate that sizes the prepared uploads, and are the serials the
	// progress query reads.
	warmupSubmissions = 1000
	warmupClients     = 50
	// minPairs is the fewest attachment pairs prepared for a run.
	minPairs = 1000
	// caseReplicas is case-submit's replica count in these benchmarks
	// (stack.yml's com.openfaas.scale.min).
	caseReplicas = 2
)

var benchMaterials = [2]string{"M-BENCH-SQS", "M-BENCH-ZM"}

// errOutOfUploads fails a request of a run that used every prepared pair:
// it shows as an error in the table rather than reusing an upload.
var errOutOfUploads = errors.New("out of prepared uploads (raise -case-pairs)")

// caseBenchConfig is what the case-submit benchmarks work with.
type caseBenchConfig struct {
	Portal *client.Client // submits (platform role)
	Admin  *client.Client // writes the bench item and the department's webhook URL
	// Workers is how many uploads and warm-up requests run at once during
	// preparation.
	Workers int
	// Pairs is how many attachment pairs each POST /cases run gets; 0
	// sizes them from the warm-up rate.
	Pairs int
	// Database is the stack's PostgreSQL URL for pgbench; empty skips it.
	Database string
	// StackPID is the stack's root process when bench started it, else 0:
	// the CPU report of each pgbench run splits by it.
	StackPID int
}

// caseBench prepares and runs the case-submit benchmarks. Its setup runs
// once, on the first case benchmark selected.
type caseBench struct {
	cfg  caseBenchConfig
	http *http.Client // preparation: API calls and PUTs to presigned URLs

	setupDone bool
	receiver  *deliveryReceiver
	restore   func(context.Context) error // puts back the department's webhook URL
	serials   []string                    // submitted during the warm-up
	warmRate  float64                     // warm-up submissions per second
	// submitted holds the ok/s of each POST /cases run by clients, for the
	// ratio to pgbench.
	submitted map[int]float64
	// accepted counts the submissions answered 201 so far, warm-up included.
	accepted int
}

func newCaseBench(cfg caseBenchConfig) *caseBench {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2 * max(cfg.Workers, warmupClients)
	tr.MaxIdleConnsPerHost = tr.MaxIdleConns
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	cfg.Portal.HTTP, cfg.Admin.HTTP = hc, hc
	return &caseBench{cfg: cfg, http: hc, submitted: map[int]float64{}}
}

// benchmarks are POST /cases at 50 and at 300 clients, the progress query
// at the -c default, and PostgreSQL's ceiling for the same writes.
func (c *caseBench) benchmarks() []benchmark {
	return []benchmark{
		c.submitBenchmark(50),
		c.submitBenchmark(300),
		{
			name: fmt.Sprintf("case-submit GET /cases/{serial}, %d replicas", caseReplicas), function: "case-submit", replicas: caseReplicas,
			prepare:   func(ctx context.Context, _ time.Duration) error { return c.setup(ctx) },
			scenarios: []loadgen.Scenario{c.progressScenario()},
			notes: func(loadgen.Report) string {
				return fmt.Sprintf("deliveries received by the department since the warm-up began: %d for %d submissions\n\n",
					c.receiver.count.Load(), c.accepted) + c.notes(0, 0)
			},
		},
		{
			name: "case-submit ceiling: pgbench, the same writes in one transaction",
			run:  c.pgbench,
		},
	}
}

// submitBenchmark measures POST /cases at clients, each request with a
// pair of uploads prepared for this run alone.
func (c *caseBench) submitBenchmark(clients int) benchmark {
	pool := &submissionPool{}
	var delivered int64
	return benchmark{
		name:     fmt.Sprintf("case-submit POST /cases (2 attachments), %d clients, %d replicas", clients, caseReplicas),
		function: "case-submit", replicas: caseReplicas, clients: clients,
		prepare: func(ctx context.Context, dur time.Duration) error {
			if err := c.setup(ctx); err != nil {
				return err
			}
			if err := c.fill(ctx, pool, dur); err != nil {
				return err
			}
			delivered = c.receiver.count.Load()
			return nil
		},
		scenarios: []loadgen.Scenario{{
			Name: "case-submit POST /cases",
			OK:   func(s int) bool { return s == http.StatusCreated },
			Request: func(ctx context.Context, _, _ int) (*http.Request, error) {
				body, err := pool.take()
				if err != nil {
					return nil, err
				}
				return c.cfg.Portal.Request(ctx, "case-submit", http.MethodPost, "/cases", body, nil)
			},
		}},
		notes: func(rep loadgen.Report) string {
			c.submitted[clients] = rep.Rows[0].PerSecond
			c.accepted += rep.Rows[0].Requests - rep.Rows[0].Errors
			return fmt.Sprintf("prepared pairs %d, used %d\n\n", len(pool.bodies), min(pool.next.Load(), int64(len(pool.bodies)))) +
				c.notes(c.receiver.count.Load()-delivered, rep.Rows[0].Requests-rep.Rows[0].Errors)
		},
	}
}

// notes are the lines under a case-submit table: the machine's load and,
// for submissions, what the department's receiver got during the run.
func (c *caseBench) notes(delivered int64, submitted int) string {
	var b strings.Builder
	if submitted > 0 {
		fmt.Fprintf(&b, "deliveries (case.submitted) received by the department during the run: %d for %d submissions\n\n", delivered, submitted)
	}
	fmt.Fprintf(&b, "load average after the run: %s\n", loadAverage())
	return b.String()
}

// progressScenario reads the warm-up's cases as their submitter, spread
// over the clients.
func (c *caseBench) progressScenario() loadgen.Scenario {
	return loadgen.Scenario{
		Name: "case-submit GET /cases/{serial}",
		OK:   func(s int) bool { return s == http.StatusOK },
		Request: func(ctx context.Context, worker, seq int) (*http.Request, error) {
			if len(c.serials) == 0 {
				return nil, errors.New("no serials from the warm-up")
			}
			serial := c.serials[(worker*7919+seq)%len(c.serials)]
			return c.cfg.Portal.Request(ctx, "case-submit", http.MethodGet, "/cases/"+serial, nil, nil)
		},
	}
}

// setup writes the bench item, points the department's webhook at a
// receiver of this process, waits until case-submit's replicas see the
// item, and sends the warm-up. It runs once.
func (c *caseBench) setup(ctx context.Context) error {
	if c.setupDone {
		return nil
	}
	rcv, err := startDeliveryReceiver()
	if err != nil {
		return err
	}
	c.receiver = rcv
	if c.restore, err = c.pointWebhook(ctx, rcv.url); err != nil {
		return err
	}
	if err := c.putItem(ctx); err != nil {
		return err
	}
	if err := c.waitItemVisible(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: warm-up: %d submissions at %d clients\n", warmupSubmissions, warmupClients)
	bodies, failed, err := c.prepareBodies(ctx, warmupSubmissions)
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("warm-up: %d of %d uploads failed", failed, 2*warmupSubmissions)
	}
	if c.serials, c.warmRate, err = c.warmUp(ctx, bodies); err != nil {
		return err
	}
	c.accepted = len(c.serials)
	fmt.Fprintf(os.Stderr, "bench: warm-up: %.0f submissions/s\n", c.warmRate)
	c.setupDone = true
	return nil
}

// close puts the department's webhook URL back and stops the receiver.
func (c *caseBench) close() {
	if c.restore != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.restore(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "bench: put back the webhook URL of %s: %v\n", benchDepartment, err)
		}
	}
	if c.receiver != nil {
		c.receiver.close()
	}
}

// pointWebhook sets the department's webhookUrl to url, keeping its name,
// region and secret, and returns how to put the old URL back. Deliveries
// then succeed at the first attempt, as with a working department system,
// instead of being retried every few seconds during the runs.
func (c *caseBench) pointWebhook(ctx context.Context, url string) (func(context.Context) error, error) {
	path := "/departments/" + benchDepartment
	var dep struct {
		Name       string `json:"name"`
		Region     string `json:"region"`
		WebhookURL string `json:"webhookUrl"`
	}
	if err := c.cfg.Admin.Call(ctx, "catalog-lookup", http.MethodGet, path, nil, &dep); err != nil {
		return nil, fmt.Errorf("read department %s: %w", benchDepartment, err)
	}
	put := func(ctx context.Context, webhook string) error {
		body := map[string]string{"name": dep.Name, "region": dep.Region, "webhookUrl": webhook}
		if err := c.cfg.Admin.Call(ctx, "catalog-lookup", http.MethodPut, path, body, nil); err != nil {
			return fmt.Errorf("set the webhook URL of %s: %w", benchDepartment, err)
		}
		return nil
	}
	if err := put(ctx, url); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return put(ctx, dep.WebhookURL) }, nil
}

// putItem writes the bench item: two required PDF materials, no form.
func (c *caseBench) putItem(ctx context.Context) error {
	material := func(code, name string) map[string]any {
		return map[string]any{"code": code, "name": name, "required": true, "maxBytes": 1 << 20,
			"contentTypes": []string{"application/pdf"}}
	}
	item := map[string]any{
		"name": "压测事项（两份必需材料）", "kind": "行政许可", "department": benchDepartment, "region": benchRegion,
		"legalDays": 20, "promisedDays": 5, "acceptDays": 5,
		"materials": []any{material(benchMaterials[0], "申请书"), material(benchMaterials[1], "证明材料")},
	}
	if err := c.cfg.Admin.Call(ctx, "catalog-lookup", http.MethodPut, "/items/"+benchItem, item, nil); err != nil {
		return fmt.Errorf("put the bench item: %w", err)
	}
	return nil
}

// waitItemVisible probes case-submit with a submission without materials
// until replicas answer material_missing (the item is known) rather than
// unknown_item several times in a row: the gateway spreads the probes over
// the replicas. The catalogue promises a write within 5 s.
func (c *caseBench) waitItemVisible(ctx context.Context) error {
	probe, err := json.Marshal(submission(nil))
	if err != nil {
		return fmt.Errorf("encode probe: %w", err)
	}
	const inARow = 6
	deadline := time.Now().Add(30 * time.Second)
	for seen := 0; seen < inARow; {
		err := c.cfg.Portal.Call(ctx, "case-submit", http.MethodPost, "/cases", json.RawMessage(probe), nil)
		var pe *client.Error
		switch {
		case errors.As(err, &pe) && pe.Problem.Code == "validation_failed":
			seen++
			continue
		case errors.As(err, &pe) && pe.Problem.Code == "unknown_item":
			seen = 0
		case err != nil:
			return fmt.Errorf("probe the bench item: %w", err)
		default:
			return errors.New("probe the bench item: a submission without materials was accepted")
		}
		if time.Now().After(deadline) {
			return errors.New("case-submit did not see the bench item within 30 s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond): // the next probe; the replicas refresh on NOTIFY
		}
	}
	return nil
}

// warmUp submits bodies at warmupClients and returns the serials and the
// rate.
func (c *caseBench) warmUp(ctx context.Context, bodies [][]byte) ([]string, float64, error) {
	serials := make([]string, len(bodies))
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for range warmupClients {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(bodies)); i = next.Add(1) - 1 {
				var receipt struct {
					Serial string `json:"serial"`
				}
				if err := c.cfg.Portal.Call(ctx, "case-submit", http.MethodPost, "/cases", json.RawMessage(bodies[i]), &receipt); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				serials[i] = receipt.Serial
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, 0, fmt.Errorf("warm-up submission: %w", firstErr)
	}
	return serials, float64(len(bodies)) / time.Since(start).Seconds(), nil
}

// fill prepares a run's pairs: -case-pairs, or three times what the
// warm-up rate needs for dur (at least minPairs).
func (c *caseBench) fill(ctx context.Context, pool *submissionPool, dur time.Duration) error {
	n := c.cfg.Pairs
	if n <= 0 {
		n = max(minPairs, int(math.Ceil(3*c.warmRate*dur.Seconds())))
	}
	start := time.Now()
	bodies, failed, err := c.prepareBodies(ctx, n)
	if err != nil {
		return err
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d uploads failed during preparation; the run has %d pairs\n", failed, len(bodies))
	}
	fmt.Fprintf(os.Stderr, "bench: prepared %d pairs in %s\n", len(bodies), time.Since(start).Round(time.Millisecond))
	pool.bodies = bodies
	pool.next.Store(0)
	return nil
}

// prepareBodies uploads n pairs of PDFs with cfg.Workers at once and
// returns a submission body for each complete pair, with the number of
// uploads that failed. Only a cancelled ctx is an error.
func (c *caseBench) prepareBodies(ctx context.Context, n int) ([][]byte, int, error) {
	ids := make([]string, 2*n)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range max(c.cfg.Workers, 1) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(ids)) && ctx.Err() == nil; i = next.Add(1) - 1 {
				id, err := c.upload(ctx)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ids[i] = id
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "bench: first failed upload: %s\n", e)
	}
	bodies := make([][]byte, 0, n)
	for i := 0; i+1 < len(ids); i += 2 {
		if ids[i] == "" || ids[i+1] == "" {
			continue
		}
		b, err := json.Marshal(submission([]string{ids[i], ids[i+1]}))
		if err != nil {
			return nil, 0, fmt.Errorf("encode submission: %w", err)
		}
		bodies = append(bodies, b)
	}
	return bodies, int(failed.Load()), nil
}

// upload uploads benchPDF as the portal (uploadPDF).
func (c *caseBench) upload(ctx context.Context) (string, error) {
	return uploadPDF(ctx, c.cfg.Portal, c.http)
}

// submission is the body of POST /cases for the bench item with one
// upload per material (none for the visibility probe).
func submission(uploads []string) map[string]any {
	materials := []any{}
	for i, id := range uploads {
		materials = append(materials, map[string]any{"code": benchMaterials[i], "uploadIds": []string{id}})
	}
	return map[string]any{
		"itemCode": benchItem, "channel": "online", "region": benchRegion,
		"applicant": map[string]string{"type": "person", "name": "张三", "idType": "resident_id",
			"idNumber": benchIDNumber, "phone": "13800138000"},
		"materials": materials,
		"delivery":  map[string]string{"method": "pickup"},
	}
}

// submissionPool hands out a run's prepared bodies, each once.
type submissionPool struct {
	bodies [][]byte
	next   atomic.Int64
}

func (p *submissionPool) take() ([]byte, error) {
	i := p.next.Add(1) - 1
	if i >= int64(len(p.bodies)) {
		return nil, errOutOfUploads
	}
	return p.bodies[i], nil
}

// deliveryReceiver stands in for the department's system: it answers every
// delivery 204 and counts them.
type deliveryReceiver struct {
	url   string
	srv   *http.Server
	count atomic.Int64
}

func startDeliveryReceiver() (*deliveryReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("department receiver: %w", err)
	}
	r := &deliveryReceiver{url: "http://" + ln.Addr().String() + "/onewindow"}
	r.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.count.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = r.srv.Serve(ln) }() // returns ErrServerClosed on close
	return r, nil
}

func (r *deliveryReceiver) close() { _ = r.srv.Close() }

// loadAverage is the first three fields of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// benchPDF is a small, well-formed one-page PDF (A4, one line of text,
// a correct cross-reference table), built once.
var benchPDF, benchPDFSum = func() ([]byte, string) {
	content := "BT /F1 24 Tf 72 760 Td (OneWindow benchmark attachment) Tj ET"
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	sum := sha256.Sum256(b.Bytes())
	return b.Bytes(), hex.EncodeToString(sum[:])
}()
