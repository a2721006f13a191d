//go:build tools

// Package llmsim pins llm-d-inference-sim, the vLLM simulator the LLM e2e
// tests use as an OpenAI- and Anthropic-compatible upstream. It is a
// separate module so that its heavy dependencies (testcontainers, sqlite,
// zmq) never enter the gateway's module graph. Build it with `make llmsim`.
package llmsim

import _ "github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim"
