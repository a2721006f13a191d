package compile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/agentgw/agentgateway/internal/cloudauth"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/pipeline"
)

// maxSignedBody bounds the request body buffered for a SigV4 signature.
const maxSignedBody = 16 << 20

// hostCloudAuth applies backendAuth.gcp, .aws or .azure to a plain host
// backend: a Google or Entra Bearer token, or a SigV4 signature over the
// (buffered) body. It returns the middleware (nil when auth has none of
// them) and auth without those kinds, for the rest of the backend setup.
func hostCloudAuth(auth *config.BackendAuth, host string) (func(http.Handler) http.Handler, *config.BackendAuth, error) {
	if auth == nil || (auth.GCP == nil && auth.AWS == nil && auth.Azure == nil) {
		return nil, auth, nil
	}
	n := 0
	for _, set := range []bool{auth.GCP != nil, auth.AWS != nil, auth.Azure != nil, auth.Key != nil, auth.Passthrough != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, nil, errors.New("backendAuth: set only one of key, passthrough, gcp, aws and azure")
	}
	rest := *auth
	rest.GCP, rest.AWS, rest.Azure = nil, nil, nil
	hostname := host
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		hostname = u.Hostname()
	} else if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	var mw func(http.Handler) http.Handler
	switch {
	case auth.GCP != nil:
		ts, err := gcpSource(auth.GCP, "https://"+hostname)
		if err != nil {
			return nil, nil, err
		}
		mw = bearer("gcp", ts)
	case auth.Azure != nil:
		ts, err := azureSource(auth.Azure)
		if err != nil {
			return nil, nil, err
		}
		mw = bearer("azure", ts)
	default:
		a := auth.AWS
		region := deref(a.Region)
		if region == "" {
			region = cloudauth.DefaultAWSRegion(context.Background())
		}
		if region == "" {
			return nil, nil, errors.New("backendAuth.aws.region is required for a host backend (or AWS_REGION / the profile's region)")
		}
		service := deref(a.ServiceName)
		if service == "" {
			service = "bedrock" // agentgateway's default
		}
		creds, err := awsCredentials(a, region)
		if err != nil {
			return nil, nil, err
		}
		mw = func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var body []byte
				if r.Body != nil && r.Body != http.NoBody {
					b, err := io.ReadAll(io.LimitReader(r.Body, maxSignedBody+1))
					if err != nil {
						pipeline.Error(w, r, http.StatusBadRequest, "request body read error")
						return
					}
					if len(b) > maxSignedBody {
						pipeline.Error(w, r, http.StatusRequestEntityTooLarge, "request body too large to sign")
						return
					}
					body = b
				}
				r.Body, r.ContentLength, r.TransferEncoding = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
				if len(body) == 0 {
					r.Body = http.NoBody
				}
				ctx, cancel := context.WithTimeout(r.Context(), credentialTimeout)
				c, err := creds.Retrieve(ctx)
				cancel()
				if err != nil {
					pipeline.Error(w, r, http.StatusBadGateway, "cannot get aws credentials for the upstream: "+cloudauth.Describe(err))
					return
				}
				if err := cloudauth.SignV4(r.Context(), r, body, c, service, region); err != nil {
					pipeline.Error(w, r, http.StatusInternalServerError, "cannot sign upstream request")
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	return mw, &rest, nil
}

// bearer sets the source's token as Authorization: Bearer.
func bearer(kind string, ts cloudauth.TokenSource) func(http.Handler) http.Handler {
	tok := tokenFunc(kind, ts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t, err := tok(r.Context())
			if err != nil {
				msg := err.Error()
				var le *llm.Error
				if errors.As(err, &le) {
					msg = le.Message
				}
				pipeline.Error(w, r, http.StatusBadGateway, msg)
				return
			}
			r.Header.Set("Authorization", "Bearer "+t)
			next.ServeHTTP(w, r)
		})
	}
}
