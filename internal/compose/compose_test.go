package compose

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/internal/render"
	"github.com/herald-alerts/herald/internal/residents"
	"github.com/herald-alerts/herald/test/natstest"
)

type fakeResidents map[string]residents.Resident

func (f fakeResidents) Get(_ context.Context, id string) (residents.Resident, error) {
	r, ok := f[id]
	if !ok {
		return r, residents.ErrNotFound
	}
	return r, nil
}

func testAlert(identifier string, status cap.Status, expires time.Time) *cap.Alert {
	return &cap.Alert{
		Identifier: identifier, Sender: "alerts@health.example", Sent: time.Now().Format("2006-01-02T15:04:05-07:00"),
		Status: status, MsgType: cap.MsgAlert, Scope: cap.ScopePublic,
		Info: []cap.Info{
			{Language: "en-US", Category: []string{"Health"}, Event: "Boil Water Advisory", Urgency: cap.UrgencyImmediate,
				Severity: cap.SeveritySevere, Certainty: cap.CertaintyObserved, Headline: "Boil water before drinking",
				Instruction: "Boil tap water for one minute.", Expires: expires.Format("2006-01-02T15:04:05-07:00")},
			{Language: "es-US", Category: []string{"Health"}, Event: "Aviso", Urgency: cap.UrgencyImmediate,
				Severity: cap.SeveritySevere, Certainty: cap.CertaintyObserved, Headline: "Hierva el agua antes de beberla",
				Expires: expires.Format("2006-01-02T15:04:05-07:00")},
		},
	}
}

func store(t *testing.T, log *alertlog.Log, a *cap.Alert) string {
	t.Helper()
	raw, err := cap.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	rec := log.NewRecord(a, "wa", []string{"r1"}, time.Now())
	if err := log.Append(context.Background(), rec, raw, nil); err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

func TestComposeSMS(t *testing.T) {
	ctx := context.Background()
	log, err := alertlog.Open(ctx, alertlog.Config{JS: natstest.JetStream(t), Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	alerts := NewAlerts(AlertsConfig{Log: log, StateTTL: time.Hour})
	live := store(t, log, testAlert("LIVE", cap.StatusActual, time.Now().Add(time.Hour)))
	drill := store(t, log, testAlert("DRILL", cap.StatusExercise, time.Now().Add(time.Hour)))
	c := NewSMS(SMSConfig{Alerts: alerts, Links: Links{PublicURL: "https://herald.example"}, Residents: fakeResidents{
		"en":      {Phone: "+12065550101", Language: "en-US"},
		"es":      {Phone: "+12065550102", Language: "es-US"},
		"stopped": {Phone: "+12065550103", OptedOut: true},
	}})
	tests := []struct {
		name, alert, resident string
		skip, text            string // substrings
	}{
		{"english reader", live, "en", "", "Boil water before drinking"},
		{"spanish reader", live, "es", "", "Hierva el agua"},
		{"link to the alert's page, in the reader's language", live, "es", "", "https://herald.example/a/" + live + "?lang=es"},
		{"opted out", live, "stopped", "opted out", ""},
		{"removed resident", live, "gone", "unsubscribed", ""},
		{"exercise to a non-participant", drill, "en", "not an exercise participant", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, skip, err := c.Compose(ctx, jobs.Delivery{AlertID: tt.alert, Channel: channels.SMS, Recipient: tt.resident})
			if err != nil {
				t.Fatal(err)
			}
			if tt.skip != "" {
				if !strings.Contains(skip, tt.skip) {
					t.Fatalf("skip = %q, want %q", skip, tt.skip)
				}
				return
			}
			if skip != "" || !strings.Contains(m.Text, tt.text) || m.To == "" {
				t.Fatalf("message %+v (skip %q), want text containing %q", m, skip, tt.text)
			}
			if n, _ := render.Segments(m.Text); m.Segments != n {
				t.Fatalf("message says %d segments, its text is %d (the rate limiter counts these)", m.Segments, n)
			}
		})
	}
}

func TestDeliverable(t *testing.T) {
	ctx := context.Background()
	log, err := alertlog.Open(ctx, alertlog.Config{JS: natstest.JetStream(t), Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	live := store(t, log, testAlert("LIVE", cap.StatusActual, now.Add(time.Hour)))
	old := store(t, log, testAlert("OLD", cap.StatusActual, now.Add(-time.Minute)))
	gone := store(t, log, testAlert("GONE", cap.StatusActual, now.Add(time.Hour)))
	if _, ok, err := log.Apply(ctx, gone, lifecycle.Cancel); !ok || err != nil {
		t.Fatal(ok, err)
	}
	alerts := NewAlerts(AlertsConfig{Log: log, StateTTL: time.Hour})
	for _, tt := range []struct {
		id, skip string
		until    bool
	}{
		{live, "", true},
		{old, "alert expired", true},
		{gone, "alert cancelled", false},
	} {
		skip, until, err := alerts.Deliverable(ctx, tt.id)
		if err != nil || skip != tt.skip || until.IsZero() == tt.until {
			t.Errorf("Deliverable(%s) = %q, %v, %v; want %q (until set: %v)", tt.id, skip, until, err, tt.skip, tt.until)
		}
	}
}

// TestSocialThread: a post per language as social.languages allows (the
// first info's when it allows none), each within its network's limit as
// that network counts, with the page link in its language and the tags
// as written.
func TestSocialThread(t *testing.T) {
	a := testAlert("social-1", cap.StatusActual, time.Now().Add(time.Hour))
	a.Info[0].Instruction = strings.Repeat("Boil tap water for one minute before drinking or cooking. ", 12)
	al := Alert{CAP: a, Record: &alertlog.Record{ID: "a1"}}
	for _, tt := range []struct {
		langs []string
		want  string
	}{
		{nil, "en-US es-US"},
		{[]string{"es"}, "es-US"},
		{[]string{"ES-us", "en-US"}, "en-US es-US"},
		{[]string{"fr"}, "en-US"},
	} {
		c := NewSocial(SocialConfig{Languages: tt.langs, Links: Links{PublicURL: "https://h.example"}, Hashtags: []string{"HealthAlert"}})
		if got := strings.Join(c.Languages(a), " "); got != tt.want {
			t.Errorf("social.languages %v: posts %q, want %q", tt.langs, got, tt.want)
		}
	}
	c := NewSocial(SocialConfig{Links: Links{PublicURL: "https://h.example"}, Hashtags: []string{"HealthAlert"}})
	for _, account := range []string{Mastodon, Bluesky} {
		limit, length := Limit(account)
		posts := c.Thread(al, account)
		if len(posts) != 2 {
			t.Fatalf("%s: %d posts", account, len(posts))
		}
		for _, p := range posts {
			if n := length(p.Text); n > limit {
				t.Errorf("%s %s post is %d long, limit %d", account, p.Lang, n, limit)
			}
			if p.Link != "https://h.example/a/a1?lang="+strings.ToLower(p.Lang[:2]) || !strings.Contains(p.Text, p.Link) {
				t.Errorf("%s %s link %q not in %q", account, p.Lang, p.Link, p.Text)
			}
			if len(p.Tags) == 0 || p.Tags[0] != "#HealthAlert" {
				t.Errorf("%s %s tags %v", account, p.Lang, p.Tags)
			}
		}
	}
	if en, es := c.Thread(al, Bluesky)[0].Text, c.Thread(al, Bluesky)[1].Text; !strings.Contains(en, "Boil water") || !strings.Contains(es, "Hierva el agua") {
		t.Errorf("texts:\n%s\n%s", en, es)
	}
}

// TestSMSTextCache: a Cancel's text leaves out the words of the original
// it references; when that original cannot be read, the text is not kept,
// so the next send renders it again (and leaves them out once it can).
func TestSMSTextCache(t *testing.T) {
	ctx := context.Background()
	log, err := alertlog.Open(ctx, alertlog.Config{JS: natstest.JetStream(t), Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := NewSMS(SMSConfig{Alerts: NewAlerts(AlertsConfig{Log: log, StateTTL: time.Hour}), Links: Links{PublicURL: "https://herald.example"},
		Residents: fakeResidents{"en": {Phone: "+12065550101", Language: "en-US"}}})
	orig := testAlert("ORIG", cap.StatusActual, time.Now().Add(time.Hour))
	cancel := testAlert("CANCEL", cap.StatusActual, time.Now().Add(time.Hour))
	cancel.MsgType = cap.MsgCancel
	cancel.References = orig.Sender + "," + orig.Identifier + "," + orig.Sent
	cancel.Info = cancel.Info[:1]
	cancelID := store(t, log, cancel)
	send := func() string {
		t.Helper()
		m, skip, err := c.Compose(ctx, jobs.Delivery{AlertID: cancelID, Channel: channels.SMS, Recipient: "en"})
		if err != nil || skip != "" {
			t.Fatalf("compose: %q, %v", skip, err)
		}
		return m.Text
	}
	// The original is not in the log: its words cannot be left out.
	if txt := send(); !strings.Contains(txt, "Boil tap water") {
		t.Fatalf("Cancel without its original: %q, want the Cancel's own copy of the words", txt)
	}
	if len(c.texts) != 0 {
		t.Fatalf("a text rendered without the original was kept: %v", c.texts)
	}
	store(t, log, orig)
	if txt := send(); strings.Contains(txt, "Boil tap water") {
		t.Fatalf("Cancel repeats its original's instruction: %q", txt)
	}
	if len(c.texts) != 1 {
		t.Fatalf("texts kept: %d, want 1", len(c.texts))
	}
	if a, b := send(), send(); a != b {
		t.Fatalf("cached text differs: %q, %q", a, b)
	}
}
