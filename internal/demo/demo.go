// Package demo is `herald demo`: a self-contained run on the embedded
// default (temporary data dir, loopback ports) with a sample officer,
// residents and hospital, that publishes a signed alert and prints what
// each channel delivered. It changes nothing outside its temporary dir.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/channels/phone"
	"github.com/herald-alerts/herald/channels/social/bluesky"
	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/compose"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/inproc"
)

// demoSender is the sample agency's CAP sender.
const demoSender = "phskc@kingcounty.gov"

// demoRegion is King County, WA; the sample alert covers part of Seattle.
const demoRegion = "us-county-53033"

// demoResidents: four inside the alert's area (one reads Spanish), one
// elsewhere in Seattle, one in Tacoma.
const demoResidents = `phone,lat,lon,language
+12065550101,47.555,-122.310,en
+12065550102,47.560,-122.300,es-US
+12065550103,47.545,-122.320,en
+12065550104,47.570,-122.295,en
+12065550105,47.620,-122.330,en
+12535550106,47.250,-122.440,en
`

// sink is a local stand-in for a provider: it records what it was given.
type sink struct {
	mu   sync.Mutex
	msgs []channels.Message
}

func (s *sink) Send(_ context.Context, m channels.Message) (channels.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	// Nothing leaves the demo: its deliveries are recorded as logged.
	return channels.Receipt{ProviderID: fmt.Sprintf("demo-%d", len(s.msgs)), Logged: true}, nil
}

func (s *sink) all() []channels.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]channels.Message(nil), s.msgs...)
}

// hospitalEndpoint is the demo hospital's webhook receiver: it verifies the
// Standard Webhooks signature of what it receives.
type hospitalEndpoint struct {
	mu       sync.Mutex
	secret   string
	received []string
}

func (h *hospitalEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	h.mu.Lock()
	defer h.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(h.secret)
	if err != nil || wh.Verify(body, r.Header) != nil {
		h.received = append(h.received, "REJECTED: bad signature")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var p struct {
		Type     string   `json:"type"`
		AlertID  string   `json:"alert_id"`
		Regions  []string `json:"regions"`
		Headline string   `json:"headline"`
		Severity string   `json:"severity"`
	}
	_ = json.Unmarshal(body, &p)
	h.received = append(h.received, fmt.Sprintf("%s %s %q severity=%s regions=%v (signature verified, webhook-id %s)",
		p.Type, p.AlertID, p.Headline, p.Severity, p.Regions, r.Header.Get("webhook-id")))
	w.WriteHeader(http.StatusNoContent)
}

// Run runs the demo, printing to out; Herald's logs go to logger.
func Run(ctx context.Context, out io.Writer, logger *slog.Logger) error {
	officer, err := inproc.NewOfficer("wa-king-health", "Demo officer, Public Health - Seattle & King County", []string{"issuer"}, demoRegion)
	if err != nil {
		return err
	}
	officer.Senders = []string{demoSender}
	// The embedded NATS requires accounts on TCP: one for the demo hospital.
	hospitalPass := "demo-" + strings.ToLower(officer.Pub[17:33])
	smsSink, socialSink := &sink{}, &sink{}
	h, err := inproc.Start(ctx, inproc.Options{
		Officers:  []inproc.Officer{officer},
		NATSUsers: []config.NATSUser{{User: "demo-hospital", Password: hospitalPass, Role: "hospital"}},
		Edit: func(cfg *config.Config) {
			cfg.SMS.RatePerSecond = 100
			cfg.Webhooks.AllowPrivateAddresses = true // the demo hospital listens on loopback
		},
		Logger:         logger,
		Notifiers:      map[channels.Channel]channels.Notifier{channels.SMS: smsSink, channels.Social: socialSink},
		SocialAccounts: []string{compose.Mastodon, compose.Bluesky},
	})
	if err != nil {
		return err
	}
	defer h.Stop(context.Background())
	fmt.Fprintf(out, "Herald demo: embedded NATS + JetStream in %s\n", h.Dir)
	c := h.Client
	fmt.Fprintf(out, "  HTTP API  %s\n  NATS      %s\n  regions   %d loaded\n\n", h.HTTPURL(), h.NATSURL(), h.Regions().Len())

	// Residents subscribe (the same CSV `herald subscriber import` sends).
	raw, err := c.Upload(ctx, "/v1/subscribers/import", "text/csv", []byte(demoResidents))
	if err != nil {
		return fmt.Errorf("import residents: %w", err)
	}
	var imported struct{ Imported int }
	_ = json.Unmarshal(raw, &imported)
	fmt.Fprintf(out, "Imported %d residents (4 inside the alert's area, 2 outside)\n", imported.Imported)

	// A hospital subscribes with a webhook and follows its county on NATS.
	hosp := &hospitalEndpoint{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: hosp, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	raw, err = c.Send(ctx, http.MethodPost, "/v1/webhooks", map[string]any{"url": "http://" + ln.Addr().String() + "/herald", "regions": []string{demoRegion}})
	if err != nil {
		return fmt.Errorf("add webhook: %w", err)
	}
	var wh struct{ ID, Secret string }
	_ = json.Unmarshal(raw, &wh)
	hosp.mu.Lock()
	hosp.secret = wh.Secret
	hosp.mu.Unlock()
	fmt.Fprintf(out, "Hospital webhook %s subscribed to %s\n", wh.ID, demoRegion)

	nc, err := nats.Connect(h.NATSURL(), nats.Name("demo-hospital"), nats.UserInfo("demo-hospital", hospitalPass))
	if err != nil {
		return err
	}
	defer nc.Close()
	feed := make(chan *nats.Msg, 16)
	if _, err := nc.ChanSubscribe(alertlog.SubjectRegion+">", feed); err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}

	body, err := demoAlert(time.Now())
	if err != nil {
		return err
	}
	acc, _, err := c.Publish(ctx, officer.Key, body)
	if err != nil {
		return fmt.Errorf("publish sample alert: %w", err)
	}
	fmt.Fprintf(out, "\nPublished a signed boil-water advisory: alert %s (%s)\n", acc.ID, acc.State)

	var sum deliveries.Summary
	deadline := time.Now().Add(20 * time.Second)
	for {
		raw, err := c.Get(ctx, "/v1/alerts/"+acc.ID+"/deliveries")
		if err == nil && json.Unmarshal(raw, &sum) == nil && sum.Done {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deliveries not done within 20s: %+v", sum.Channels)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}

	fmt.Fprintln(out, "\nNATS regional feed (herald.alerts.region.<id>):")
	select {
	case m := <-feed:
		fmt.Fprintf(out, "  %s  alert %s  %s/%s/%s  %d bytes of CAP\n", m.Subject, m.Header.Get(alertlog.HeaderAlertID),
			m.Header.Get(alertlog.HeaderSeverity), m.Header.Get(alertlog.HeaderUrgency), m.Header.Get(alertlog.HeaderCertainty), len(m.Data))
	case <-time.After(5 * time.Second):
		return fmt.Errorf("no regional feed message")
	}
	fmt.Fprintln(out, "\nSMS (written here, not sent: the demo has no SMS provider; numbers redacted):")
	for _, m := range smsSink.all() {
		fmt.Fprintf(out, "  to %s:\n    %s\n", phone.Redact(m.To), strings.ReplaceAll(m.Text, "\n", "\n    "))
	}
	fmt.Fprintln(out, "\nWebhook received by the hospital:")
	hosp.mu.Lock()
	for _, r := range hosp.received {
		fmt.Fprintf(out, "  %s\n", r)
	}
	hosp.mu.Unlock()
	// One thread per account: a post per language, the second a reply to
	// the first; only the alert's link and the hashtags are active.
	for _, m := range socialSink.all() {
		limit, length := compose.Limit(m.To)
		fmt.Fprintf(out, "\nSocial thread as it would be posted to %s:\n", m.To)
		for i, p := range m.Thread {
			role := "post"
			if i > 0 {
				role = "reply to the first post"
			}
			fmt.Fprintf(out, "  %s, %s (%d of %d):\n    %s\n", role, p.Lang, length(p.Text), limit, strings.ReplaceAll(p.Text, "\n", "\n    "))
			if m.To == compose.Bluesky {
				var active []string
				for _, f := range bluesky.Facets(p) {
					active = append(active, p.Text[f.Index.ByteStart:f.Index.ByteEnd])
				}
				fmt.Fprintf(out, "    facets (bytes of the UTF-8 text): %s\n", strings.Join(active, ", "))
			}
		}
	}
	fmt.Fprintln(out, "\nDeliveries:")
	for _, ch := range channels.All {
		n := sum.Channels[string(ch)]
		fmt.Fprintf(out, "  %-8s sent %d, logged %d, delivered %d, failed %d, skipped %d, queued %d\n", ch, n.Sent, n.Logged, n.Delivered, n.Failed, n.Skipped, n.Queued)
	}
	st, _, err := c.Alert(ctx, acc.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nAlert state: %s; regions: %v\nCAP XML: %s/v1/alerts/%s.cap\n", st.State, st.Regions, h.HTTPURL(), acc.ID)
	return nil
}

// demoAlert is a boil-water advisory for part of Seattle, in English and
// Spanish, sent now.
func demoAlert(now time.Time) ([]byte, error) {
	sent := now.Format("2006-01-02T15:04:05-07:00")
	expires := now.Add(48 * time.Hour).Format("2006-01-02T15:04:05-07:00")
	area := cap.Area{
		AreaDesc: "Seattle: Beacon Hill and Georgetown",
		Polygon:  []string{"47.58,-122.33 47.58,-122.29 47.53,-122.29 47.53,-122.33 47.58,-122.33"},
	}
	info := func(lang, event, headline, instruction string) cap.Info {
		return cap.Info{
			Language: lang, Category: []string{"Health"}, Event: event, ResponseType: []string{"Prepare"},
			Urgency: cap.UrgencyImmediate, Severity: cap.SeveritySevere, Certainty: cap.CertaintyObserved, Expires: expires,
			SenderName: "Public Health - Seattle & King County", Headline: headline, Instruction: instruction,
			Area: []cap.Area{area},
		}
	}
	a := &cap.Alert{
		Identifier: "PHSKC-BW-" + now.UTC().Format("20060102T150405.000"),
		Sender:     demoSender, Sent: sent, Status: cap.StatusActual, MsgType: cap.MsgAlert, Scope: cap.ScopePublic,
		Info: []cap.Info{
			info("en-US", "Boil Water Advisory", "Boil water before drinking",
				"Bring tap water to a rolling boil for one minute before drinking or cooking. Bottled water is safe."),
			info("es-US", "Aviso de hervir el agua", "Hierva el agua antes de beberla",
				"Hierva el agua del grifo durante un minuto antes de beberla o cocinar. El agua embotellada es segura."),
		},
	}
	return cap.Marshal(a)
}
