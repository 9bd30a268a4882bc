package objects

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// IsUnavailable reports whether err means the object store is down or
// overloaded rather than that the request was wrong: the store answered
// 5xx (ErrUnavailable), the connection was refused, reset or cut short, the
// host did not resolve, or a network operation timed out. Register it with
// httpx.RegisterUnavailable so such errors answer 503 with Retry-After.
// A context that ended (context.DeadlineExceeded, context.Canceled) is not
// classified here; httpx handles it for every dependency.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrUnavailable) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// storeError wraps err from operation op on key (either may be empty) with
// the sentinels that the store's answer means. status is the HTTP status of
// the answer (0 when there was none) and code the S3 error code.
func storeError(op, key string, status int, code string, err error) error {
	var sentinel error
	switch {
	case code == "NoSuchKey" || code == "NoSuchVersion" || code == "NotFound" || code == "NoSuchBucket":
		sentinel = ErrNotFound
	case code == "PreconditionFailed" || code == "ConditionalRequestConflict" || status == 412:
		sentinel = ErrExists
	case code == "XAmzContentChecksumMismatch" || code == "BadDigest" || code == "XAmzContentSHA256Mismatch" || code == "InvalidChecksum":
		sentinel = ErrChecksumMismatch
	case status >= 500:
		sentinel = ErrUnavailable
	}
	prefix := op
	if key != "" {
		prefix = fmt.Sprintf("%s %q", op, key)
	}
	if sentinel == nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return fmt.Errorf("%s: %w: %w", prefix, sentinel, err)
}
