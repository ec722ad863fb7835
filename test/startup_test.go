package test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/app"
	"github.com/herald-alerts/herald/internal/deliveries"
)

// TestServesWhileIndexLoads: after a restart with many residents stored,
// Herald answers HTTP before its resident index is loaded: /healthz is
// live, /readyz says what is loading, an alert is accepted (202), and it
// is planned for every resident once the index is loaded.
func TestServesWhileIndexLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 60,000 residents; skipped with -short")
	}
	const n = 60_000
	dir := t.TempDir()
	edit := func(c *config.Config) { c.HTTP.AdminToken = adminToken }
	h := startHerald(t, setup{dataDir: dir, edit: edit})
	h.Client.Token = adminToken
	if _, err := h.Client.Upload(ctxT(t), "/v1/subscribers/import", "text/csv", []byte(residentsCSV(n, 5))); err != nil {
		t.Fatal(err)
	}
	officers := []officer{h.King, h.Pierce, h.Approver, h.Drill}
	cfg := *h.Cfg
	h.stop()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg.HTTP.Addr, cfg.HTTP.PublicURL = "127.0.0.1:0", ""
	a, err := app.Start(ctx, &cfg, app.Options{Regions: sharedRegions(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop(context.Background())
	if got := a.IndexedResidents(); got >= n {
		t.Fatalf("Start returned with all %d residents indexed: it waited for the index", got)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(a.HTTPURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while the index loads, want 200", code)
	}
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "resident index loading") {
		t.Errorf("/readyz = %d %s while the index loads, want 503 naming it", code, body)
	}
	c := h.Client
	c.Server = a.HTTPURL()
	acc, _, err := c.Publish(ctxT(t), officers[0].Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatalf("alert refused while the index loads: %v", err)
	}

	if err := a.WaitIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %s once loaded", code, body)
	}
	var sum deliveries.Summary
	within(t, 30*time.Second, "alert planned", func() bool {
		raw, err := c.Get(ctxT(t), "/v1/alerts/"+acc.ID+"/deliveries")
		if err != nil {
			return false
		}
		return json.Unmarshal(raw, &sum) == nil && sum.Planned
	})
	if got := sum.Channels["sms"].Queued + sum.Channels["sms"].Logged + sum.Channels["sms"].Sent; got != n {
		t.Errorf("alert accepted while loading planned for %d residents, want %d", got, n)
	}
}
