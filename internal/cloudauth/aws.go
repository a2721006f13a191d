package cloudauth

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// AWSSpec configures AWS credentials for SigV4. With AccessKeyID and
// SecretAccessKey they are static; otherwise they come from the AWS SDK's
// default chain (environment, shared config and credentials files with
// AWS_PROFILE, web identity, ECS/EKS container credentials, EC2 IMDS),
// and with RoleARN from STS AssumeRole using those.
type AWSSpec struct {
	AccessKeyID, SecretAccessKey, SessionToken string

	// Region is the default region of the SDK config (STS AssumeRole is
	// called there).
	Region string

	RoleARN     string
	SessionName string            // "" = the SDK's generated name
	Tags        map[string]string // STS session tags
}

// expiryWindow: credentials that expire are replaced this long before.
const expiryWindow = time.Minute

// NewAWS returns a cached credentials provider for s. Shared config and
// credentials files are read now (a missing AWS_PROFILE fails here);
// credentials are fetched on first use and refreshed before they expire.
func NewAWS(ctx context.Context, s AWSSpec) (aws.CredentialsProvider, error) {
	if s.AccessKeyID != "" || s.SecretAccessKey != "" {
		if s.AccessKeyID == "" || s.SecretAccessKey == "" {
			return nil, errors.New("needs both accessKeyId and secretAccessKey")
		}
		if s.RoleARN != "" {
			return nil, errors.New("assumeRole uses the default credential chain: set either accessKeyId/secretAccessKey or assumeRole")
		}
		c := aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken, Source: "config"}
		return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil }), nil
	}
	var opts []func(*config.LoadOptions) error
	if s.Region != "" {
		opts = append(opts, config.WithRegion(s.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS config: %v", err)
	}
	if cfg.Credentials == nil {
		return nil, errors.New("AWS config: no credential provider")
	}
	if s.RoleARN == "" {
		return newAWSBackoff(cfg.Credentials), nil // already an aws.CredentialsCache
	}
	if cfg.Region == "" {
		return nil, errors.New("assumeRole needs a region (the provider's, backendAuth.aws.region or AWS_REGION)")
	}
	p := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), s.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = s.SessionName
		keys := make([]string, 0, len(s.Tags))
		for k := range s.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			o.Tags = append(o.Tags, ststypes.Tag{Key: aws.String(k), Value: aws.String(s.Tags[k])})
		}
	})
	return newAWSBackoff(aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = expiryWindow })), nil
}

// awsBackoff remembers a failed retrieval for failBackoff, as cache does
// for tokens: aws.CredentialsCache shares one retrieval among concurrent
// callers but not its failure, so without this every request would wait
// out the chain's timeouts again (e.g. an unreachable IMDS).
type awsBackoff struct {
	p         aws.CredentialsProvider
	mu        sync.Mutex
	err       error
	failUntil time.Time
	now       func() time.Time
}

func newAWSBackoff(p aws.CredentialsProvider) *awsBackoff {
	return &awsBackoff{p: p, now: time.Now}
}

// Retrieve implements aws.CredentialsProvider.
func (b *awsBackoff) Retrieve(ctx context.Context) (aws.Credentials, error) {
	b.mu.Lock()
	if b.err != nil && b.now().Before(b.failUntil) {
		err := b.err
		b.mu.Unlock()
		return aws.Credentials{}, err
	}
	b.mu.Unlock()
	c, err := b.p.Retrieve(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err == nil:
		b.err = nil
	case ctx.Err() == nil: // a caller that gave up says nothing of the source
		b.err, b.failUntil = err, b.now().Add(failBackoff)
	}
	return c, err
}
