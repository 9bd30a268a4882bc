// Package objects owns OneWindow's access to its S3-compatible object store
// (attachments, licenses, uploads in flight): one small Store interface with
// two drivers, minio-go (default) and aws-sdk-go-v2 (for S3-compatible
// government clouds), held to one conformance suite against a real MinIO.
//
// Clients never send bytes through a function: PresignPut hands them a URL
// whose signature covers the declared size, content type and SHA-256, so
// the store itself refuses any other bytes, and PresignGet hands them a
// short-lived download URL. Every object key is checked by ValidKey.
package objects

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"time"

	"github.com/onewindow/onewindow/shared/config"
)

// Store is one bucket of an S3-compatible object store. Implementations are
// safe for concurrent use. Every method checks its keys with ValidKey first
// (an invalid key is an error matching ErrInvalidKey, and no request is
// sent), honours ctx, and wraps store errors with the operation and key.
// A store that cannot be reached, times out or answers 5xx gives an error
// for which IsUnavailable is true.
type Store interface {
	// EnsureBucket creates the bucket if it is missing and turns object
	// versioning on, so that no write ever destroys earlier bytes. It is
	// idempotent and safe when several replicas call it at once.
	EnsureBucket(ctx context.Context) error

	// PresignPut returns a URL through which a client uploads exactly the
	// object p describes to key. It does not touch the network.
	PresignPut(ctx context.Context, key string, p PutPolicy) (Presigned, error)

	// PresignGet returns a URL through which a client downloads key. It does
	// not touch the network and does not check that key exists.
	PresignGet(ctx context.Context, key string, g GetPolicy) (Presigned, error)

	// Stat describes the current version of key. A missing key gives an
	// error matching ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)

	// Get opens the current version of key for reading; the caller closes
	// the reader. A missing key gives an error matching ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)

	// GetRange reads at most length bytes of key starting at byte offset
	// (offset >= 0, 1 <= length <= MaxRangeBytes), for sniffing magic bytes
	// without reading the whole object. It returns fewer bytes when the
	// object ends sooner, and none (with a nil error) when offset is at or
	// past its end. A missing key gives an error matching ErrNotFound.
	GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error)

	// Put stores size bytes read from r under key (server-side writes such
	// as issued licenses). size must be known: 0 <= size <= MaxPutBytes.
	// Without o.IfAbsent an existing key gets a new version (the old one is
	// kept by versioning); with it an existing key gives ErrExists.
	Put(ctx context.Context, key string, r io.Reader, size int64, o PutOptions) (Info, error)

	// Copy copies the current version of srcKey to dstKey inside the bucket,
	// keeping content type and stored checksum. Objects up to MaxPutBytes.
	// A missing srcKey gives an error matching ErrNotFound.
	Copy(ctx context.Context, srcKey, dstKey string) (Info, error)

	// Delete removes key. On the versioned bucket this adds a delete marker:
	// the key disappears from Stat, Get and List, earlier versions stay
	// until a lifecycle rule removes them. A missing key is not an error.
	Delete(ctx context.Context, key string) error

	// ExpirePrefix installs (or replaces) the bucket lifecycle rule that
	// removes objects whose key starts with prefix days days after they
	// were written (1..36500), and their noncurrent versions one day after
	// they become noncurrent. Rules for other prefixes are kept. The store
	// applies the rule in the background, typically once a day. prefix
	// must be non-empty (an empty prefix would expire the whole bucket) and
	// be a valid key, optionally ending in "/". Concurrent calls for
	// different prefixes may lose one another's rule (read-modify-write of
	// one bucket document); call it from one place at start-up.
	ExpirePrefix(ctx context.Context, prefix string, days int) error

	// List yields the current objects whose key starts with prefix, in key
	// order, last modified strictly before olderThan (the zero time means
	// no age limit). Info from List has no ContentType, SHA256 nor
	// VersionID. An error ends the sequence; stopping early is fine.
	// prefix may be empty (the whole bucket).
	List(ctx context.Context, prefix string, olderThan time.Time) iter.Seq2[Info, error]
}

// DefaultRegion is the signing region when config.ObjectStore.Region is
// empty. MinIO accepts any region it is configured with (us-east-1 unless
// MINIO_REGION says otherwise).
const DefaultRegion = "us-east-1"

// Limits on what the store is asked to do.
const (
	// DefaultPutExpiry is how long a presigned upload URL lives when
	// PutPolicy.Expires is zero.
	DefaultPutExpiry = 15 * time.Minute
	// MaxPutExpiry is the longest a presigned upload URL may live (the
	// limit of S3 signature version 4).
	MaxPutExpiry = 7 * 24 * time.Hour
	// DefaultGetExpiry, also the maximum, is how long a presigned download
	// URL lives: the contract allows at most 300 s (CONTRACT.md §5).
	DefaultGetExpiry = 300 * time.Second
	// MaxGetExpiry is the longest a presigned download URL may live.
	MaxGetExpiry = DefaultGetExpiry
	// MaxPutBytes is the largest object Put, Copy and PresignPut accept:
	// 5 GiB, the limit of one S3 PUT (multipart uploads are never used, so
	// the stored SHA-256 is always of the whole object).
	MaxPutBytes = 5 << 30
	// MaxRangeBytes is the largest length GetRange reads: 1 MiB.
	MaxRangeBytes = 1 << 20
)

// Errors that callers test with errors.Is.
var (
	// ErrNotFound: the object (or, for a HEAD request the store cannot tell
	// apart, its bucket) does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrExists: a write-once write (IfAbsent) found the key taken.
	ErrExists = errors.New("object already exists")
	// ErrInvalidKey: the key or prefix fails ValidKey; nothing was sent.
	ErrInvalidKey = errors.New("invalid object key")
	// ErrInvalidArgument: a policy or option is out of range; nothing was sent.
	ErrInvalidArgument = errors.New("invalid object store argument")
	// ErrChecksumMismatch: the store refused bytes that differ from the
	// declared SHA-256.
	ErrChecksumMismatch = errors.New("object checksum mismatch")
	// ErrUnavailable: the store answered 5xx. IsUnavailable also covers
	// network failures that do not carry this sentinel.
	ErrUnavailable = errors.New("object store unavailable")
)

// PutPolicy is what a presigned upload URL allows: exactly these bytes.
type PutPolicy struct {
	// ContentType is the media type the client must send (e.g.
	// "application/pdf"); required. The store keeps it as the object's
	// Content-Type.
	ContentType string
	// SizeBytes is the exact length of the body in bytes, 1..MaxPutBytes;
	// required. Signed as Content-Length.
	SizeBytes int64
	// SHA256 is the lowercase hex SHA-256 of the body (64 characters);
	// required. Sent as x-amz-checksum-sha256 (base64 of the digest), which
	// the store verifies against the bytes it receives and keeps.
	SHA256 string
	// Expires is how long the URL is valid, rounded down to whole seconds:
	// 0 means DefaultPutExpiry (15 min); otherwise 1 s..MaxPutExpiry (7
	// days), anything else is an error.
	Expires time.Duration
	// IfAbsent makes the URL write-once: the client must send
	// "If-None-Match: *" and the store refuses (412) the upload when the
	// key already exists, so a replayed URL cannot replace the object.
	IfAbsent bool
}

// GetPolicy shapes a presigned download URL.
type GetPolicy struct {
	// Expires is how long the URL is valid, rounded down to whole seconds:
	// 0 means DefaultGetExpiry (300 s); otherwise 1 s..MaxGetExpiry (300 s).
	// Longer is an error, not clamped, so no caller believes a URL lives
	// longer than the contract allows.
	Expires time.Duration
	// FileName, when set, makes the response carry
	// "Content-Disposition: attachment" with this file name, encoded per
	// RFC 6266 / RFC 5987 (an ASCII fallback plus filename*=UTF-8''...),
	// so non-ASCII names such as 营业执照.pdf survive. At most 1024 bytes
	// of valid UTF-8 without control characters, else an error.
	FileName string
	// ContentType, when set, overrides the response's Content-Type.
	ContentType string
}

// Presigned is a request a client may make without credentials.
type Presigned struct {
	// URL is the absolute URL, signature in its query string. It is a bearer
	// credential until ExpiresAt: never log it.
	URL string
	// Method is the HTTP method to use (PUT or GET).
	Method string
	// Headers are exactly the headers the client must send, with these
	// values; they are covered by the signature, so omitting or changing
	// one fails with 403. Content-Length is among them for uploads (HTTP
	// clients set it from the body). Empty for downloads.
	Headers http.Header
	// ExpiresAt is when the URL stops working: signing time (whole seconds)
	// plus the expiry.
	ExpiresAt time.Time
}

// Info describes one stored object (its current version).
type Info struct {
	// Key is the object's key in the bucket.
	Key string
	// Size is its length in bytes.
	Size int64
	// ContentType is its media type as stored; empty from List.
	ContentType string
	// SHA256 is the lowercase hex SHA-256 of the whole object when the store
	// kept one (uploads through PresignPut, Put with PutOptions.SHA256, and
	// copies of those); empty otherwise and from List.
	SHA256 string
	// ETag is the store's entity tag without quotes. Not a content hash in
	// general; use SHA256.
	ETag string
	// VersionID identifies this version on the versioned bucket; empty from
	// List and when versioning is off.
	VersionID string
	// LastModified is when this version was written, as the store reports
	// it (whole seconds on most stores).
	LastModified time.Time
}

// PutOptions describe a server-side write.
type PutOptions struct {
	// ContentType is stored as the object's Content-Type; empty means
	// application/octet-stream.
	ContentType string
	// SHA256, when set, is the lowercase hex SHA-256 of the bytes: the store
	// refuses the write with ErrChecksumMismatch when they differ, and keeps
	// it (Info.SHA256). Strongly recommended; licenses always set it.
	SHA256 string
	// IfAbsent makes the write write-once: when the key already exists the
	// write fails with ErrExists and the stored object is untouched.
	IfAbsent bool
}

// New returns the Store for cfg, picking the driver by cfg.Driver ("minio"
// or "" for minio-go, "s3" for aws-sdk-go-v2). It does not touch the
// network: the store is reached on first use, so call EnsureBucket before
// relying on the bucket. cfg.PublicEndpoint, when set, is the host:port
// presigned URLs are signed for and point to.
func New(ctx context.Context, cfg config.ObjectStore) (Store, error) {
	_ = ctx // reserved: neither driver needs the network to start
	if cfg.Endpoint == "" {
		return nil, fmt.Errorf("object store: %w: endpoint is empty", ErrInvalidArgument)
	}
	if cfg.Bucket == "" {
		return nil, fmt.Errorf("object store: %w: bucket is empty", ErrInvalidArgument)
	}
	switch cfg.Driver {
	case "", "minio":
		return newMinio(cfg)
	case "s3":
		return newS3(cfg)
	default:
		return nil, fmt.Errorf("object store: %w: unknown driver %q (want minio or s3)", ErrInvalidArgument, cfg.Driver)
	}
}
