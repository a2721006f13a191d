package llm

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Canonical error types (Anthropic's names, which are the most specific
// of the dialects); each client dialect renders them in its own shape.
const (
	ErrInvalidRequest = "invalid_request_error"
	ErrAuthentication = "authentication_error"
	ErrPermission     = "permission_error"
	ErrNotFound       = "not_found_error"
	ErrTooLarge       = "request_too_large"
	ErrRateLimit      = "rate_limit_error"
	ErrAPI            = "api_error"
	ErrOverloaded     = "overloaded_error"
	ErrTimeout        = "timeout_error"
)

// Error is a provider or gateway error in canonical form.
type Error struct {
	Status  int    // HTTP status the client should see (before dialect mapping)
	Type    string // one of the Err* types
	Message string
	Code    string // provider code, e.g. "context_length_exceeded"
	Param   string
	// RetryAfter is the provider's back-off hint (Retry-After,
	// retry-after-ms, x-ms-retry-after-ms); zero when absent.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// NewError builds an error whose type follows from status.
func NewError(status int, msg string) *Error {
	return &Error{Status: status, Type: TypeForStatus(status), Message: msg}
}

// TypeForStatus is the canonical error type of an HTTP status.
func TypeForStatus(status int) string {
	switch {
	case status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return ErrInvalidRequest
	case status == http.StatusUnauthorized:
		return ErrAuthentication
	case status == http.StatusForbidden:
		return ErrPermission
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case status == http.StatusTooManyRequests:
		return ErrRateLimit
	case status == 529, status == http.StatusServiceUnavailable:
		return ErrOverloaded
	case status == http.StatusGatewayTimeout, status == http.StatusRequestTimeout:
		return ErrTimeout
	case status >= 500:
		return ErrAPI
	case status >= 400:
		return ErrInvalidRequest
	}
	return ErrAPI
}

// StatusForType is the HTTP status of a canonical error type (used for
// in-band stream errors, which carry no status of their own).
func StatusForType(t string) int {
	switch t {
	case ErrInvalidRequest:
		return http.StatusBadRequest
	case ErrAuthentication:
		return http.StatusUnauthorized
	case ErrPermission:
		return http.StatusForbidden
	case ErrNotFound:
		return http.StatusNotFound
	case ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	case ErrRateLimit:
		return http.StatusTooManyRequests
	case ErrOverloaded:
		return 529
	case ErrTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// Retryable reports whether another provider may succeed where this one
// failed: rate limits, overload, timeouts and server errors. A 400 such as
// context_length_exceeded or a content-policy refusal is never retried.
func (e *Error) Retryable() bool {
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, 529:
		return true
	}
	return e.Status >= 500
}

// RetryAfter parses a response's back-off hint: retry-after-ms,
// x-ms-retry-after-ms, then Retry-After (seconds or an HTTP date).
func RetryAfter(h http.Header) time.Duration {
	for _, k := range []string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if v := h.Get(k); v != "" {
			if ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && ms > 0 && ms < 1e9 {
				return time.Duration(ms * float64(time.Millisecond))
			}
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && s < 1e6 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
