package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// The four headers of a signed request.
const (
	HeaderAppID     = "X-App-Id"
	HeaderTimestamp = "X-Timestamp" // unix seconds
	HeaderNonce     = "X-Nonce"     // 8-64 of [A-Za-z0-9_-]
	HeaderSignature = "X-Signature" // lowercase hex HMAC-SHA256
)

// Signed is what a signature covers.
type Signed struct {
	Function  string // e.g. case-submit
	Method    string // upper case
	Subpath   string // escaped, "/" when empty
	RawQuery  string // as sent, without '?'
	Timestamp string // the X-Timestamp value
	Nonce     string // the X-Nonce value
	Body      []byte // raw
}

// StringToSign joins the seven lines of contract section 1 with "\n".
func (s Signed) StringToSign() string {
	sum := sha256.Sum256(s.Body)
	subpath := s.Subpath
	if subpath == "" {
		subpath = "/"
	}
	return strings.Join([]string{s.Function, strings.ToUpper(s.Method), subpath, s.RawQuery,
		s.Timestamp, s.Nonce, hex.EncodeToString(sum[:])}, "\n")
}

// Sign returns the lowercase hex HMAC-SHA256 of s keyed with secret's UTF-8
// bytes exactly as issued.
func Sign(secret string, s Signed) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(s.StringToSign()))
	return hex.EncodeToString(mac.Sum(nil))
}

// signatureMatches compares in constant time, so the answer's timing does
// not tell how much of a forged signature was right.
func signatureMatches(secret string, s Signed, got string) bool {
	want := Sign(secret, s)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(got)))
}

// ValidNonce reports whether n is 8-64 characters of [A-Za-z0-9_-].
func ValidNonce(n string) bool {
	if len(n) < 8 || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
