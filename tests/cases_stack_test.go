package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/onewindow/onewindow/shared/client"
)

// demoPDF is a small PDF, as the magic-byte check sees it.
var demoPDF = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// caseScenario applies for 公共场所卫生许可 through the gateway as a portal
// would: uploads for every required material straight to MinIO, a
// submission sent twice with one Idempotency-Key, the progress query with
// its visibility, the department's acceptance, and the cron re-drive.
func caseScenario(t *testing.T, s *runningStack) {
	ctx := context.Background()
	portal := s.appClient(t, "hebei-portal")
	window := s.appClient(t, "sjz-xzsp-window")
	other := s.appClient(t, "wechat-hall")

	var materials []map[string]any
	for _, code := range requiredMaterials(t, portal, "SJZ-XZSP-GGWS-001") {
		materials = append(materials, map[string]any{"code": code, "uploadIds": []string{uploadThroughStack(t, portal, demoPDF)}})
	}
	body, _ := json.Marshal(map[string]any{
		"itemCode": "SJZ-XZSP-GGWS-001", "channel": "online", "region": "130102",
		"applicant": map[string]any{"type": "person", "name": "张三", "idType": "resident_id", "idNumber": "11010519491231002X", "phone": "13800138000"},
		"materials": materials, "delivery": map[string]any{"method": "pickup"},
	})
	key := http.Header{"Idempotency-Key": {"stack-" + stackRandomHex(t, 8)}, "Content-Type": {"application/json"}}
	first, err := readAnswer(portal.Do(ctx, "case-submit", http.MethodPost, "/cases", body, key))
	if err != nil || first.status != http.StatusCreated {
		t.Fatalf("submit: %v %v", first, err)
	}
	again, err := readAnswer(portal.Do(ctx, "case-submit", http.MethodPost, "/cases", body, key))
	if err != nil || again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) ||
		again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %v %v %v", again, again.header, err)
	}
	var receipt struct {
		Serial string `json:"serial"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(first.body, &receipt); err != nil || receipt.Status != "submitted" {
		t.Fatalf("receipt %s: %v", first.body, err)
	}

	progress := "/cases/" + receipt.Serial
	if a, err := signedCall(ctx, portal, "case-submit", http.MethodGet, progress, nil); err != nil || a.status != http.StatusOK ||
		!bytes.Contains(a.body, []byte(`"idNumber":"110105********002X"`)) {
		t.Errorf("progress for the submitter: %v %v", a, err)
	}
	if a, err := signedCall(ctx, other, "case-submit", http.MethodGet, progress, nil); err != nil || a.status != http.StatusNotFound {
		t.Errorf("progress for another portal: %v %v, want 404", a, err)
	}
	a, err := signedCall(ctx, window, "case-submit", http.MethodPost, progress+"/events", []byte(`{"type":"accepted","operator":"窗口一"}`))
	if err != nil || a.status != http.StatusCreated || !bytes.Contains(a.body, []byte(`"status":"accepted"`)) {
		t.Errorf("acceptance by the department: %v %v", a, err)
	}
	a, err = readAnswer(http.Post(s.url+"/function/case-submit/", "", nil))
	if err != nil || a.status != http.StatusOK || !bytes.Contains(a.body, []byte(`"sweptUploads"`)) {
		t.Errorf("cron re-drive: %v %v", a, err)
	}
}

// uploadThroughStack announces a PDF with POST /uploads and PUTs it to the
// presigned URL.
func uploadThroughStack(t *testing.T, c *client.Client, data []byte) string {
	t.Helper()
	sum := sha256.Sum256(data)
	body := fmt.Appendf(nil, `{"fileName":"申请书.pdf","contentType":"application/pdf","sizeBytes":%d,"sha256":%q}`, len(data), hex.EncodeToString(sum[:]))
	a, err := signedCall(context.Background(), c, "case-submit", http.MethodPost, "/uploads", body)
	if err != nil || a.status != http.StatusCreated {
		t.Fatalf("POST /uploads: %v %v", a, err)
	}
	var up struct {
		UploadID string            `json:"uploadId"`
		PutURL   string            `json:"putUrl"`
		Headers  map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(a.body, &up); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, up.PutURL, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	put, err := readAnswer(http.DefaultClient.Do(req))
	if err != nil || put.status != http.StatusOK {
		t.Fatalf("PUT to the presigned URL: %v %v", put, err)
	}
	return up.UploadID
}
