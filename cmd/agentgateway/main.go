// Command agentgateway is an AI-native proxy: HTTP, LLM, MCP and A2A traffic
// behind one config file in agentgateway's config language.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/agentgw/agentgateway/internal/admin"
	"github.com/agentgw/agentgateway/internal/app"
	"github.com/agentgw/agentgateway/internal/version"
)

const usage = `agentgateway: an AI-native gateway for HTTP, LLM, MCP and A2A traffic.

Usage:
  agentgateway [-f FILE | -c CONFIG] [--validate-only]

Flags:
  -f, --file PATH       config file to load and watch for changes ("-" reads stdin)
  -c, --config STRING   inline config (YAML); not watched
      --validate-only   parse, expand, validate and compile the config, then exit
  -V, --version         print the version and exit
  -h, --help            print this help

With neither -f nor -c, the gateway starts on a built-in default config
(admin on 127.0.0.1:15000, a listener on :3000 that explains how to add a backend).
`

func main() {
	admin.DefaultHeapProfiling(os.Getenv("GODEBUG")) // off until asked for: internal/admin/heapprof.go
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("agentgateway", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	var opts app.Options
	var showVersion bool
	fs.StringVar(&opts.File, "f", "", "")
	fs.StringVar(&opts.File, "file", "", "")
	fs.StringVar(&opts.Inline, "c", "", "")
	fs.StringVar(&opts.Inline, "config", "", "")
	fs.BoolVar(&opts.ValidateOnly, "validate-only", false, "")
	fs.BoolVar(&showVersion, "V", false, "")
	fs.BoolVar(&showVersion, "version", false, "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "agentgateway: unexpected argument %q (use -f FILE)\n", fs.Arg(0))
		return 2
	}
	if showVersion {
		fmt.Println("agentgateway", version.String())
		return 0
	}
	if opts.File != "" && opts.Inline != "" {
		fmt.Fprintln(os.Stderr, "agentgateway: -f and -c are mutually exclusive")
		return 2
	}
	opts.Stdin = os.Stdin
	opts.Stderr = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return app.Run(ctx, opts)
}
