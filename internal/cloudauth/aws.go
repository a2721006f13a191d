package cloudauth

import (
	"context"
	"errors"
	"fmt"
	"sort"
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
		return cfg.Credentials, nil // already an aws.CredentialsCache
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
	return aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = expiryWindow }), nil
}
