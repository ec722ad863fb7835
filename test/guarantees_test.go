package test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-alerts/herald/config"
)

// A hospital whose endpoint hangs, and one that is down, delay neither the
// SMS nor the other hospitals; the one that was down gets every alert,
// once, when it recovers.
func TestWebhookIsolationAndRecovery(t *testing.T) {
	f := startDelivering(t, func(c *config.Config) {
		c.Webhooks.BreakerThreshold = 2
		c.Webhooks.BreakerCooldown = 100 * time.Millisecond
		c.Retry.Webhook = config.Retry{Base: 50 * time.Millisecond, Max: 300 * time.Millisecond, MaxAttempts: 200, MaxAge: 5 * time.Minute}
	})
	f.importResidents(t, []resident{{"+12065550101", "en", 47.55, -122.31}}, "")

	good, down, hanging := newReceiver(t), newReceiver(t), newReceiver(t)
	var recovered atomic.Bool
	down.status = func(int) int {
		if recovered.Load() {
			return 0
		}
		return http.StatusServiceUnavailable
	}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hanging.status = func(int) int {
		select { // hold the request far longer than any other delivery takes
		case <-release:
		case <-time.After(5 * time.Second):
		}
		return 0
	}
	_, good.secret = f.addWebhook(t, good.URL, king)
	_, down.secret = f.addWebhook(t, down.URL, king)
	// Many subscriptions on the hanging host: more jobs than the webhook
	// dispatcher has workers, so without a per-host limit they would all hang.
	for i := range 40 {
		f.addWebhook(t, hanging.URL+"/ward"+string(rune('a'+i%26))+string(rune('a'+i/26)), king)
	}

	const alerts = 6
	var ids []string
	start := time.Now()
	for range alerts {
		acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, acc.ID)
	}
	within(t, 4*time.Second, "the healthy hospital and the SMS", func() bool {
		d, _, _ := good.got()
		return len(d) == alerts && len(f.twilio.messages()) == alerts
	})
	t.Logf("healthy hospital and SMS served in %s while another endpoint hung and one was down", time.Since(start).Round(time.Millisecond))
	if d, _, _ := down.got(); len(d) != 0 {
		t.Fatalf("the down hospital verified %d deliveries", len(d))
	}

	time.Sleep(time.Second) // down for a while: the breaker holds its jobs
	recovered.Store(true)
	within(t, 15*time.Second, "recovered hospital catches up", func() bool {
		d, _, _ := down.got()
		return len(d) == alerts
	})
	d, _, _ := down.got()
	seen := map[string]int{}
	for _, x := range d {
		seen[x.Payload["alert_id"].(string)]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("recovered hospital got alert %s %d times, want once", id, seen[id])
		}
	}
	_, attempts, _ := down.got()
	t.Logf("down hospital: %d requests for %d alerts (breaker held the rest)", len(attempts), alerts)
}
