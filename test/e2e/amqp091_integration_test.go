package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAMQP091IntegrationSuite runs the integration tests that ship inside
// the amqp091-go module (build tag "integration", AMQP_URL pointing at
// Ferry) from a copy of the module as go.mod pins it. The
// TestConnectionRecovery* tests are skipped: they force connections closed
// through RabbitMQ's management HTTP API (localhost:15672), which Ferry does
// not serve.
func TestAMQP091IntegrationSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and runs a whole client test suite")
	}
	_, port := amqpFerry(t, t.TempDir())
	modDir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/rabbitmq/amqp091-go").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	src := strings.TrimSpace(string(modDir))
	dst := filepath.Join(t.TempDir(), "amqp091-go")
	// The module cache is read-only; the suite runs in a writable copy.
	if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", src, err, out)
	}
	if out, err := exec.Command("chmod", "-R", "u+w", dst).CombinedOutput(); err != nil {
		t.Fatalf("chmod: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-tags", "integration", "-count=1", "-timeout", "7m",
		"-skip", "TestConnectionRecovery", ".")
	cmd.Dir = dst
	cmd.Env = append(os.Environ(), "AMQP_URL=amqp://guest:guest@127.0.0.1:"+port+"/", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("amqp091-go integration suite against Ferry failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
