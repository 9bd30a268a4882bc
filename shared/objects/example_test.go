package objects_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/objects"
)

// The upload flow of POST /uploads and POST /cases: the function presigns
// an upload for exactly the declared bytes, the client PUTs them straight
// to the store, and on submission the function checks what arrived, sniffs
// its magic bytes and copies it into the case's layout.
func Example_uploadFlow() {
	ctx := context.Background()
	store, err := objects.New(ctx, config.ObjectStore{
		Driver: "minio", Endpoint: "127.0.0.1:9000", Bucket: "onewindow",
		AccessKey: "minioadmin", SecretKey: "minioadmin-secret",
	})
	if err != nil {
		log.Fatal(err)
	}
	// Once per deployment: the bucket, versioning, and the sweep of
	// uploads that no case references within a day.
	if err := store.EnsureBucket(ctx); err != nil {
		log.Fatal(err)
	}
	if err := store.ExpirePrefix(ctx, "uploads/", 1); err != nil {
		log.Fatal(err)
	}

	// POST /uploads {"fileName","contentType","sizeBytes","sha256"}.
	file := []byte("%PDF-1.7 ...")
	sum := sha256.Sum256(file)
	declared := hex.EncodeToString(sum[:])
	up, err := store.PresignPut(ctx, "uploads/0190f3a2", objects.PutPolicy{
		ContentType: "application/pdf", SizeBytes: int64(len(file)), SHA256: declared,
	})
	if err != nil {
		log.Fatal(err)
	}
	// 201 {"uploadId","putUrl": up.URL, "expiresAt": up.ExpiresAt, "headers": up.Headers}.

	// The client, with exactly those headers; the store refuses other bytes.
	req, _ := http.NewRequestWithContext(ctx, up.Method, up.URL, bytes.NewReader(file))
	for k, v := range up.Headers {
		req.Header[k] = v
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	// POST /cases: is it there, is it what was declared, is it a PDF?
	info, err := store.Stat(ctx, "uploads/0190f3a2")
	if errors.Is(err, objects.ErrNotFound) {
		fmt.Println("422: upload not found")
		return
	} else if err != nil {
		log.Fatal(err)
	}
	magic, err := store.GetRange(ctx, "uploads/0190f3a2", 0, 8)
	if err != nil {
		log.Fatal(err)
	}
	if info.SHA256 != declared || !bytes.HasPrefix(magic, []byte("%PDF-")) {
		fmt.Println("422: not the declared PDF")
		return
	}
	kept, err := store.Copy(ctx, "uploads/0190f3a2", "cases/0190f3b7/materials/申请表.pdf")
	if err != nil {
		log.Fatal(err)
	}

	// GET /attachments/{id}: a download URL valid at most 300 s.
	down, err := store.PresignGet(ctx, kept.Key, objects.GetPolicy{
		FileName: "申请表.pdf", ContentType: "application/pdf", Expires: 5 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = down // {"url": down.URL, "expiresAt": down.ExpiresAt, ...}
}
