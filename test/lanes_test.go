package test

import (
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/test/natstest"
)

// TestUrgentOvertakesRoutine: a routine (Future, Minor) alert to 400
// residents is being sent at a low carrier rate when an urgent
// (Immediate, Severe) alert to one resident is published; its SMS goes out
// before the routine fan-out is half done, within the few sends already
// waiting for the limiter; then the routine alert resumes and both finish,
// each resident texted once per alert.
func TestUrgentOvertakesRoutine(t *testing.T) {
	const routine = 400
	f := startDelivering(t, func(c *config.Config) { c.SMS.RatePerSecond = 100 })
	if _, err := f.Client.Upload(ctxT(t), "/v1/subscribers/import", "text/csv", []byte(residentsCSV(routine, 3))); err != nil {
		t.Fatal(err)
	}
	f.importResidents(t, []resident{{phone: "+12535550188", lat: 47.245, lon: -122.445}}, "")

	big := newAlert(t, alertSpec{urgency: cap.UrgencyFuture, severity: cap.SeverityMinor})
	// The preview estimates the fan-out at the carrier rate: recipients
	// times segments over 100 segments a second.
	p, _, err := f.Client.Preview(ctxT(t), f.King.Key, big)
	if err != nil {
		t.Fatal(err)
	}
	segments := 0
	for _, tx := range p.Texts {
		if tx.Channel == "sms" {
			segments = max(segments, tx.Segments)
		}
	}
	if want := float64(routine*segments) / 100; p.Recipients["sms"] != routine || p.SMSSeconds != want {
		t.Errorf("preview: %d SMS in %v s, want %d in %v s", p.Recipients["sms"], p.SMSSeconds, routine, want)
	}
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, big)
	if err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "routine fan-out under way", func() bool { return len(sentTo(f.twilio.messages(), acc.ID)) >= 20 })

	atPublish := len(sentTo(f.twilio.messages(), acc.ID))
	urgent, _, err := f.Client.Publish(ctxT(t), f.Pierce.Key, newAlert(t, alertSpec{sender: pierceSender, polygons: []string{tacomaPoly}}))
	if err != nil {
		t.Fatal(err)
	}
	var before int
	within(t, 10*time.Second, "urgent SMS", func() bool {
		msgs := f.twilio.messages()
		if len(sentTo(msgs, urgent.ID)) == 0 {
			return false
		}
		before = len(sentTo(msgs, acc.ID))
		return true
	})
	t.Logf("urgent SMS went out with %d of %d routine SMS sent (%d when it was published)", before, routine, atPublish)
	// Sends already holding one of the 16 SMS workers may go first.
	if before-atPublish > 20 {
		t.Errorf("urgent SMS went out after %d more routine ones: it did not overtake", before-atPublish)
	}

	if s := f.deliveries(t, acc.ID); s.Channels["sms"].Queued > 0 && s.SMSSeconds <= 0 {
		t.Errorf("status during the fan-out gives no estimate: %+v", s)
	}
	for _, id := range []string{acc.ID, urgent.ID} {
		s := f.waitDoneWithin(t, id, 30*time.Second)
		if c := s.Channels["sms"]; c.Queued != 0 || c.Failed != 0 {
			t.Errorf("%s: %+v", id, c)
		}
	}
	msgs := f.twilio.messages()
	if got := len(sentTo(msgs, acc.ID)); got != routine {
		t.Errorf("routine alert reached %d residents, want %d", got, routine)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.To+" "+m.Body]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("sent %d times: %s", n, k)
		}
	}
}

// TestUrgentOvertakesAcrossProcesses: the same with two Herald processes
// sharing the work (and the carrier rate) on one NATS server: whichever
// process takes the urgent job, its SMS goes out ahead of the routine
// fan-out both are draining, and neither alert is sent twice.
func TestUrgentOvertakesAcrossProcesses(t *testing.T) {
	const routine = 400
	ns := natstest.Start(t)
	twilio := newFakeTwilio(t)
	officers := []officer{newOfficer(t, "king-health"), newOfficer(t, "pierce-health"), newOfficer(t, "king-approver"), newOfficer(t, "king-drill")}
	edit := func(c *config.Config) {
		c.HTTP.AdminToken = adminToken
		c.SMS.Provider, c.SMS.RatePerSecond = "twilio", 100
		c.Twilio.AccountSID, c.Twilio.AuthToken = "AC00000000000000000000000000000000", "testauthtoken0123"
		c.Twilio.MessagingServiceSID, c.Twilio.APIBaseURL = "MG00000000000000000000000000000000", twilio.URL
	}
	dir := t.TempDir() // shared: both processes need the same residents key
	a := startHerald(t, setup{natsURL: ns.ClientURL(), dataDir: dir, officers: officers, edit: edit})
	b := startHerald(t, setup{natsURL: ns.ClientURL(), dataDir: dir, officers: officers, edit: edit})
	a.Client.Token = adminToken
	if _, err := a.Client.Upload(ctxT(t), "/v1/subscribers/import", "text/csv", []byte(residentsCSV(routine, 3)+"+12535550188,47.245,-122.445\n")); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "both processes loaded residents", func() bool {
		return a.IndexedResidents() == routine+1 && b.IndexedResidents() == routine+1
	})
	acc, _, err := a.Client.Publish(ctxT(t), a.King.Key, newAlert(t, alertSpec{urgency: cap.UrgencyFuture, severity: cap.SeverityMinor}))
	if err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "routine fan-out under way", func() bool { return len(sentTo(twilio.messages(), acc.ID)) >= 20 })
	atPublish := len(sentTo(twilio.messages(), acc.ID))
	urgent, _, err := b.Client.Publish(ctxT(t), b.Pierce.Key, newAlert(t, alertSpec{sender: pierceSender, polygons: []string{tacomaPoly}}))
	if err != nil {
		t.Fatal(err)
	}
	var before int
	within(t, 10*time.Second, "urgent SMS", func() bool {
		msgs := twilio.messages()
		if len(sentTo(msgs, urgent.ID)) == 0 {
			return false
		}
		before = len(sentTo(msgs, acc.ID))
		return true
	})
	t.Logf("urgent SMS went out with %d of %d routine SMS sent (%d when it was published)", before, routine, atPublish)
	// Each process may have its 16 workers' sends in hand already.
	if before-atPublish > 40 {
		t.Errorf("urgent SMS went out after %d more routine ones: it did not overtake", before-atPublish)
	}
	within(t, 30*time.Second, "routine alert done", func() bool { return len(sentTo(twilio.messages(), acc.ID)) >= routine })
	time.Sleep(300 * time.Millisecond)
	seen := map[string]int{}
	for _, m := range twilio.messages() {
		seen[m.To+" "+m.Body]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("sent %d times: %s", n, k)
		}
	}
	if got := len(sentTo(twilio.messages(), acc.ID)); got != routine {
		t.Errorf("routine alert reached %d residents, want %d", got, routine)
	}
}
