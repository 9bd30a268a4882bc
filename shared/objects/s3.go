package objects

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/onewindow/onewindow/shared/config"
)

// s3Store is the aws-sdk-go-v2 driver, for S3-compatible stores other than
// MinIO. It addresses buckets path-style (host/bucket/key), which every
// S3-compatible store supports.
type s3Store struct {
	client  *s3.Client
	presign *s3.PresignClient // signs for PublicEndpoint when set
	bucket  string
}

var _ Store = (*s3Store)(nil)

func newS3(cfg config.ObjectStore) (*s3Store, error) {
	scheme := "http"
	if cfg.UseTLS {
		scheme = "https"
	}
	base := func(hostPort string) (string, error) {
		u, err := url.Parse(scheme + "://" + hostPort)
		if err != nil || u.Host != hostPort || u.Path != "" {
			return "", fmt.Errorf("%w: endpoint %q is not host:port", ErrInvalidArgument, hostPort)
		}
		return u.String(), nil
	}
	endpoint, err := base(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("object store: %w", err)
	}
	accessKey, secretKey := cfg.AccessKey, cfg.SecretKey
	opts := s3.Options{
		Region:       cmp.Or(cfg.Region, DefaultRegion),
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, Source: "onewindow config"}, nil
		}),
		// Few attempts, short backoff (the SDK default waits up to 20 s):
		// an outage should become a 503 within seconds. The retry token
		// bucket stays, so a degraded store is not hammered with retries.
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxRetries
			o.MaxBackoff = time.Second
		}),
		// Send and check checksums only where we ask for them (SHA-256) or
		// the operation requires one, as S3-compatible stores vary in what
		// else they understand.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	client := s3.New(opts)
	signing := client
	if cfg.PublicEndpoint != "" {
		public, err := base(cfg.PublicEndpoint)
		if err != nil {
			return nil, fmt.Errorf("object store public endpoint: %w", err)
		}
		signing = s3.New(opts, func(o *s3.Options) { o.BaseEndpoint = aws.String(public) })
	}
	return &s3Store{client: client, presign: s3.NewPresignClient(signing), bucket: cfg.Bucket}, nil
}

// s3Error maps an aws-sdk-go-v2 error to ours.
func s3Error(op, key string, err error) error {
	var code string
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var status int
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	return storeError(op, key, status, code, err)
}

func (s *s3Store) EnsureBucket(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
	var notFound *types.NotFound
	switch {
	case errors.As(err, &notFound):
		_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.bucket})
		var owned *types.BucketAlreadyOwnedByYou
		var exists *types.BucketAlreadyExists
		// Another replica may have won the race; that is success.
		if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
			return s3Error("create bucket", s.bucket, err)
		}
	case err != nil:
		return s3Error("check bucket", s.bucket, err)
	}
	_, err = s.client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  &s.bucket,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		return s3Error("enable versioning on bucket", s.bucket, err)
	}
	return nil
}

func (s *s3Store) PresignPut(ctx context.Context, key string, p PutPolicy) (Presigned, error) {
	if err := ValidKey(key); err != nil {
		return Presigned{}, fmt.Errorf("presign put: %w", err)
	}
	r, err := checkPutPolicy(p)
	if err != nil {
		return Presigned{}, fmt.Errorf("presign put %q: %w", key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:         &s.bucket,
		Key:            &key,
		ContentType:    &r.contentType,
		ContentLength:  &r.size,
		ChecksumSHA256: &r.sha256B64,
	}
	if r.ifAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	req, err := s.presign.PresignPutObject(ctx, in, s3.WithPresignExpires(r.expires))
	if err != nil {
		return Presigned{}, s3Error("presign put", key, err)
	}
	return s3Presigned(req)
}

// s3Presigned turns the SDK's answer into ours: every signed header but
// Host is one the client must send.
func s3Presigned(req *v4.PresignedHTTPRequest) (Presigned, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return Presigned{}, fmt.Errorf("parse presigned URL: %w", err)
	}
	h := http.Header{}
	for k, v := range req.SignedHeader {
		if !strings.EqualFold(k, "Host") {
			h[http.CanonicalHeaderKey(k)] = v
		}
	}
	return presignedFrom(req.Method, u, h)
}

func (s *s3Store) PresignGet(ctx context.Context, key string, g GetPolicy) (Presigned, error) {
	if err := ValidKey(key); err != nil {
		return Presigned{}, fmt.Errorf("presign get: %w", err)
	}
	r, err := checkGetPolicy(g)
	if err != nil {
		return Presigned{}, fmt.Errorf("presign get %q: %w", key, err)
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}
	if v := r.params.Get("response-content-type"); v != "" {
		in.ResponseContentType = &v
	}
	if v := r.params.Get("response-content-disposition"); v != "" {
		in.ResponseContentDisposition = &v
	}
	req, err := s.presign.PresignGetObject(ctx, in, s3.WithPresignExpires(r.expires))
	if err != nil {
		return Presigned{}, s3Error("presign get", key, err)
	}
	return s3Presigned(req)
}

func (s *s3Store) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, fmt.Errorf("stat: %w", err)
	}
	return s.stat(ctx, key, "")
}

// stat describes versionID of key, the current version when "".
func (s *s3Store) stat(ctx context.Context, key, versionID string) (Info, error) {
	in := &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled}
	if versionID != "" {
		in.VersionId = &versionID
	}
	out, err := s.client.HeadObject(ctx, in)
	if err != nil {
		return Info{}, s3Error("stat", key, err)
	}
	return s3Info(key, out.ContentLength, out.ContentType, out.ChecksumSHA256, out.ChecksumType,
		out.ETag, out.VersionId, out.LastModified), nil
}

func s3Info(key string, size *int64, contentType, checksum *string, checksumType types.ChecksumType, etag, versionID *string, modified *time.Time) Info {
	info := Info{
		Key:          key,
		Size:         aws.ToInt64(size),
		ContentType:  aws.ToString(contentType),
		ETag:         strings.Trim(aws.ToString(etag), `"`),
		VersionID:    aws.ToString(versionID),
		LastModified: aws.ToTime(modified),
	}
	if checksumType != types.ChecksumTypeComposite {
		info.SHA256 = sha256Hex(aws.ToString(checksum))
	}
	return info
}

func (s *s3Store) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, fmt.Errorf("get: %w", err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return nil, Info{}, s3Error("get", key, err)
	}
	return out.Body, s3Info(key, out.ContentLength, out.ContentType, out.ChecksumSHA256, out.ChecksumType,
		out.ETag, out.VersionId, out.LastModified), nil
}

func (s *s3Store) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	if err := ValidKey(key); err != nil {
		return nil, fmt.Errorf("get range: %w", err)
	}
	if err := checkRange(offset, length); err != nil {
		return nil, fmt.Errorf("get range %q: %w", key, err)
	}
	rng := fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key, Range: &rng})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidRange" {
			return []byte{}, nil // offset at or past the end
		}
		return nil, s3Error("get range", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, length))
	if err != nil {
		return nil, s3Error("get range", key, err)
	}
	return b, nil
}

func (s *s3Store) Put(ctx context.Context, key string, r io.Reader, size int64, o PutOptions) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, fmt.Errorf("put: %w", err)
	}
	if err := checkPut(size, o); err != nil {
		return Info{}, fmt.Errorf("put %q: %w", key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          r,
		ContentLength: &size,
		ContentType:   aws.String(cmp.Or(o.ContentType, "application/octet-stream")),
	}
	if o.SHA256 != "" {
		b64, _ := sha256Base64(o.SHA256) // checked by checkPut
		in.ChecksumSHA256 = &b64
	}
	if o.IfAbsent {
		in.IfNoneMatch = aws.String("*")
	}
	// The body is not signed (UNSIGNED-PAYLOAD): signing it would need a
	// seekable reader over plain HTTP; the SHA-256 checksum, when given,
	// protects the bytes instead.
	out, err := s.client.PutObject(ctx, in, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		return Info{}, s3Error("put", key, err)
	}
	return s.stat(ctx, key, aws.ToString(out.VersionId))
}

func (s *s3Store) Copy(ctx context.Context, srcKey, dstKey string) (Info, error) {
	if err := ValidKey(srcKey); err != nil {
		return Info{}, fmt.Errorf("copy from: %w", err)
	}
	if err := ValidKey(dstKey); err != nil {
		return Info{}, fmt.Errorf("copy to: %w", err)
	}
	// CopySource is "bucket/key", URL-encoded.
	src := url.PathEscape(s.bucket) + "/" + escapeKey(srcKey)
	out, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &s.bucket, Key: &dstKey, CopySource: &src})
	if err != nil {
		return Info{}, s3Error("copy", srcKey+" to "+dstKey, err)
	}
	return s.stat(ctx, dstKey, aws.ToString(out.VersionId))
}

// escapeKey percent-encodes each segment of key, keeping the slashes.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

func (s *s3Store) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	// S3 answers 204 for a missing key too.
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return s3Error("delete", key, err)
	}
	return nil
}

func (s *s3Store) ExpirePrefix(ctx context.Context, prefix string, days int) error {
	if err := validPrefix(prefix); err != nil {
		return fmt.Errorf("expire prefix: %w", err)
	}
	if err := checkDays(days); err != nil {
		return fmt.Errorf("expire prefix %q: %w", prefix, err)
	}
	var rules []types.LifecycleRule
	out, err := s.client.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &s.bucket})
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchLifecycleConfiguration":
	case err != nil:
		return s3Error("read lifecycle of bucket", s.bucket, err)
	default:
		rules = out.Rules
	}
	id := expiryRuleID(prefix)
	kept := rules[:0]
	for _, r := range rules {
		if aws.ToString(r.ID) != id {
			kept = append(kept, r)
		}
	}
	kept = append(kept, types.LifecycleRule{
		ID:                          &id,
		Status:                      types.ExpirationStatusEnabled,
		Filter:                      &types.LifecycleRuleFilter{Prefix: &prefix},
		Expiration:                  &types.LifecycleExpiration{Days: aws.Int32(int32(days))},
		NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)},
	})
	_, err = s.client.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                 &s.bucket,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: kept},
	})
	if err != nil {
		return s3Error("set lifecycle of bucket", s.bucket, err)
	}
	return nil
}

func (s *s3Store) List(ctx context.Context, prefix string, olderThan time.Time) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		if err := validListPrefix(prefix); err != nil {
			yield(Info{}, fmt.Errorf("list: %w", err))
			return
		}
		in := &s3.ListObjectsV2Input{Bucket: &s.bucket}
		if prefix != "" {
			in.Prefix = &prefix
		}
		pages := s3.NewListObjectsV2Paginator(s.client, in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				yield(Info{}, s3Error("list", prefix, err))
				return
			}
			for _, o := range page.Contents {
				modified := aws.ToTime(o.LastModified)
				if !olderThan.IsZero() && !modified.Before(olderThan) {
					continue
				}
				info := Info{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: strings.Trim(aws.ToString(o.ETag), `"`), LastModified: modified}
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}
