// Package version reports the build's version, set at link time with
// -ldflags "-X github.com/agentgw/agentgateway/internal/version.Version=v1.2.3".
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is set at build time; "dev" otherwise.
var Version = "dev"

// Revision returns the VCS revision the binary was built from, if known.
func Revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// String is "VERSION (REVISION, GOVERSION)".
func String() string {
	return Version + " (" + Revision() + ", " + runtime.Version() + ")"
}
