package catalog

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// ETag returns the strong entity tag of a response body: a quoted hash of
// the bytes. Replicas render the same record to the same bytes (records
// are canonical JSON), so every replica gives the same tag, and anything
// that changes the answer (a new version, a department renamed, an item of
// a bundle edited) changes it.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}

// NoneMatch reports whether an If-None-Match header value matches etag, so
// that a GET answers 304 Not Modified: "*", or a comma-separated list
// holding etag, compared weakly (W/ prefixes ignored, RFC 9110 13.1.2).
func NoneMatch(header, etag string) bool {
	header = strings.TrimSpace(header)
	if header == "" {
		return false
	}
	if header == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag {
			return true
		}
	}
	return false
}
