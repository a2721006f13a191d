//go:build tools

// Package tools pins the A2A CLI of github.com/a2aproject/a2a-go/v2 (a real
// A2A client and server) that the A2A e2e tests drive. It lives in its own
// module so the gateway's go.mod does not carry the CLI's dependencies.
// Build it with `make a2acli`.
package tools

import _ "github.com/a2aproject/a2a-go/v2/cmd/a2a"
