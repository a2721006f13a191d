package cloudauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
)

var signer = v4.NewSigner()

// SignV4 signs r (whose body is body) with SigV4 for service in region.
// Only Host, Content-Length, Content-Type and X-Amz-* headers are signed (as agentgateway
// does), so headers a proxy adds or drops later do not break the
// signature; Authorization, X-Amz-Date and X-Amz-Security-Token are set on r.
func SignV4(ctx context.Context, r *http.Request, body []byte, creds aws.Credentials, service, region string) error {
	u := *r.URL
	u.Scheme, u.Host = "https", r.Host
	c, err := http.NewRequestWithContext(ctx, r.Method, u.String(), nil) //nolint:gosec // a copy to sign, never sent
	if err != nil {
		return err
	}
	c.Host = r.Host
	c.ContentLength = int64(len(body)) // signed as content-length when > 0, as r sends it
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if lk == "content-type" || (strings.HasPrefix(lk, "x-amz-") && lk != "x-amz-date" && lk != "x-amz-security-token") {
			c.Header[k] = v
		}
	}
	sum := sha256.Sum256(body)
	if err := signer.SignHTTP(ctx, creds, c, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		return err
	}
	r.Header.Del("X-Amz-Security-Token")
	for _, k := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := c.Header.Get(k); v != "" {
			r.Header.Set(k, v)
		}
	}
	return nil
}

// DefaultAWSRegion is the region of the AWS SDK's shared config and
// environment (AWS_REGION, the profile's region), "" when none is set.
func DefaultAWSRegion(ctx context.Context) string {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return ""
	}
	return cfg.Region
}
