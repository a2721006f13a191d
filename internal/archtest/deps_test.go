// Package archtest holds the layering rule of the design: data-plane
// packages never import the user-facing config package; only the compiler
// and the app wiring translate config into runtime specs.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/agentgw/agentgateway"

func TestDataPlaneDoesNotImportConfig(t *testing.T) {
	dataPlane := []string{"route", "pipeline", "policy/...", "backend", "telemetry", "admin", "listen", "llm/...", "mcp"}
	for _, p := range dataPlane {
		pkg := module + "/internal/" + p
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == module+"/internal/config" || dep == module+"/internal/compile" || dep == module+"/internal/app" {
				t.Errorf("%s depends on %s: data-plane packages must take specs, not config", p, dep)
			}
		}
	}
}
