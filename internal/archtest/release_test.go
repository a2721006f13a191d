package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// releaseTags are the Makefile's TAGS: the shipped build.
const releaseTags = "grpcnotrace"

// TestReleaseBuildKeepsDeadCodeElimination: the shipped binary links no
// template engine that executes templates. html/template and
// text/template call reflect's Method by a name known only at run time,
// and once such a call is reachable the linker keeps every exported
// method of every type that may sit in an interface: gRPC's
// golang.org/x/net/trace (its /debug/requests pages) cost 5.8 MB of code
// and ~1.2 MiB of RSS that way (docs/performance.md, "Memory, session 10").
// text/template is still imported (CEL's prompt helper, the MCP SDK's
// URI templates), but its executor is not reachable from the gateway and
// is not linked. This test catches the known way back in; a new
// dependency that executes text templates would need the same scrutiny
// (`go tool nm bin/agentgateway | grep 'text/template.(\*state)'`).
func TestReleaseBuildKeepsDeadCodeElimination(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", releaseTags, "-deps", "-f", "{{.ImportPath}}", module+"/cmd/agentgateway").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "golang.org/x/net/trace", "html/template":
			t.Errorf("the release build (-tags %s) links %s", releaseTags, dep)
		}
	}
}
