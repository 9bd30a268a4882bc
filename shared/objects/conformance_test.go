package objects

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/testenv"
)

// The conformance suite: every driver must pass it against the same real
// MinIO (started by the test tooling, see testenv). Each subtest works in a
// bucket of its own.

func TestMinioDriver(t *testing.T) { runConformance(t, "minio") }

func TestS3Driver(t *testing.T) { runConformance(t, "s3") }

// suite holds what every subtest needs: the driver under test.
type suite struct {
	driver string // config.ObjectStore.Driver
}

func runConformance(t *testing.T, driver string) {
	s := suite{driver: driver}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"New", s.testNew},
		{"EnsureBucket", s.testEnsureBucket},
		{"PutStatGet", s.testPutStatGet},
		{"GetRange", s.testGetRange},
		{"Missing", s.testMissing},
		{"PutChecksumMismatch", s.testPutChecksumMismatch},
		{"PutIfAbsent", s.testPutIfAbsent},
		{"Versioning", s.testVersioning},
		{"PresignPut", s.testPresignPut},
		{"PresignPutIfAbsent", s.testPresignPutIfAbsent},
		{"PresignPutPolicy", s.testPresignPutPolicy},
		{"PresignGet", s.testPresignGet},
		{"PresignGetExpires", s.testPresignGetExpires},
		{"PublicEndpoint", s.testPublicEndpoint},
		{"Copy", s.testCopy},
		{"Delete", s.testDelete},
		{"ExpirePrefix", s.testExpirePrefix},
		{"List", s.testList},
		{"InvalidKeys", s.testInvalidKeys},
		{"Unavailable", s.testUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t)
		})
	}
}

// config returns test MinIO settings for a fresh bucket (removed with all
// its versions when the test ends) and the driver under test.
func (s suite) config(t *testing.T) config.ObjectStore {
	t.Helper()
	cfg := testenv.ObjectStore(t)
	cfg.Driver = s.driver
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = rawClient(t, cfg).RemoveBucketWithOptions(ctx, cfg.Bucket, minio.RemoveBucketOptions{ForceDelete: true})
	})
	return cfg
}

// open returns the store for cfg without touching the bucket.
func (s suite) open(t *testing.T, cfg config.ObjectStore) Store {
	t.Helper()
	st, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Driver, err)
	}
	return st
}

// ready returns a store on a fresh bucket that exists, and its settings.
func (s suite) ready(t *testing.T) (Store, config.ObjectStore) {
	t.Helper()
	cfg := s.config(t)
	st := s.open(t, cfg)
	if err := st.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	return st, cfg
}

// rawClient is an independent view of the store, used to check what the
// driver under test did (versioning, lifecycle, versions).
func rawClient(t testing.TB, cfg config.ObjectStore) *minio.Client {
	t.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Region: cfg.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatalf("raw client: %v", err)
	}
	return c
}

func hexSHA(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// put stores data under key with its SHA-256 or fails the test.
func put(t *testing.T, st Store, key string, data []byte, contentType string) Info {
	t.Helper()
	info, err := st.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)),
		PutOptions{ContentType: contentType, SHA256: hexSHA(data)})
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

// response is what a plain HTTP client saw.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request the way a browser or platform client would.
func do(t *testing.T, method, rawURL string, header http.Header, body []byte) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		if !strings.EqualFold(k, "Content-Length") { // net/http sets it from the body
			req.Header[k] = v
		}
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// s3Code extracts <Code> from an S3 XML error body.
func s3Code(body []byte) string {
	_, rest, ok := bytes.Cut(body, []byte("<Code>"))
	if !ok {
		return ""
	}
	code, _, _ := bytes.Cut(rest, []byte("</Code>"))
	return string(code)
}

func wantNotFound(t *testing.T, st Store, key string) {
	t.Helper()
	if info, err := st.Stat(t.Context(), key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat(%q) = %+v, %v; want ErrNotFound", key, info, err)
	}
}

func (s suite) testNew(t *testing.T) {
	cfg := s.config(t)
	for _, bad := range []func(*config.ObjectStore){
		func(c *config.ObjectStore) { c.Driver = "gcs" },
		func(c *config.ObjectStore) { c.Endpoint = "" },
		func(c *config.ObjectStore) { c.Bucket = "" },
	} {
		c := cfg
		bad(&c)
		if _, err := New(t.Context(), c); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("New(%+v) error = %v, want ErrInvalidArgument", c.Driver, err)
		}
	}
	// New and presigning never touch the network: both work against an
	// endpoint where nothing listens.
	c := cfg
	c.Endpoint = closedAddr(t)
	st, err := New(t.Context(), c)
	if err != nil {
		t.Fatalf("New with unreachable endpoint: %v", err)
	}
	if _, err := st.PresignGet(t.Context(), "a/b", GetPolicy{}); err != nil {
		t.Fatalf("PresignGet with unreachable endpoint: %v", err)
	}
}

func (s suite) testEnsureBucket(t *testing.T) {
	cfg := s.config(t)
	// Several replicas starting at once race to create the bucket.
	const replicas = 8
	errs := make([]error, replicas)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range replicas {
		st := s.open(t, cfg)
		wg.Go(func() {
			<-start
			errs[i] = st.EnsureBucket(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: EnsureBucket: %v", i, err)
		}
	}
	if err := s.open(t, cfg).EnsureBucket(t.Context()); err != nil {
		t.Fatalf("EnsureBucket on an existing bucket: %v", err)
	}
	raw := rawClient(t, cfg)
	if ok, err := raw.BucketExists(t.Context(), cfg.Bucket); err != nil || !ok {
		t.Fatalf("bucket exists = %v, %v; want true", ok, err)
	}
	v, err := raw.GetBucketVersioning(t.Context(), cfg.Bucket)
	if err != nil {
		t.Fatalf("GetBucketVersioning: %v", err)
	}
	if !v.Enabled() {
		t.Fatalf("versioning status = %q, want Enabled", v.Status)
	}
}

func (s suite) testPutStatGet(t *testing.T) {
	st, _ := s.ready(t)
	ctx := t.Context()
	tests := []struct {
		name            string
		key             string
		data            []byte
		opts            PutOptions
		wantContentType string
		wantSHA         string
	}{
		{"with checksum", "cases/2024/营业执照 副本.pdf", []byte("%PDF-1.7\n..."),
			PutOptions{ContentType: "application/pdf", SHA256: hexSHA([]byte("%PDF-1.7\n..."))},
			"application/pdf", hexSHA([]byte("%PDF-1.7\n..."))},
		{"without checksum", "licenses/L-1.bin", []byte{0, 1, 2, 3},
			PutOptions{}, "application/octet-stream", ""},
		{"empty", "empty/x", []byte{}, PutOptions{ContentType: "text/plain", SHA256: hexSHA(nil)},
			"text/plain", hexSHA(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Add(-2 * time.Second)
			info, err := st.Put(ctx, tt.key, bytes.NewReader(tt.data), int64(len(tt.data)), tt.opts)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if info.Key != tt.key || info.Size != int64(len(tt.data)) || info.ContentType != tt.wantContentType ||
				info.SHA256 != tt.wantSHA || info.ETag == "" || strings.Contains(info.ETag, `"`) || info.VersionID == "" ||
				info.LastModified.Before(before) {
				t.Fatalf("Put info = %+v; want key %q size %d type %q sha %q, an unquoted ETag, a version, a recent time",
					info, tt.key, len(tt.data), tt.wantContentType, tt.wantSHA)
			}
			stat, err := st.Stat(ctx, tt.key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			if stat != info {
				t.Fatalf("Stat = %+v, want %+v", stat, info)
			}
			rc, got, err := st.Get(ctx, tt.key)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(b, tt.data) {
				t.Fatalf("Get bytes = %q, want %q", b, tt.data)
			}
			if got.Size != info.Size || got.ContentType != info.ContentType || got.SHA256 != info.SHA256 ||
				got.VersionID != info.VersionID || got.ETag != info.ETag {
				t.Fatalf("Get info = %+v, want %+v", got, info)
			}
		})
	}
}

func (s suite) testGetRange(t *testing.T) {
	st, _ := s.ready(t)
	data := []byte("\x89PNG\r\n\x1a\nrest of the image")
	put(t, st, "r/img.png", data, "image/png")
	put(t, st, "r/empty", nil, "image/png")
	n := int64(len(data))
	tests := []struct {
		key            string
		offset, length int64
		want           []byte
	}{
		{"r/img.png", 0, 8, data[:8]},
		{"r/img.png", 4, 4, data[4:8]},
		{"r/img.png", 8, 1000, data[8:]},
		{"r/img.png", n - 1, 1, data[n-1:]},
		{"r/img.png", n, 8, []byte{}},
		{"r/img.png", n + 100, 8, []byte{}},
		{"r/empty", 0, 8, []byte{}},
	}
	for _, tt := range tests {
		got, err := st.GetRange(t.Context(), tt.key, tt.offset, tt.length)
		if err != nil {
			t.Errorf("GetRange(%q, %d, %d): %v", tt.key, tt.offset, tt.length, err)
			continue
		}
		if got == nil || !bytes.Equal(got, tt.want) {
			t.Errorf("GetRange(%q, %d, %d) = %q, want %q", tt.key, tt.offset, tt.length, got, tt.want)
		}
	}
	for _, bad := range [][2]int64{{-1, 8}, {0, 0}, {0, -5}, {0, MaxRangeBytes + 1}} {
		if _, err := st.GetRange(t.Context(), "r/img.png", bad[0], bad[1]); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("GetRange(%d, %d) error = %v, want ErrInvalidArgument", bad[0], bad[1], err)
		}
	}
}

func (s suite) testMissing(t *testing.T) {
	st, _ := s.ready(t)
	ctx := t.Context()
	const key = "no/such/object"
	calls := map[string]func() error{
		"Stat":     func() error { _, err := st.Stat(ctx, key); return err },
		"Get":      func() error { _, _, err := st.Get(ctx, key); return err },
		"GetRange": func() error { _, err := st.GetRange(ctx, key, 0, 8); return err },
		"Copy":     func() error { _, err := st.Copy(ctx, key, "dst/x"); return err },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s on a missing key: %v, want ErrNotFound", name, err)
		}
		if IsUnavailable(err) {
			t.Errorf("%s on a missing key: IsUnavailable(%v) = true", name, err)
		}
		if err != nil && !strings.Contains(err.Error(), key) {
			t.Errorf("%s error %q does not name the key", name, err)
		}
	}
}

func (s suite) testPutChecksumMismatch(t *testing.T) {
	st, _ := s.ready(t)
	data := []byte("the bytes that arrive")
	_, err := st.Put(t.Context(), "bad/sum", bytes.NewReader(data), int64(len(data)),
		PutOptions{ContentType: "text/plain", SHA256: hexSHA([]byte("the bytes that were declared"))})
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("Put with a wrong SHA-256: %v, want ErrChecksumMismatch", err)
	}
	wantNotFound(t, st, "bad/sum")
}

func (s suite) testPutIfAbsent(t *testing.T) {
	st, _ := s.ready(t)
	ctx := t.Context()
	const key = "licenses/L-0001.pdf"
	first, second := []byte("first license"), []byte("second license")
	putOnce := func(data []byte) (Info, error) {
		return st.Put(ctx, key, bytes.NewReader(data), int64(len(data)),
			PutOptions{ContentType: "application/pdf", SHA256: hexSHA(data), IfAbsent: true})
	}
	if _, err := putOnce(first); err != nil {
		t.Fatalf("first write-once Put: %v", err)
	}
	if _, err := putOnce(second); !errors.Is(err, ErrExists) {
		t.Fatalf("second write-once Put: %v, want ErrExists", err)
	}
	if info, err := st.Stat(ctx, key); err != nil || info.SHA256 != hexSHA(first) {
		t.Fatalf("after refused overwrite Stat = %+v, %v; want the first bytes", info, err)
	}
	// Write-once races: of several concurrent writers exactly one wins.
	const writers = 6
	var won, lost atomic.Int32
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			data := fmt.Appendf(nil, "racer %d", i)
			_, err := st.Put(ctx, "race/key", bytes.NewReader(data), int64(len(data)), PutOptions{IfAbsent: true})
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, ErrExists):
				lost.Add(1)
			default:
				t.Errorf("racer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || lost.Load() != writers-1 {
		t.Fatalf("concurrent write-once: %d won, %d lost; want 1 and %d", won.Load(), lost.Load(), writers-1)
	}
	// A deleted key is absent again.
	if err := st.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := putOnce(second); err != nil {
		t.Fatalf("write-once Put after Delete: %v", err)
	}
}

func (s suite) testVersioning(t *testing.T) {
	st, cfg := s.ready(t)
	const key = "cases/1/form.json"
	v1 := put(t, st, key, []byte(`{"v":1}`), "application/json")
	v2 := put(t, st, key, []byte(`{"v":2}`), "application/json")
	if v1.VersionID == "" || v1.VersionID == v2.VersionID {
		t.Fatalf("version IDs %q and %q; want two different ones", v1.VersionID, v2.VersionID)
	}
	var versions []string
	for oi := range rawClient(t, cfg).ListObjects(t.Context(), cfg.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if oi.Err != nil {
			t.Fatalf("list versions: %v", oi.Err)
		}
		versions = append(versions, oi.VersionID)
	}
	slices.Sort(versions)
	want := []string{v1.VersionID, v2.VersionID}
	slices.Sort(want)
	if !slices.Equal(versions, want) {
		t.Fatalf("stored versions %q, want %q: the first bytes must survive an overwrite", versions, want)
	}
}

// upload is one attempt of a client to use a presigned PUT.
type upload struct {
	name       string
	tamper     func(u *url.URL, h http.Header, body []byte) []byte
	wantStatus int
	wantCode   string // S3 error code, "" for any
}

func (s suite) testPresignPut(t *testing.T) {
	st, _ := s.ready(t)
	data := []byte("%PDF-1.7 the declared document")
	sum := sha256.Sum256(data)
	other := bytes.Clone(data)
	other[len(other)-1] ^= 1 // same length, other bytes
	otherSum := sha256.Sum256(other)

	tests := []upload{
		{"declared bytes", nil, http.StatusOK, ""},
		{"other bytes of the same length", func(_ *url.URL, _ http.Header, _ []byte) []byte { return other },
			http.StatusBadRequest, "XAmzContentChecksumMismatch"},
		{"other bytes with their own checksum header", func(_ *url.URL, h http.Header, _ []byte) []byte {
			h.Set(headerChecksumSHA256, base64.StdEncoding.EncodeToString(otherSum[:]))
			return other
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"without checksum header", func(_ *url.URL, h http.Header, b []byte) []byte {
			h.Del(headerChecksumSHA256)
			return b
		}, http.StatusBadRequest, "AccessDenied"},
		{"other content type", func(_ *url.URL, h http.Header, b []byte) []byte {
			h.Set("Content-Type", "text/html")
			return b
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"without content type", func(_ *url.URL, h http.Header, b []byte) []byte {
			h.Del("Content-Type")
			return b
		}, http.StatusBadRequest, "AccessDenied"},
		{"shorter body", func(_ *url.URL, _ http.Header, b []byte) []byte { return b[:len(b)-1] },
			http.StatusForbidden, "SignatureDoesNotMatch"},
		{"longer body", func(_ *url.URL, _ http.Header, b []byte) []byte { return append(b, '!') },
			http.StatusForbidden, "SignatureDoesNotMatch"},
		{"URL bent to another key", func(u *url.URL, _ http.Header, b []byte) []byte {
			u.Path += "x"
			return b
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"longer expiry claimed", func(u *url.URL, _ http.Header, b []byte) []byte {
			q := u.Query()
			q.Set("X-Amz-Expires", "604800")
			u.RawQuery = q.Encode()
			return b
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("uploads/%d/申请表.pdf", i)
			before := time.Now().Truncate(time.Second)
			p, err := st.PresignPut(t.Context(), key, PutPolicy{ContentType: "application/pdf", SizeBytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
			if err != nil {
				t.Fatalf("PresignPut: %v", err)
			}
			wantHeaders := map[string]string{
				"Content-Type":       "application/pdf",
				"Content-Length":     strconv.Itoa(len(data)),
				headerChecksumSHA256: base64.StdEncoding.EncodeToString(sum[:]),
			}
			if len(p.Headers) != len(wantHeaders) {
				t.Errorf("Headers = %v, want exactly %v", p.Headers, wantHeaders)
			}
			for k, v := range wantHeaders {
				if got := p.Headers.Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("Headers[%s] = %q, want %q (all: %v)", k, got, v, p.Headers)
				}
			}
			if p.Method != http.MethodPut {
				t.Errorf("Method = %q, want PUT", p.Method)
			}
			if lo, hi := before.Add(DefaultPutExpiry), time.Now().Add(DefaultPutExpiry); p.ExpiresAt.Before(lo) || p.ExpiresAt.After(hi) {
				t.Errorf("ExpiresAt = %v, want between %v and %v", p.ExpiresAt, lo, hi)
			}
			u, err := url.Parse(p.URL)
			if err != nil {
				t.Fatalf("parse URL: %v", err)
			}
			h, body := p.Headers.Clone(), bytes.Clone(data)
			if tt.tamper != nil {
				body = tt.tamper(u, h, body)
			}
			resp := do(t, p.Method, u.String(), h, body)
			if resp.status != tt.wantStatus || (tt.wantCode != "" && s3Code(resp.body) != tt.wantCode) {
				t.Fatalf("PUT = %d %s, want %d %s", resp.status, resp.body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus != http.StatusOK {
				wantNotFound(t, st, key)
				return
			}
			info, err := st.Stat(t.Context(), key)
			if err != nil {
				t.Fatalf("Stat after upload: %v", err)
			}
			if info.Size != int64(len(data)) || info.ContentType != "application/pdf" || info.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("Stat after upload = %+v", info)
			}
		})
	}
}

func (s suite) testPresignPutIfAbsent(t *testing.T) {
	st, _ := s.ready(t)
	data := []byte("license scan")
	p, err := st.PresignPut(t.Context(), "uploads/once", PutPolicy{
		ContentType: "image/png", SizeBytes: int64(len(data)), SHA256: hexSHA(data), IfAbsent: true, Expires: time.Minute})
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	if p.Headers.Get(headerIfNoneMatch) != "*" {
		t.Fatalf("Headers = %v, want If-None-Match: *", p.Headers)
	}
	without := p.Headers.Clone()
	without.Del(headerIfNoneMatch)
	if r := do(t, p.Method, p.URL, without, data); r.status != http.StatusBadRequest || s3Code(r.body) != "AccessDenied" {
		t.Fatalf("PUT without If-None-Match = %d %s, want 400 AccessDenied", r.status, r.body)
	}
	if r := do(t, p.Method, p.URL, p.Headers, data); r.status != http.StatusOK {
		t.Fatalf("first PUT = %d %s, want 200", r.status, r.body)
	}
	if r := do(t, p.Method, p.URL, p.Headers, data); r.status != http.StatusPreconditionFailed {
		t.Fatalf("replayed PUT = %d %s, want 412", r.status, r.body)
	}
}

func (s suite) testPresignPutPolicy(t *testing.T) {
	st := s.open(t, s.config(t)) // no bucket needed: nothing is sent
	sum := hexSHA([]byte("x"))
	good := PutPolicy{ContentType: "application/pdf", SizeBytes: 1, SHA256: sum}
	tests := []struct {
		name   string
		change func(*PutPolicy)
	}{
		{"no content type", func(p *PutPolicy) { p.ContentType = "" }},
		{"malformed content type", func(p *PutPolicy) { p.ContentType = "pdf; =" }},
		{"zero size", func(p *PutPolicy) { p.SizeBytes = 0 }},
		{"negative size", func(p *PutPolicy) { p.SizeBytes = -1 }},
		{"too large", func(p *PutPolicy) { p.SizeBytes = MaxPutBytes + 1 }},
		{"no SHA-256", func(p *PutPolicy) { p.SHA256 = "" }},
		{"uppercase SHA-256", func(p *PutPolicy) { p.SHA256 = strings.ToUpper(sum) }},
		{"short SHA-256", func(p *PutPolicy) { p.SHA256 = sum[:62] }},
		{"base64 SHA-256", func(p *PutPolicy) { p.SHA256 = base64.StdEncoding.EncodeToString([]byte(sum[:32])) }},
		{"expiry under a second", func(p *PutPolicy) { p.Expires = 500 * time.Millisecond }},
		{"negative expiry", func(p *PutPolicy) { p.Expires = -time.Minute }},
		{"expiry over 7 days", func(p *PutPolicy) { p.Expires = MaxPutExpiry + time.Second }},
	}
	for _, tt := range tests {
		p := good
		tt.change(&p)
		if _, err := st.PresignPut(t.Context(), "k", p); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: PresignPut error = %v, want ErrInvalidArgument", tt.name, err)
		}
	}
	p := good
	p.Expires = MaxPutExpiry
	got, err := st.PresignPut(t.Context(), "k", p)
	if err != nil {
		t.Fatalf("PresignPut with 7 days: %v", err)
	}
	if d := time.Until(got.ExpiresAt); d < MaxPutExpiry-5*time.Second || d > MaxPutExpiry {
		t.Fatalf("7-day URL expires in %v", d)
	}
}

func (s suite) testPresignGet(t *testing.T) {
	st, _ := s.ready(t)
	data := []byte("%PDF-1.4 license")
	put(t, st, "licenses/营业执照.pdf", data, "application/octet-stream")
	tests := []struct {
		name     string
		policy   GetPolicy
		wantType string
		wantName string // "" for no Content-Disposition
	}{
		{"plain", GetPolicy{}, "application/octet-stream", ""},
		{"Chinese file name and type", GetPolicy{FileName: "营业执照（副本）.pdf", ContentType: "application/pdf"}, "application/pdf", "营业执照（副本）.pdf"},
		{"quotes and percent", GetPolicy{FileName: `a "b" 100%.pdf`}, "application/octet-stream", `a "b" 100%.pdf`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			p, err := st.PresignGet(t.Context(), "licenses/营业执照.pdf", tt.policy)
			if err != nil {
				t.Fatalf("PresignGet: %v", err)
			}
			if p.Method != http.MethodGet || len(p.Headers) != 0 {
				t.Errorf("Method %q Headers %v, want GET and none", p.Method, p.Headers)
			}
			if lo, hi := before.Add(DefaultGetExpiry), time.Now().Add(DefaultGetExpiry); p.ExpiresAt.Before(lo) || p.ExpiresAt.After(hi) {
				t.Errorf("ExpiresAt = %v, want between %v and %v", p.ExpiresAt, lo, hi)
			}
			r := do(t, p.Method, p.URL, p.Headers, nil)
			if r.status != http.StatusOK || !bytes.Equal(r.body, data) {
				t.Fatalf("GET = %d %q, want 200 %q", r.status, r.body, data)
			}
			if got := r.header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			cd := r.header.Get("Content-Disposition")
			if tt.wantName == "" {
				if cd != "" {
					t.Errorf("Content-Disposition = %q, want none", cd)
				}
				return
			}
			disp, params, err := mime.ParseMediaType(cd)
			if err != nil || disp != "attachment" || params["filename"] != tt.wantName {
				t.Errorf("Content-Disposition %q parses as %q %q (%v), want attachment with %q", cd, disp, params, err, tt.wantName)
			}
		})
	}
	for _, d := range []time.Duration{MaxGetExpiry + time.Second, time.Hour, -time.Second, time.Millisecond} {
		if _, err := st.PresignGet(t.Context(), "licenses/营业执照.pdf", GetPolicy{Expires: d}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("PresignGet(Expires %v) error = %v, want ErrInvalidArgument", d, err)
		}
	}
	if _, err := st.PresignGet(t.Context(), "licenses/营业执照.pdf", GetPolicy{FileName: "a\nb.pdf"}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("PresignGet with a newline in the file name: %v, want ErrInvalidArgument", err)
	}
}

// testPresignGetExpires proves the store refuses a download URL once
// ExpiresAt has passed. Neither SDK lets the signing time be chosen
// (minio-go signs with the wall clock), so the test signs a 2 s URL and
// polls it, bounded, until the store refuses it.
func (s suite) testPresignGetExpires(t *testing.T) {
	st, _ := s.ready(t)
	put(t, st, "short/lived", []byte("secret"), "text/plain")
	p, err := st.PresignGet(t.Context(), "short/lived", GetPolicy{Expires: 2 * time.Second})
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	if r := do(t, p.Method, p.URL, nil, nil); r.status != http.StatusOK {
		t.Fatalf("GET before expiry = %d %s", r.status, r.body)
	}
	deadline := p.ExpiresAt.Add(5 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		r := do(t, p.Method, p.URL, nil, nil)
		at := time.Now()
		if r.status == http.StatusOK {
			if at.After(deadline) {
				t.Fatalf("URL still works at %v, %v after ExpiresAt", at, at.Sub(p.ExpiresAt))
			}
			<-tick.C
			continue
		}
		if r.status != http.StatusForbidden || !bytes.Contains(r.body, []byte("expired")) {
			t.Fatalf("GET after expiry = %d %s, want 403 Request has expired", r.status, r.body)
		}
		// MinIO runs on this machine: its clock is ours.
		if at.Before(p.ExpiresAt) {
			t.Fatalf("URL refused at %v, before ExpiresAt %v", at, p.ExpiresAt)
		}
		return
	}
}

func (s suite) testPublicEndpoint(t *testing.T) {
	cfg := s.config(t)
	host, port, err := net.SplitHostPort(cfg.Endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", cfg.Endpoint, err)
	}
	// The same MinIO under another name, as a proxy in front of it would be.
	public := net.JoinHostPort("localhost", port)
	if host == "localhost" {
		public = net.JoinHostPort("127.0.0.1", port)
	}
	cfg.PublicEndpoint = public
	st := s.open(t, cfg)
	if err := st.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("EnsureBucket: %v", err)
	}
	data := []byte("via the public name")
	up, err := st.PresignPut(t.Context(), "pub/x", PutPolicy{ContentType: "text/plain", SizeBytes: int64(len(data)), SHA256: hexSHA(data)})
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	down, err := st.PresignGet(t.Context(), "pub/x", GetPolicy{})
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	for _, p := range []Presigned{up, down} {
		if u, err := url.Parse(p.URL); err != nil || u.Host != public {
			t.Fatalf("%s URL host = %v (%v), want %s", p.Method, u, err, public)
		}
	}
	if r := do(t, up.Method, up.URL, up.Headers, data); r.status != http.StatusOK {
		t.Fatalf("PUT via public endpoint = %d %s", r.status, r.body)
	}
	if r := do(t, down.Method, down.URL, nil, nil); r.status != http.StatusOK || !bytes.Equal(r.body, data) {
		t.Fatalf("GET via public endpoint = %d %q", r.status, r.body)
	}
}

func (s suite) testCopy(t *testing.T) {
	st, _ := s.ready(t)
	data := []byte("accepted upload")
	src := put(t, st, "uploads/u1", data, "image/jpeg")
	dst, err := st.Copy(t.Context(), "uploads/u1", "cases/c1/materials/身份证.jpg")
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if dst.Key != "cases/c1/materials/身份证.jpg" || dst.Size != src.Size || dst.ContentType != "image/jpeg" ||
		dst.SHA256 != hexSHA(data) || dst.VersionID == "" {
		t.Fatalf("Copy info = %+v; want the source's size, type and SHA-256 %s", dst, hexSHA(data))
	}
	rc, _, err := st.Get(t.Context(), dst.Key)
	if err != nil {
		t.Fatalf("Get copy: %v", err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); !bytes.Equal(b, data) {
		t.Fatalf("copy holds %q, want %q", b, data)
	}
	if _, err := st.Stat(t.Context(), "uploads/u1"); err != nil {
		t.Fatalf("source after Copy: %v", err)
	}
}

func (s suite) testDelete(t *testing.T) {
	st, cfg := s.ready(t)
	put(t, st, "d/x", []byte("to delete"), "text/plain")
	if err := st.Delete(t.Context(), "d/x"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, st, "d/x")
	if err := st.Delete(t.Context(), "d/x"); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
	if err := st.Delete(t.Context(), "never/was"); err != nil {
		t.Fatalf("Delete of a key that never existed: %v", err)
	}
	// Versioning keeps the deleted bytes as a noncurrent version.
	var kept int
	for oi := range rawClient(t, cfg).ListObjects(t.Context(), cfg.Bucket, minio.ListObjectsOptions{Prefix: "d/x", WithVersions: true}) {
		if oi.Err != nil {
			t.Fatalf("list versions: %v", oi.Err)
		}
		if !oi.IsDeleteMarker && oi.Size == int64(len("to delete")) {
			kept++
		}
	}
	if kept != 1 {
		t.Fatalf("%d noncurrent versions kept after Delete, want 1", kept)
	}
}

func (s suite) testExpirePrefix(t *testing.T) {
	st, cfg := s.ready(t)
	ctx := t.Context()
	raw := rawClient(t, cfg)
	// An operator's rule, set outside OneWindow, must survive.
	operator := lifecycle.NewConfiguration()
	operator.Rules = []lifecycle.Rule{{ID: "operator", Status: "Enabled",
		RuleFilter: lifecycle.Filter{Prefix: "logs/"}, Expiration: lifecycle.Expiration{Days: 30}}}
	if err := raw.SetBucketLifecycle(ctx, cfg.Bucket, operator); err != nil {
		t.Fatalf("set operator rule: %v", err)
	}
	for _, step := range []struct {
		prefix string
		days   int
	}{{"uploads/", 1}, {"tmp/", 2}, {"uploads/", 3}} {
		if err := st.ExpirePrefix(ctx, step.prefix, step.days); err != nil {
			t.Fatalf("ExpirePrefix(%q, %d): %v", step.prefix, step.days, err)
		}
	}
	got, err := raw.GetBucketLifecycle(ctx, cfg.Bucket)
	if err != nil {
		t.Fatalf("GetBucketLifecycle: %v", err)
	}
	days := map[string]int{}
	for _, r := range got.Rules {
		prefix := cmpOr(r.RuleFilter.Prefix, r.Prefix)
		if _, dup := days[prefix]; dup {
			t.Errorf("two rules for prefix %q", prefix)
		}
		days[prefix] = int(r.Expiration.Days)
		if r.Status != "Enabled" {
			t.Errorf("rule %q status %q, want Enabled", r.ID, r.Status)
		}
		if prefix != "logs/" && r.NoncurrentVersionExpiration.NoncurrentDays != 1 {
			t.Errorf("rule %q keeps noncurrent versions %d days, want 1", r.ID, r.NoncurrentVersionExpiration.NoncurrentDays)
		}
	}
	want := map[string]int{"uploads/": 3, "tmp/": 2, "logs/": 30}
	if fmt.Sprint(days) != fmt.Sprint(want) {
		t.Fatalf("lifecycle rules expire %v, want %v", days, want)
	}
	for _, bad := range []struct {
		prefix string
		days   int
		want   error
	}{{"", 1, ErrInvalidKey}, {"/", 1, ErrInvalidKey}, {"../x/", 1, ErrInvalidKey}, {"uploads/", 0, ErrInvalidArgument}, {"uploads/", -1, ErrInvalidArgument}} {
		if err := st.ExpirePrefix(ctx, bad.prefix, bad.days); !errors.Is(err, bad.want) {
			t.Errorf("ExpirePrefix(%q, %d) = %v, want %v", bad.prefix, bad.days, err, bad.want)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s suite) testList(t *testing.T) {
	st, _ := s.ready(t)
	ctx := t.Context()
	for _, k := range []string{"list/a/2", "list/a/1", "list/b/1", "other/1", "list/a/3"} {
		put(t, st, k, []byte(k), "text/plain")
	}
	if err := st.Delete(ctx, "list/a/3"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	collect := func(prefix string, olderThan time.Time) []Info {
		t.Helper()
		var out []Info
		for info, err := range st.List(ctx, prefix, olderThan) {
			if err != nil {
				t.Fatalf("List(%q): %v", prefix, err)
			}
			out = append(out, info)
		}
		return out
	}
	keys := func(infos []Info) []string {
		var ks []string
		for _, i := range infos {
			ks = append(ks, i.Key)
		}
		return ks
	}
	all := collect("list/", time.Time{})
	if got, want := keys(all), []string{"list/a/1", "list/a/2", "list/b/1"}; !slices.Equal(got, want) {
		t.Fatalf("List(list/) = %q, want %q", got, want)
	}
	for _, i := range all {
		if i.Size != int64(len(i.Key)) || i.ETag == "" || i.LastModified.IsZero() {
			t.Errorf("List item %+v lacks size, ETag or time", i)
		}
	}
	if got, want := keys(collect("list/a/", time.Time{})), []string{"list/a/1", "list/a/2"}; !slices.Equal(got, want) {
		t.Fatalf("List(list/a/) = %q, want %q", got, want)
	}
	if got := collect("list/", time.Now().Add(time.Hour)); len(got) != 3 {
		t.Fatalf("List older than an hour ahead = %q, want all 3", keys(got))
	}
	oldest := slices.MinFunc(all, func(a, b Info) int { return a.LastModified.Compare(b.LastModified) }).LastModified
	if got := collect("list/", oldest); len(got) != 0 {
		t.Fatalf("List older than the oldest object = %q, want none", keys(got))
	}
	newest := slices.MaxFunc(all, func(a, b Info) int { return a.LastModified.Compare(b.LastModified) }).LastModified
	var wantOlder []string
	for _, i := range all {
		if i.LastModified.Before(newest) {
			wantOlder = append(wantOlder, i.Key)
		}
	}
	if got := keys(collect("list/", newest)); !slices.Equal(got, wantOlder) {
		t.Fatalf("List older than %v = %q, want %q", newest, got, wantOlder)
	}
	n := 0
	for _, err := range st.List(ctx, "list/", time.Time{}) {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		n++
		break
	}
	if n != 1 {
		t.Fatalf("stopping early saw %d items", n)
	}
	if got := len(collect("", time.Time{})); got != 4 {
		t.Fatalf("List of the whole bucket = %d items, want 4", got)
	}
	for _, err := range st.List(ctx, "../", time.Time{}) {
		if !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("List(../) error = %v, want ErrInvalidKey", err)
		}
	}
}

// testInvalidKeys checks that every method refuses a bad key before it
// sends anything: the store is a server that counts requests.
func (s suite) testInvalidKeys(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	cfg := config.ObjectStore{Driver: s.driver, Endpoint: strings.TrimPrefix(srv.URL, "http://"),
		Bucket: "b-invalid", AccessKey: "k", SecretKey: "s"}
	st := s.open(t, cfg)
	ctx := t.Context()
	const bad = "../etc/passwd"
	calls := map[string]func() error{
		"PresignPut": func() error {
			_, err := st.PresignPut(ctx, bad, PutPolicy{ContentType: "text/plain", SizeBytes: 1, SHA256: hexSHA([]byte("x"))})
			return err
		},
		"PresignGet": func() error { _, err := st.PresignGet(ctx, bad, GetPolicy{}); return err },
		"Stat":       func() error { _, err := st.Stat(ctx, bad); return err },
		"Get":        func() error { _, _, err := st.Get(ctx, bad); return err },
		"GetRange":   func() error { _, err := st.GetRange(ctx, bad, 0, 1); return err },
		"Put": func() error {
			_, err := st.Put(ctx, bad, strings.NewReader("x"), 1, PutOptions{})
			return err
		},
		"Copy from":    func() error { _, err := st.Copy(ctx, bad, "ok"); return err },
		"Copy to":      func() error { _, err := st.Copy(ctx, "ok", bad); return err },
		"Delete":       func() error { return st.Delete(ctx, bad) },
		"ExpirePrefix": func() error { return st.ExpirePrefix(ctx, bad+"/", 1) },
		"List": func() error {
			for _, err := range st.List(ctx, bad, time.Time{}) {
				return err
			}
			return nil
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s(%q) error = %v, want ErrInvalidKey", name, bad, err)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests reached the store for invalid keys, want 0", n)
	}
}

// closedAddr returns a loopback host:port where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func (s suite) testUnavailable(t *testing.T) {
	overloaded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
	}))
	t.Cleanup(overloaded.Close)
	for _, tt := range []struct {
		name     string
		endpoint string
		sentinel bool // the error carries ErrUnavailable (an answer came)
	}{
		{"connection refused", closedAddr(t), false},
		{"503 answers", strings.TrimPrefix(overloaded.URL, "http://"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := s.open(t, config.ObjectStore{Driver: s.driver, Endpoint: tt.endpoint, Bucket: "b-down",
				AccessKey: "access", SecretKey: "secret-never-in-errors"})
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			calls := map[string]func() error{
				"Stat":         func() error { _, err := st.Stat(ctx, "a/b"); return err },
				"Put":          func() error { _, err := st.Put(ctx, "a/b", strings.NewReader("x"), 1, PutOptions{}); return err },
				"EnsureBucket": func() error { return st.EnsureBucket(ctx) },
			}
			for name, call := range calls {
				err := call()
				if !IsUnavailable(err) {
					t.Errorf("%s: IsUnavailable(%v) = false, want true", name, err)
				}
				if tt.sentinel && !errors.Is(err, ErrUnavailable) {
					t.Errorf("%s: %v does not match ErrUnavailable", name, err)
				}
				if errors.Is(err, ErrNotFound) {
					t.Errorf("%s: %v matches ErrNotFound", name, err)
				}
				if err != nil && strings.Contains(err.Error(), "secret-never-in-errors") {
					t.Errorf("%s: error leaks the secret key: %v", name, err)
				}
			}
		})
	}
}

func TestIsUnavailableClassifies(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{ErrNotFound, false},
		{fmt.Errorf("stat: %w", ErrExists), false},
		{context.DeadlineExceeded, false},
		{fmt.Errorf("put: %w: boom", ErrUnavailable), true},
		{&net.OpError{Op: "dial", Err: &timeoutErr{}}, true},
		{&net.DNSError{Err: "no such host", Name: "minio"}, true},
		{storeError("stat", "k", 503, "SlowDown", errors.New("x")), true},
		{storeError("stat", "k", 500, "InternalError", errors.New("x")), true},
		{storeError("stat", "k", 403, "AccessDenied", errors.New("x")), false},
	}
	for _, tt := range tests {
		if got := IsUnavailable(tt.err); got != tt.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string   { return "i/o timeout" }
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }
