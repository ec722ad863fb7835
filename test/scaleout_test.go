package test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/render"
	"github.com/herald-alerts/herald/test/natstest"
)

func residentsCSV(n int, seed uint64) string {
	var b strings.Builder
	b.WriteString("phone,lat,lon\n")
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for i := range n {
		fmt.Fprintf(&b, "+1206%07d,%.5f,%.5f\n", 3000000+i, 47.535+rng.Float64()*0.04, -122.325+rng.Float64()*0.03)
	}
	return b.String()
}

// Two Herald processes share one NATS and one fan-out; together they send
// at sms.rate_per_second, not twice it, counted in message segments as
// carriers count them.
func TestSMSRateHoldsAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s measurement; skipped with -short")
	}
	const rate = 25.0
	const window = 20 * time.Second
	ns := natstest.Start(t)
	twilio := newFakeTwilio(t)
	officers := []officer{newOfficer(t, "king-health"), newOfficer(t, "pierce-health"), newOfficer(t, "king-approver"), newOfficer(t, "king-drill")}
	edit := func(c *config.Config) {
		c.HTTP.AdminToken = adminToken
		c.SMS.Provider = "twilio"
		c.SMS.RatePerSecond = rate
		c.Twilio.AccountSID = "AC00000000000000000000000000000000"
		c.Twilio.AuthToken = "testauthtoken0123"
		c.Twilio.MessagingServiceSID = "MG00000000000000000000000000000000"
		c.Twilio.APIBaseURL = twilio.URL
	}
	dir := t.TempDir() // shared: both processes need the same residents key
	a := startHerald(t, setup{natsURL: ns.ClientURL(), dataDir: dir, officers: officers, edit: edit})
	b := startHerald(t, setup{natsURL: ns.ClientURL(), dataDir: dir, officers: officers, edit: edit})
	a.Client.Token = adminToken
	if _, err := a.Client.Upload(ctxT(t), "/v1/subscribers/import", "text/csv", []byte(residentsCSV(2000, 7))); err != nil {
		t.Fatal(err)
	}
	// Both processes must have seen the residents before the alert is planned.
	within(t, 10*time.Second, "second process loaded residents", func() bool {
		p, _, err := b.Client.Preview(ctxT(t), b.King.Key, newAlert(t, alertSpec{}))
		return err == nil && p.Recipients["sms"] == 2000
	})
	if _, _, err := a.Client.Publish(ctxT(t), a.King.Key, newAlert(t, alertSpec{})); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "first SMS", func() bool { return len(twilio.messages()) > 0 })
	time.Sleep(2 * time.Second) // past the start-up burst
	start := len(twilio.messages())
	time.Sleep(window)
	sent := twilio.messages()[start:]
	segments := 0
	for _, m := range sent {
		n, _ := render.Segments(m.Body)
		segments += n
	}
	got := float64(segments)
	want := rate * window.Seconds()
	t.Logf("two processes sent %d SMS of %d segments in %s at a configured %v segments/s (%.1f/s)", len(sent), segments, window, rate, got/window.Seconds())
	if got < want*0.9 || got > want*1.1 {
		t.Fatalf("sent %.0f segments in %s, want %.0f ±10%%", got, window, want)
	}
	// Both processes took part in the fan-out.
	for name, h := range map[string]*herald{"a": a, "b": b} {
		if n := sentMetric(t, h); n == 0 {
			t.Errorf("process %s sent nothing: the work was not shared", name)
		} else {
			t.Logf("process %s sent %d", name, n)
		}
	}
}

// sentMetric reads herald_deliveries_total{channel="sms",state="sent"}.
func sentMetric(t *testing.T, h *herald) int {
	t.Helper()
	raw, err := h.Client.Get(ctxT(t), "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, `herald_deliveries_total{channel="sms",state="sent"}`) {
			var n int
			fmt.Sscan(strings.Fields(line)[1], &n)
			return n
		}
	}
	return 0
}
