package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoServer: a program using the client links none of the server.
// Other Go programs import this package; pulling NATS, Prometheus or the
// county data into them would be a bug.
func TestLinksNoServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/herald-alerts/herald/broadcaster/client").CombinedOutput()
	if err != nil {
		t.Skipf("go list unavailable: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/nats-io/nats.go", "github.com/nats-io/nats-server", "github.com/prometheus/",
			"github.com/herald-alerts/herald/internal/", "github.com/herald-alerts/herald/geo",
			"github.com/herald-alerts/herald/config", "github.com/spf13/",
		} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("the client links %s", dep)
			}
		}
	}
}
