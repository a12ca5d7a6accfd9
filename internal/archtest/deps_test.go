// Package archtest checks the dependency rules of DESIGN.md: commands on
// top, then the composition root, then front ends, then engines, then leaf
// packages; engines never touch the network; front ends never import each
// other; only cmd/ imports the composition root.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "ferry/"

// packages returns each package of the module with its transitive imports.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-f",
		`{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "ferry/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkgs[f[0]] = f[1:]
	}
	return pkgs
}

func isStdlib(p string) bool {
	return !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") && !strings.HasPrefix(p, module)
}

func TestDependencyDirection(t *testing.T) {
	pkgs := packages(t)
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	engines := []string{"ferry/internal/keyspace", "ferry/internal/pubsub", "ferry/internal/broker", "ferry/internal/persist", "ferry/internal/script"}
	frontEnds := []string{"ferry/internal/proto/memcache", "ferry/internal/proto/redis", "ferry/internal/proto/amqp"}
	stdlibOnly := []string{"ferry/internal/clock", "ferry/internal/config", "ferry/internal/proto/resp",
		"ferry/internal/keyspace/ds", "ferry/internal/pubsub", "ferry/internal/broker/topic",
		"ferry/internal/persist/msgstore", "ferry/internal/proto/amqp/wire", "ferry/internal/glob"}
	under := func(p string, roots []string) string {
		for _, r := range roots {
			if p == r || strings.HasPrefix(p, r+"/") {
				return r
			}
		}
		return ""
	}
	for p, deps := range pkgs {
		for _, d := range deps {
			if d == "ferry/internal/server" && !strings.HasPrefix(p, "ferry/cmd/") {
				t.Errorf("%s imports the composition root %s; only cmd/ may", p, d)
			}
			if under(p, engines) != "" {
				if d == "net" || d == "net/http" || under(d, frontEnds) != "" || d == "ferry/internal/netsrv" {
					t.Errorf("engine %s depends on %s", p, d)
				}
			}
			if fe := under(p, frontEnds); fe != "" {
				if other := under(d, frontEnds); other != "" && other != fe {
					t.Errorf("front end %s imports front end %s", p, d)
				}
			}
			if under(p, stdlibOnly) != "" && !isStdlib(d) && under(d, stdlibOnly) == "" {
				t.Errorf("%s must use only the standard library, but depends on %s", p, d)
			}
		}
	}
}
