package objects

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Header names the drivers sign or read.
const (
	headerChecksumSHA256 = "X-Amz-Checksum-Sha256"
	headerIfNoneMatch    = "If-None-Match"
)

// putRequest is a validated PutPolicy, ready for either driver.
type putRequest struct {
	contentType string
	size        int64
	sha256B64   string // base64 of the digest, as x-amz-checksum-sha256 wants
	expires     time.Duration
	ifAbsent    bool
}

func checkPutPolicy(p PutPolicy) (putRequest, error) {
	r := putRequest{contentType: p.ContentType, size: p.SizeBytes, ifAbsent: p.IfAbsent}
	if err := checkContentType(p.ContentType, true); err != nil {
		return r, err
	}
	if p.SizeBytes < 1 || p.SizeBytes > MaxPutBytes {
		return r, fmt.Errorf("%w: size %d bytes not in 1..%d", ErrInvalidArgument, p.SizeBytes, int64(MaxPutBytes))
	}
	var err error
	if r.sha256B64, err = sha256Base64(p.SHA256); err != nil {
		return r, err
	}
	if r.expires, err = checkExpiry(p.Expires, DefaultPutExpiry, MaxPutExpiry); err != nil {
		return r, err
	}
	return r, nil
}

// getRequest is a validated GetPolicy as response-* query parameters.
type getRequest struct {
	expires time.Duration
	params  url.Values
}

func checkGetPolicy(g GetPolicy) (getRequest, error) {
	r := getRequest{params: url.Values{}}
	var err error
	if r.expires, err = checkExpiry(g.Expires, DefaultGetExpiry, MaxGetExpiry); err != nil {
		return r, err
	}
	if g.ContentType != "" {
		if err := checkContentType(g.ContentType, false); err != nil {
			return r, err
		}
		r.params.Set("response-content-type", g.ContentType)
	}
	if g.FileName != "" {
		d, err := contentDisposition(g.FileName)
		if err != nil {
			return r, err
		}
		r.params.Set("response-content-disposition", d)
	}
	return r, nil
}

// checkExpiry applies the default and the range 1 s..max, whole seconds.
func checkExpiry(d, def, maxExpiry time.Duration) (time.Duration, error) {
	if d == 0 {
		return def, nil
	}
	d = d.Truncate(time.Second)
	if d < time.Second || d > maxExpiry {
		return 0, fmt.Errorf("%w: expiry %s not in 1s..%s", ErrInvalidArgument, d, maxExpiry)
	}
	return d, nil
}

func checkContentType(ct string, required bool) error {
	if ct == "" {
		if required {
			return fmt.Errorf("%w: content type is empty", ErrInvalidArgument)
		}
		return nil
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return fmt.Errorf("%w: content type %q: %v", ErrInvalidArgument, ct, err)
	}
	return nil
}

// sha256Base64 turns a lowercase hex SHA-256 into the base64 the
// x-amz-checksum-sha256 header carries.
func sha256Base64(hexDigest string) (string, error) {
	b, err := hex.DecodeString(hexDigest)
	if err != nil || len(b) != 32 || strings.ToLower(hexDigest) != hexDigest {
		return "", fmt.Errorf("%w: SHA-256 must be 64 lowercase hex characters", ErrInvalidArgument)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// sha256Hex turns a stored x-amz-checksum-sha256 value into lowercase hex.
// Composite checksums of multipart uploads ("...-3") and anything else that
// is not the digest of the whole object give "".
func sha256Hex(b64 string) string {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != 32 {
		return ""
	}
	return hex.EncodeToString(b)
}

// contentDisposition renders an attachment disposition for name per RFC
// 6266: an ASCII-only quoted fallback for old clients, and the exact name
// as filename* in RFC 5987 UTF-8 percent-encoding.
func contentDisposition(name string) (string, error) {
	if len(name) > 1024 || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return "", fmt.Errorf("%w: file name is not UTF-8, has control characters or is too long", ErrInvalidArgument)
	}
	var fallback strings.Builder
	for _, r := range name {
		if r >= 0x20 && r < 0x7f && r != '"' && r != '\\' && r != '%' {
			fallback.WriteRune(r)
		} else {
			fallback.WriteByte('_')
		}
	}
	return `attachment; filename="` + fallback.String() + `"; filename*=UTF-8''` + rfc5987Escape(name), nil
}

// rfc5987Escape percent-encodes every byte that is not an RFC 5987 attr-char.
func rfc5987Escape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

func isAttrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}

// presignedFrom builds the Presigned answer from a signed URL, reading the
// signing time and lifetime back from its X-Amz-Date and X-Amz-Expires so
// that ExpiresAt is exactly what the store will enforce.
func presignedFrom(method string, u *url.URL, headers http.Header) (Presigned, error) {
	q := u.Query()
	signedAt, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return Presigned{}, fmt.Errorf("presigned URL has no valid X-Amz-Date: %w", err)
	}
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil {
		return Presigned{}, fmt.Errorf("presigned URL has no valid X-Amz-Expires: %w", err)
	}
	if headers == nil {
		headers = http.Header{}
	}
	return Presigned{
		URL:       u.String(),
		Method:    method,
		Headers:   headers,
		ExpiresAt: signedAt.Add(time.Duration(secs) * time.Second),
	}, nil
}

func checkRange(offset, length int64) error {
	if offset < 0 || length < 1 || length > MaxRangeBytes {
		return fmt.Errorf("%w: range offset %d length %d, want offset >= 0 and length 1..%d", ErrInvalidArgument, offset, length, MaxRangeBytes)
	}
	return nil
}

func checkPut(size int64, o PutOptions) error {
	if size < 0 || size > MaxPutBytes {
		return fmt.Errorf("%w: size %d bytes not in 0..%d", ErrInvalidArgument, size, int64(MaxPutBytes))
	}
	if err := checkContentType(o.ContentType, false); err != nil {
		return err
	}
	if o.SHA256 != "" {
		if _, err := sha256Base64(o.SHA256); err != nil {
			return err
		}
	}
	return nil
}

// expiryRuleID names the lifecycle rule ExpirePrefix owns for prefix, so
// that a second call replaces it instead of adding another.
func expiryRuleID(prefix string) string {
	sum := sha256.Sum256([]byte(prefix))
	return "onewindow-expire-" + hex.EncodeToString(sum[:8])
}

// maxExpiryDays bounds ExpirePrefix's days: 100 years.
const maxExpiryDays = 36500

func checkDays(days int) error {
	if days < 1 || days > maxExpiryDays {
		return fmt.Errorf("%w: days %d not in 1..%d", ErrInvalidArgument, days, maxExpiryDays)
	}
	return nil
}
