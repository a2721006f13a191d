package mcp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// sealedState is what a session id carries. It is JSON, sealed with
// AES-256-GCM (random 96-bit nonce, the route as additional data) and
// encoded as unpadded base64url — never readable or editable by a client.
type sealedState struct {
	V int `json:"v"`
	// R makes every id unique (128 random bits).
	R string `json:"r"`
	// PV is the protocol version negotiated with the client.
	PV string `json:"pv"`
	// Init is the client's initialize params (capabilities, clientInfo).
	Init json.RawMessage `json:"i,omitempty"`
	// Up are the upstream sessions, by target.
	Up []sealedUp `json:"u,omitempty"`
}

type sealedUp struct {
	Target string `json:"t"`
	ID     string `json:"s,omitempty"` // upstream Mcp-Session-Id
	PV     string `json:"p,omitempty"` // protocol version the target negotiated
	Caps   string `json:"c,omitempty"` // capability letters (see capsString)
}

const sealVersion = 1

// maxSessionIDLen bounds the ids accepted (they travel in a header).
const maxSessionIDLen = 8 << 10

var errBadSession = errors.New("invalid session id")

// sealer seals and opens session ids for one route.
type sealer struct {
	aead cipher.AEAD
	aad  []byte
}

func newSealer(key []byte, route string) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("session key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, aad: []byte("agentgateway-mcp-session/v1|" + route)}, nil
}

func (s *sealer) seal(st *sealedState) (string, error) {
	st.V = sealVersion
	if st.R == "" {
		st.R = rand.Text()
	}
	plain, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, plain, s.aad)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// open returns the state sealed in id, or errBadSession for anything that
// was not sealed by this key for this route.
func (s *sealer) open(id string) (*sealedState, error) {
	if len(id) == 0 || len(id) > maxSessionIDLen {
		return nil, errBadSession
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, errBadSession
	}
	ns := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:ns], raw[ns:], s.aad)
	if err != nil {
		return nil, errBadSession
	}
	var st sealedState
	if err := json.Unmarshal(plain, &st); err != nil || st.V != sealVersion {
		return nil, errBadSession
	}
	return &st, nil
}

// ParseKey decodes a session key: 64 hex characters (openssl rand -hex 32)
// or standard/URL base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("session key must be 32 bytes written as 64 hex characters (openssl rand -hex 32) or base64")
}

var (
	processKeyOnce sync.Once
	processKey     []byte
)

// ProcessKey returns a random key generated once per process, for
// gateways run without a configured key: ids then survive config reloads
// but not a restart, and another replica cannot open them.
func ProcessKey() []byte {
	processKeyOnce.Do(func() {
		processKey = make([]byte, 32)
		if _, err := rand.Read(processKey); err != nil {
			panic("crypto/rand: " + err.Error()) // never happens on supported platforms
		}
	})
	return processKey
}
