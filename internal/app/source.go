package app

import (
	"fmt"
	"io"
	"os"
)

// DefaultConfig is the built-in config used when neither -f nor -c is given.
// It works offline: the admin API on 127.0.0.1:15000 and a listener on :3000
// whose only route answers with a page telling the user how to add a backend.
const DefaultConfig = `# Built-in default config of agentgateway (used when no -f/-c is given).
config:
  adminAddr: 127.0.0.1:15000
binds:
- port: 3000
  listeners:
  - name: default
    routes:
    - name: welcome
      policies:
        directResponse:
          status: 200
          body: |
            agentgateway is running on its built-in default config.

            This listener (port 3000) has no backend yet. To proxy traffic, write a
            config file and start the gateway with it:

              # config.yaml
              binds:
              - port: 3000
                listeners:
                - routes:
                  - backends:
                    - host: 127.0.0.1:8080

              agentgateway -f config.yaml

            Admin API: http://127.0.0.1:15000/config_dump
            Metrics:   http://127.0.0.1:15020/metrics
            Docs:      docs/ in the repository (docs/getting-started.md)
`

// Options are the command-line options.
type Options struct {
	File         string // -f; "-" is stdin
	Inline       string // -c
	ValidateOnly bool
	Stdin        io.Reader
	Stderr       io.Writer
}

// source says where the config comes from and whether it is watched.
type source struct {
	name    string // for logs: the path, "stdin", "inline" or "built-in default"
	path    string // a file to watch, or ""
	builtin bool
}

func (o Options) source() source {
	switch {
	case o.File == "-":
		return source{name: "stdin"}
	case o.File != "":
		return source{name: o.File, path: o.File}
	case o.Inline != "":
		return source{name: "inline (-c)"}
	default:
		return source{name: "built-in default", builtin: true}
	}
}

// read returns the config bytes of the source.
func (o Options) read() ([]byte, error) {
	switch {
	case o.File == "-":
		if o.Stdin == nil {
			return nil, fmt.Errorf("read config from stdin: no stdin")
		}
		b, err := io.ReadAll(io.LimitReader(o.Stdin, maxConfigBytes+1))
		if err != nil {
			return nil, fmt.Errorf("read config from stdin: %w", err)
		}
		return checkSize(b, "stdin")
	case o.File != "":
		return readFile(o.File)
	case o.Inline != "":
		return checkSize([]byte(o.Inline), "-c")
	default:
		return []byte(DefaultConfig), nil
	}
}

// maxConfigBytes bounds a config file (64 MiB is far beyond any real config).
const maxConfigBytes = 64 << 20

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return checkSize(b, path)
}

func checkSize(b []byte, name string) ([]byte, error) {
	if len(b) > maxConfigBytes {
		return nil, fmt.Errorf("config %s is larger than %d MiB", name, maxConfigBytes>>20)
	}
	return b, nil
}
