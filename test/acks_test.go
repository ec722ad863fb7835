package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/config"
)

// ackCode finds the code in an escalation text ("Reply ACK 482913 ...").
var ackCode = regexp.MustCompile(`ACK (\d{6})`)

// smsTo returns the texts sent to number so far.
func smsTo(f *fakeTwilio, number string) []string {
	var out []string
	for _, m := range f.messages() {
		if m.To == number {
			out = append(out, m.Body)
		}
	}
	return out
}

func (f *fakes) acks(t *testing.T, id string) map[string]api.HospitalAck {
	t.Helper()
	raw, err := f.Client.Get(ctxT(t), "/v1/alerts/"+id+"/acks")
	if err != nil {
		t.Fatalf("acks: %v", err)
	}
	var res api.Acks
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	out := map[string]api.HospitalAck{}
	for _, h := range res.Hospitals {
		out[h.Hospital] = h
	}
	return out
}

// TestAcknowledgementsEscalate: an alert that requires acknowledgement
// reaches three hospitals. The first confirms through the link in its
// webhook; the second does not, its duty officer is texted and confirms
// by SMS; the third never answers, is escalated to its last tier and
// ends unacknowledged. Each step is recorded and shown.
func TestAcknowledgementsEscalate(t *testing.T) {
	f := startDelivering(t, func(c *config.Config) {
		c.Acks.RequiredFor.Severity = []string{"Severe"}
		c.Acks.Timeout = 2 * time.Second
	})
	const dutyB, dutyC1, dutyC2, stranger = "+12065550181", "+12065550182", "+12065550183", "+12065550199"
	hospital := func(name string, escalation ...[]string) *receiver {
		rc := newReceiver(t)
		raw, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/webhooks", api.Webhook{URL: rc.URL, Regions: []string{king}, Name: name, Escalation: escalation})
		if err != nil {
			t.Fatalf("add %s: %v", name, err)
		}
		var res api.WebhookCreated
		_ = json.Unmarshal(raw, &res)
		rc.secret = res.Secret
		return rc
	}
	harbor := hospital("Harborview", []string{dutyB})
	swedish := hospital("Swedish First Hill", []string{dutyB})
	valley := hospital("Valley Medical", []string{dutyC1}, []string{dutyC2})
	// Harborview and Swedish share a duty phone: the code says which
	// hospital a confirmation is for.

	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	payload := func(rc *receiver) map[string]any {
		var p map[string]any
		within(t, 10*time.Second, "webhook delivered", func() bool {
			got, _, _ := rc.got()
			if len(got) > 0 {
				p = got[0].Payload
			}
			return p != nil
		})
		return p
	}
	ph, ps, pv := payload(harbor), payload(swedish), payload(valley)
	for _, p := range []map[string]any{ph, ps, pv} {
		if p["ack_required"] != true || !strings.Contains(p["ack_url"].(string), "/v1/acks/") {
			t.Fatalf("webhook payload asks no acknowledgement: %v", p)
		}
	}
	if ph["ack_url"] == ps["ack_url"] {
		t.Fatal("two hospitals got the same acknowledgement link")
	}

	// Harborview confirms through its link (the page first: a GET changes nothing).
	resp, err := http.Get(ph["ack_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "<form method=\"post\">") || f.acks(t, acc.ID)["Harborview"].State != "pending" {
		t.Fatalf("GET of the link: %d %s", resp.StatusCode, page)
	}
	resp, err = http.Post(ph["ack_url"].(string), "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST ack link: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	forged := strings.Replace(ph["ack_url"].(string), acc.ID, acc.ID+"x", 1)
	if resp, _ := http.Post(forged, "application/json", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("forged link: %d, want 404", resp.StatusCode)
	}

	// Swedish does not answer: its duty phone is texted the code.
	var code string
	within(t, 15*time.Second, "Swedish's duty officer texted", func() bool {
		for _, body := range smsTo(f.twilio, dutyB) {
			if strings.Contains(body, "Swedish First Hill") {
				code = ackCode.FindStringSubmatch(body)[1]
				return true
			}
		}
		return false
	})
	if n := len(smsTo(f.twilio, dutyB)); n != 1 {
		t.Fatalf("duty phone texted %d times, want once (Harborview confirmed in time)", n)
	}
	if _, reply := f.text(t, stranger, "ACK "+code, validSig); !strings.Contains(reply, "matches no alert") {
		t.Fatalf("a stranger's ACK: %q", reply)
	}
	if _, reply := f.text(t, dutyB, "ack "+code, validSig); !strings.Contains(reply, "confirmation recorded for Swedish First Hill") {
		t.Fatalf("duty officer's ACK: %q", reply)
	}

	// Valley never answers: tier 1, tier 2, then unacknowledged.
	within(t, 20*time.Second, "Valley unacknowledged", func() bool { return f.acks(t, acc.ID)["Valley Medical"].State == "unacknowledged" })
	if len(smsTo(f.twilio, dutyC1)) != 1 || len(smsTo(f.twilio, dutyC2)) != 1 {
		t.Fatalf("Valley's tiers texted %d and %d times, want once each", len(smsTo(f.twilio, dutyC1)), len(smsTo(f.twilio, dutyC2)))
	}

	got := f.acks(t, acc.ID)
	h, s, v := got["Harborview"], got["Swedish First Hill"], got["Valley Medical"]
	switch {
	case h.State != "acknowledged" || h.Path != "link" || h.Tier != 0 || len(h.Escalations) != 0 || h.Webhook != "delivered" || h.AcknowledgedAt == nil:
		t.Errorf("Harborview: %+v", h)
	case s.State != "acknowledged" || s.Path != "sms" || s.Tier != 1 || len(s.Escalations) != 1 || s.Escalations[0].Sent != 1:
		t.Errorf("Swedish: %+v", s)
	case v.State != "unacknowledged" || v.Tier != 2 || len(v.Escalations) != 2 || v.AcknowledgedAt != nil:
		t.Errorf("Valley: %+v", v)
	}
	if strings.Contains(s.AcknowledgedBy, dutyB) {
		t.Errorf("the duty phone is shown in full: %q", s.AcknowledgedBy)
	}

	// The CLI and the metrics say the same.
	out, err := exec.Command(heraldBinary(t), "alert", "acks", acc.ID, "--server", f.Client.Server, "--token", adminToken).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Valley Medical") || !strings.Contains(string(out), "unacknowledged") || !strings.Contains(string(out), "escalated to tier 2") {
		t.Fatalf("herald alert acks: %v\n%s", err, out)
	}
	metrics, _ := f.Client.Get(ctxT(t), "/metrics")
	for _, want := range []string{`herald_acks_total{outcome="acknowledged",path="link"} 1`, `herald_acks_total{outcome="acknowledged",path="sms"} 1`,
		`herald_acks_total{outcome="unacknowledged",path=""} 1`, `herald_ack_escalations_total{tier="2"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestHospitalTokens: a hospital's own token manages its subscription and
// acknowledges alerts, and touches nothing else.
func TestHospitalTokens(t *testing.T) {
	f := startDelivering(t, func(c *config.Config) { c.Acks.RequiredFor.Severity = []string{"Severe"} })
	a := newReceiver(t)
	idA, secretA := f.addWebhook(t, a.URL, king)
	a.secret = secretA
	idB, _ := f.addWebhook(t, "https://hospital-b.example/herald", king)
	raw, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/webhooks/"+idA+"/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	var tok api.HospitalToken
	_ = json.Unmarshal(raw, &tok)
	as := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, f.Client.Server+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := as(http.MethodGet, "/v1/webhooks"); code != 200 || !strings.Contains(body, idA) || strings.Contains(body, idB) {
		t.Errorf("hospital lists: %d %s", code, body)
	}
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/v1/webhooks/" + idA, 200},
		{http.MethodGet, "/v1/webhooks/" + idB, 404},
		{http.MethodPost, "/v1/webhooks/" + idB + "/pause", 404},
		{http.MethodPost, "/v1/webhooks/" + idB + "/rotate", 404},
		{http.MethodDelete, "/v1/webhooks/" + idB, 404},
		{http.MethodPost, "/v1/webhooks/" + idA + "/token", 401}, // only the admin issues tokens
		{http.MethodPost, "/v1/webhooks", 401},
		{http.MethodGet, "/v1/audit", 401},
	} {
		if code, body := as(tt.method, tt.path); code != tt.want {
			t.Errorf("%s %s with the hospital's token: %d, want %d (%s)", tt.method, tt.path, code, tt.want, body)
		}
	}
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "both hospitals asked", func() bool { return len(f.acks(t, acc.ID)) == 2 })
	if code, body := as(http.MethodPost, "/v1/alerts/"+acc.ID+"/ack"); code != 200 || !strings.Contains(body, `"path":"token"`) {
		t.Fatalf("acknowledge with the token: %d %s", code, body)
	}
	if code, _ := as(http.MethodGet, "/v1/alerts/"+acc.ID+"/acks"); code != 401 {
		t.Errorf("a hospital read the officers' view: %d", code)
	}
	if code, _ := as(http.MethodPost, "/v1/webhooks/"+idA+"/pause"); code != 200 {
		t.Errorf("pause own: %d", code)
	}
	if sub, _ := f.Client.Get(ctxT(t), "/v1/webhooks/"+idA); !strings.Contains(string(sub), `"disabled":true`) {
		t.Errorf("own subscription not paused: %s", sub)
	}
}

// TestAckTimersSurviveSIGKILL: escalation timers live in JetStream. Herald
// is killed with SIGKILL after the webhook went out and before the first
// tier is due; after a restart on the same data dir the tiers are still
// texted on time and the hospital ends unacknowledged. The alert asks for
// acknowledgement with its AckRequired parameter (the policy alone would
// not ask for a Moderate alert).
func TestAckTimersSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs herald; skipped with -short")
	}
	twilio := newFakeTwilio(t)
	rc := newReceiver(t)
	dir := t.TempDir()
	officer := newOfficer(t, "king-health")
	orig := filepath.Join(dir, "originators.yaml")
	if err := os.WriteFile(orig, []byte(fmt.Sprintf("originators:\n  - id: king-health\n    name: King\n    public_key: %s\n    roles: [issuer]\n    jurisdiction: {regions: [%s]}\n", officer.Pub, king)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"HERALD_DATA_DIR=" + filepath.Join(dir, "data"), "HERALD_ORIGINATORS_FILE=" + orig,
		"HERALD_HTTP_ADDR=127.0.0.1:0", "HERALD_NATS_LISTEN=", "HERALD_HTTP_ADMIN_TOKEN=" + adminToken,
		"HERALD_SMS_PROVIDER=twilio", "HERALD_SMS_RATE_PER_SECOND=100",
		"HERALD_TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000", "HERALD_TWILIO_AUTH_TOKEN=testauthtoken0123",
		"HERALD_TWILIO_MESSAGING_SERVICE_SID=MG00000000000000000000000000000000", "HERALD_TWILIO_API_BASE_URL=" + twilio.URL,
		"HERALD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=true", "HERALD_ACKS_TIMEOUT=6s",
	}
	const duty1, duty2 = "+12065550191", "+12065550192"
	p := startServe(t, env...)
	c := client.New(client.Config{Server: p.URL, Token: adminToken})
	raw, err := c.Send(ctxT(t), http.MethodPost, "/v1/webhooks", api.Webhook{URL: rc.URL, Regions: []string{king}, Name: "Overlake", Escalation: [][]string{{duty1}, {duty2}}})
	if err != nil {
		t.Fatal(err)
	}
	var created api.WebhookCreated
	_ = json.Unmarshal(raw, &created)
	rc.secret = created.Secret

	body := strings.Replace(string(newAlert(t, alertSpec{severity: cap.SeverityModerate})), "<area>",
		"<parameter><valueName>AckRequired</valueName><value>true</value></parameter><area>", 1)
	acc, _, err := c.Publish(ctxT(t), officer.Key, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "webhook delivered", func() bool { got, _, _ := rc.got(); return len(got) == 1 })
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	if n := len(twilio.messages()); n != 0 {
		t.Fatalf("%d texts before the first tier was due", n)
	}

	p = startServe(t, env...)
	c = client.New(client.Config{Server: p.URL, Token: adminToken})
	within(t, 90*time.Second, "tier 1 texted after the restart", func() bool { return len(smsTo(twilio, duty1)) == 1 })
	within(t, 30*time.Second, "tier 2 texted", func() bool { return len(smsTo(twilio, duty2)) == 1 })
	var res api.Acks
	within(t, 30*time.Second, "unacknowledged", func() bool {
		raw, err := c.Get(ctxT(t), "/v1/alerts/"+acc.ID+"/acks")
		return err == nil && json.Unmarshal(raw, &res) == nil && len(res.Hospitals) == 1 && res.Hospitals[0].State == "unacknowledged"
	})
	if h := res.Hospitals[0]; h.Tier != 2 || len(h.Escalations) != 2 || h.Webhook != "delivered" {
		t.Fatalf("after the restart: %+v", h)
	}
	if n := len(smsTo(twilio, duty1)); n != 1 {
		t.Fatalf("tier 1 texted %d times, want once", n)
	}
}
