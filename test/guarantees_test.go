package test

import (
	"fmt"
	"strings"

	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"

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

func TestUpdateAndCancelReachWhoGotTheOriginal(t *testing.T) {
	f := startDelivering(t, nil)
	f.importResidents(t, []resident{
		{"+12065550101", "en", 47.55, -122.31}, // inside the original area
		{"+12065550102", "en", 47.56, -122.30}, // inside the original area
		{"+12065550103", "en", 47.62, -122.33}, // only inside the update's area
	}, "")
	rx := newReceiver(t)
	_, rx.secret = f.addWebhook(t, rx.URL, king)

	origBody := newAlert(t, alertSpec{})
	orig, _, err := f.Client.Publish(ctxT(t), f.King.Key, origBody)
	if err != nil {
		t.Fatal(err)
	}
	f.waitDone(t, orig.ID)

	// The update moves the area north, away from the first two residents.
	a, _ := cap.Parse(newAlert(t, alertSpec{polygons: []string{"47.64,-122.35 47.64,-122.31 47.60,-122.31 47.60,-122.35 47.64,-122.35"}}))
	o, _ := cap.Parse(origBody)
	a.MsgType, a.References = "Update", o.Sender+","+o.Identifier+","+o.Sent
	a.Info[0].Headline = "Boil water advisory moved north"
	upd := publishCAP(t, f, a)
	f.waitDone(t, upd.ID)
	got := sentTo(f.twilio.messages(), upd.ID)
	if len(got) != 3 {
		t.Fatalf("update reached %v, want all three", keys(got))
	}
	for _, text := range got {
		if !strings.HasPrefix(text, "UPDATE") {
			t.Errorf("update SMS does not say UPDATE: %q", text)
		}
	}
	posts := f.mastodon.posts()
	if len(posts) != 2 || posts[1].InReplyTo != posts[0].ID {
		t.Errorf("update post is not a reply to the first: %+v", posts)
	}

	// The Cancel references the original: it reaches those the original reached.
	canc, _, err := f.Client.Publish(ctxT(t), f.King.Key, cancelFor(t, origBody))
	if err != nil {
		t.Fatal(err)
	}
	f.waitDone(t, canc.ID)
	got = sentTo(f.twilio.messages(), canc.ID)
	if len(got) != 2 || got["+12065550101"] == "" || got["+12065550102"] == "" {
		t.Fatalf("cancel reached %v, want the original's two", keys(got))
	}
	for _, text := range got {
		if !strings.HasPrefix(text, "CANCELLED") {
			t.Errorf("cancel SMS does not say CANCELLED: %q", text)
		}
	}
	types := map[string]int{}
	d, _, _ := rx.got()
	for _, x := range d {
		types[x.Payload["type"].(string)]++
	}
	if types["alert.published"] != 1 || types["alert.updated"] != 1 || types["alert.cancelled"] != 1 {
		t.Errorf("webhook types = %v", types)
	}
}

func TestCancelSkipsUnsentJobs(t *testing.T) {
	f := startDelivering(t, func(c *config.Config) { c.SMS.RatePerSecond = 4 })
	var rs []resident
	for i := range 20 {
		rs = append(rs, resident{fmt.Sprintf("+1206555%04d", 200+i), "en", 47.54 + float64(i)*0.001, -122.31})
	}
	f.importResidents(t, rs, "")
	body := newAlert(t, alertSpec{})
	orig, _, err := f.Client.Publish(ctxT(t), f.King.Key, body)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // a few go out at 4/s
	canc, _, err := f.Client.Publish(ctxT(t), f.King.Key, cancelFor(t, body))
	if err != nil {
		t.Fatal(err)
	}
	s := f.waitDone(t, orig.ID)
	c := s.Channels["sms"]
	if c.Skipped == 0 || c.Sent+c.Skipped != 20 {
		t.Fatalf("original after cancel: %+v, want the unsent ones skipped", c)
	}
	for _, fl := range s.Failures {
		if fl.State == "skipped" && fl.Reason != "alert cancelled" {
			t.Errorf("skip reason %q", fl.Reason)
		}
	}
	cs := f.waitDone(t, canc.ID)
	if cs.Channels["sms"].Sent != c.Sent {
		t.Errorf("cancel went to %d residents, the original reached %d", cs.Channels["sms"].Sent, c.Sent)
	}
	t.Logf("original: %d sent before the cancel, %d skipped; cancel sent to %d", c.Sent, c.Skipped, cs.Channels["sms"].Sent)
}

func TestExpiredAlertJobsSkipped(t *testing.T) {
	f := startDelivering(t, func(c *config.Config) { c.SMS.RatePerSecond = 2 })
	var rs []resident
	for i := range 10 {
		rs = append(rs, resident{fmt.Sprintf("+1206555%04d", 300+i), "en", 47.54 + float64(i)*0.001, -122.31})
	}
	f.importResidents(t, rs, "")
	a := baseAlert(t)
	a.Info[0].Expires = time.Now().Add(2 * time.Second).Format("2006-01-02T15:04:05-07:00")
	acc := publishCAP(t, f, a)
	s := f.waitDone(t, acc.ID)
	c := s.Channels["sms"]
	if c.Skipped == 0 || c.Sent+c.Skipped+c.Failed != 10 || c.Sent > 8 {
		t.Fatalf("expiring alert: %+v, want the late jobs skipped", c)
	}
	for _, fl := range s.Failures {
		if fl.State == "skipped" && fl.Reason != "alert expired" {
			t.Errorf("skip reason %q", fl.Reason)
		}
	}
}
