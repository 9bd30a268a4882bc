package objects

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"github.com/onewindow/onewindow/shared/config"
)

// maxRetries is how often a driver tries one request (both SDKs retry
// 5xx and network errors with backoff); few, so that an outage turns into
// a 503 within seconds instead of holding the caller.
const maxRetries = 3

// minioStore is the minio-go driver.
type minioStore struct {
	client *minio.Client // requests
	signer *minio.Client // presigning, for PublicEndpoint when set
	bucket string
	region string
}

var _ Store = (*minioStore)(nil)

func newMinio(cfg config.ObjectStore) (*minioStore, error) {
	region := cmp.Or(cfg.Region, DefaultRegion)
	opts := func() *minio.Options {
		return &minio.Options{
			Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
			Secure:       cfg.UseTLS,
			Region:       region, // set, so that no request asks for the bucket's location
			BucketLookup: minio.BucketLookupPath,
			MaxRetries:   maxRetries,
		}
	}
	client, err := minio.New(cfg.Endpoint, opts())
	if err != nil {
		return nil, fmt.Errorf("object store endpoint %q: %w", cfg.Endpoint, err)
	}
	signer := client
	if cfg.PublicEndpoint != "" {
		if signer, err = minio.New(cfg.PublicEndpoint, opts()); err != nil {
			return nil, fmt.Errorf("object store public endpoint %q: %w", cfg.PublicEndpoint, err)
		}
	}
	return &minioStore{client: client, signer: signer, bucket: cfg.Bucket, region: region}, nil
}

// minioError maps a minio-go error to ours.
func minioError(op, key string, err error) error {
	resp := minio.ToErrorResponse(err)
	return storeError(op, key, resp.StatusCode, resp.Code, err)
}

func (s *minioStore) EnsureBucket(ctx context.Context) error {
	exists, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return minioError("check bucket", s.bucket, err)
	}
	if !exists {
		err := s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
		// Another replica may have won the race; that is success.
		if code := minio.ToErrorResponse(err).Code; err != nil && code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
			return minioError("create bucket", s.bucket, err)
		}
	}
	if err := s.client.EnableVersioning(ctx, s.bucket); err != nil {
		return minioError("enable versioning on bucket", s.bucket, err)
	}
	return nil
}

func (s *minioStore) PresignPut(ctx context.Context, key string, p PutPolicy) (Presigned, error) {
	if err := ValidKey(key); err != nil {
		return Presigned{}, fmt.Errorf("presign put: %w", err)
	}
	r, err := checkPutPolicy(p)
	if err != nil {
		return Presigned{}, fmt.Errorf("presign put %q: %w", key, err)
	}
	h := http.Header{}
	h.Set("Content-Type", r.contentType)
	h.Set("Content-Length", strconv.FormatInt(r.size, 10))
	h.Set(headerChecksumSHA256, r.sha256B64)
	if r.ifAbsent {
		h.Set(headerIfNoneMatch, "*")
	}
	// minio-go signs every header it is given (X-Amz-SignedHeaders lists
	// them), Content-Length included.
	u, err := s.signer.PresignHeader(ctx, http.MethodPut, s.bucket, key, r.expires, nil, h)
	if err != nil {
		return Presigned{}, minioError("presign put", key, err)
	}
	return presignedFrom(http.MethodPut, u, h)
}

func (s *minioStore) PresignGet(ctx context.Context, key string, g GetPolicy) (Presigned, error) {
	if err := ValidKey(key); err != nil {
		return Presigned{}, fmt.Errorf("presign get: %w", err)
	}
	r, err := checkGetPolicy(g)
	if err != nil {
		return Presigned{}, fmt.Errorf("presign get %q: %w", key, err)
	}
	u, err := s.signer.PresignedGetObject(ctx, s.bucket, key, r.expires, r.params)
	if err != nil {
		return Presigned{}, minioError("presign get", key, err)
	}
	return presignedFrom(http.MethodGet, u, nil)
}

func (s *minioStore) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, fmt.Errorf("stat: %w", err)
	}
	return s.stat(ctx, key, "")
}

// stat describes versionID of key, the current version when "".
func (s *minioStore) stat(ctx context.Context, key, versionID string) (Info, error) {
	oi, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{Checksum: true, VersionID: versionID})
	if err != nil {
		return Info{}, minioError("stat", key, err)
	}
	return minioInfo(oi), nil
}

func minioInfo(oi minio.ObjectInfo) Info {
	return Info{
		Key:          oi.Key,
		Size:         oi.Size,
		ContentType:  oi.ContentType,
		SHA256:       sha256Hex(oi.ChecksumSHA256),
		ETag:         strings.Trim(oi.ETag, `"`),
		VersionID:    oi.VersionID,
		LastModified: oi.LastModified,
	}
}

func (s *minioStore) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, fmt.Errorf("get: %w", err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{Checksum: true})
	if err != nil {
		return nil, Info{}, minioError("get", key, err)
	}
	// GetObject is lazy: Stat sends the request and reports a missing key.
	oi, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, Info{}, minioError("get", key, err)
	}
	return obj, minioInfo(oi), nil
}

func (s *minioStore) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	if err := ValidKey(key); err != nil {
		return nil, fmt.Errorf("get range: %w", err)
	}
	if err := checkRange(offset, length); err != nil {
		return nil, fmt.Errorf("get range %q: %w", key, err)
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(offset, offset+length-1); err != nil {
		return nil, fmt.Errorf("get range %q: %w: %v", key, ErrInvalidArgument, err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		return nil, minioError("get range", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, length))
	if err != nil {
		if minio.ToErrorResponse(err).Code == "InvalidRange" {
			return []byte{}, nil // offset at or past the end
		}
		return nil, minioError("get range", key, err)
	}
	return b, nil
}

func (s *minioStore) Put(ctx context.Context, key string, r io.Reader, size int64, o PutOptions) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, fmt.Errorf("put: %w", err)
	}
	if err := checkPut(size, o); err != nil {
		return Info{}, fmt.Errorf("put %q: %w", key, err)
	}
	opts := minio.PutObjectOptions{
		ContentType:      cmp.Or(o.ContentType, "application/octet-stream"),
		DisableMultipart: true, // one PUT, so that the stored SHA-256 is of the whole object
	}
	if o.SHA256 != "" {
		b64, _ := sha256Base64(o.SHA256) // checked by checkPut
		// minio-go sends x-amz-* user metadata as plain headers, and adds no
		// checksum of its own when one is present.
		opts.UserMetadata = map[string]string{headerChecksumSHA256: b64}
	}
	if o.IfAbsent {
		opts.SetMatchETagExcept("*")
	}
	up, err := s.client.PutObject(ctx, s.bucket, key, r, size, opts)
	if err != nil {
		return Info{}, minioError("put", key, err)
	}
	return s.stat(ctx, key, up.VersionID)
}

func (s *minioStore) Copy(ctx context.Context, srcKey, dstKey string) (Info, error) {
	if err := ValidKey(srcKey); err != nil {
		return Info{}, fmt.Errorf("copy from: %w", err)
	}
	if err := ValidKey(dstKey); err != nil {
		return Info{}, fmt.Errorf("copy to: %w", err)
	}
	up, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: dstKey},
		minio.CopySrcOptions{Bucket: s.bucket, Object: srcKey})
	if err != nil {
		return Info{}, minioError("copy", srcKey+" to "+dstKey, err)
	}
	return s.stat(ctx, dstKey, up.VersionID)
}

func (s *minioStore) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	// S3 answers 204 for a missing key too.
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return minioError("delete", key, err)
	}
	return nil
}

func (s *minioStore) ExpirePrefix(ctx context.Context, prefix string, days int) error {
	if err := validPrefix(prefix); err != nil {
		return fmt.Errorf("expire prefix: %w", err)
	}
	if err := checkDays(days); err != nil {
		return fmt.Errorf("expire prefix %q: %w", prefix, err)
	}
	cfg, err := s.client.GetBucketLifecycle(ctx, s.bucket)
	switch {
	case minio.ToErrorResponse(err).Code == "NoSuchLifecycleConfiguration":
		cfg = lifecycle.NewConfiguration()
	case err != nil:
		return minioError("read lifecycle of bucket", s.bucket, err)
	}
	rule := lifecycle.Rule{
		ID:                          expiryRuleID(prefix),
		Status:                      "Enabled",
		RuleFilter:                  lifecycle.Filter{Prefix: prefix},
		Expiration:                  lifecycle.Expiration{Days: lifecycle.ExpirationDays(days)},
		NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 1},
	}
	rules := cfg.Rules[:0]
	for _, r := range cfg.Rules {
		if r.ID != rule.ID {
			rules = append(rules, r)
		}
	}
	cfg.Rules = append(rules, rule)
	if err := s.client.SetBucketLifecycle(ctx, s.bucket, cfg); err != nil {
		return minioError("set lifecycle of bucket", s.bucket, err)
	}
	return nil
}

func (s *minioStore) List(ctx context.Context, prefix string, olderThan time.Time) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		if err := validListPrefix(prefix); err != nil {
			yield(Info{}, fmt.Errorf("list: %w", err))
			return
		}
		ctx, cancel := context.WithCancel(ctx) // stops minio-go's lister when we return early
		defer cancel()
		for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if oi.Err != nil {
				yield(Info{}, minioError("list", prefix, oi.Err))
				return
			}
			if !olderThan.IsZero() && !oi.LastModified.Before(olderThan) {
				continue
			}
			if !yield(Info{Key: oi.Key, Size: oi.Size, ETag: strings.Trim(oi.ETag, `"`), LastModified: oi.LastModified}, nil) {
				return
			}
		}
	}
}
