package test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/signing"
)

// consoleSession is an HTTP client signed in to the console as an officer.
type consoleSession struct {
	*http.Client
	base string
}

// signInAs opens a console session for kp, as the browser does: fetch a
// challenge, sign it for the "session" action, post it.
func signInAs(t *testing.T, base string, kp nkeys.KeyPair) (*consoleSession, int) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &consoleSession{Client: &http.Client{Jar: jar, Timeout: 10 * time.Second}, base: base}
	var ch api.Challenge
	if code := c.getJSON(t, "/v1/session/challenge", &ch); code != http.StatusOK {
		t.Fatalf("challenge: %d", code)
	}
	return c, c.postChallenge(t, kp, ch.Challenge, time.Now())
}

func (c *consoleSession) postChallenge(t *testing.T, kp nkeys.KeyPair, challenge string, at time.Time) int {
	t.Helper()
	h, err := signing.Sign(kp, signing.ActionSession, at, []byte(challenge))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+"/v1/session", strings.NewReader(challenge))
	h.Set(req.Header.Set)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func (c *consoleSession) getJSON(t *testing.T, path string, v any) int {
	t.Helper()
	resp, err := c.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, b)
		}
	}
	return resp.StatusCode
}

func listIDs(l api.Alerts) map[string]string {
	out := map[string]string{}
	for _, a := range l.Alerts {
		out[a.ID] = a.State
	}
	return out
}

// TestConsoleAPI covers the endpoints the console uses and who may call
// them: sign-in, the alert list per agency, reject, events, drafts,
// outlines and templates.
func TestConsoleAPI(t *testing.T) {
	f := startDelivering(t, nil)
	base := f.Client.Server

	// Sign-in: a signed server challenge gives an HttpOnly, SameSite=Strict
	// cookie; nothing else does.
	kingS, code := signInAs(t, base, f.King.Key)
	if code != http.StatusOK {
		t.Fatalf("sign in: %d", code)
	}
	var me api.Session
	if kingS.getJSON(t, "/v1/session", &me) != http.StatusOK || me.Originator.ID != f.King.ID || me.Bounds[0] > -121 || me.Bounds[2] < -122 {
		t.Fatalf("session = %+v", me)
	}
	resp, err := http.Get(base + "/v1/session/challenge")
	if err != nil {
		t.Fatal(err)
	}
	var ch api.Challenge
	_ = json.NewDecoder(resp.Body).Decode(&ch)
	resp.Body.Close()
	stranger, _ := nkeys.CreateUser()
	probe := &consoleSession{Client: &http.Client{}, base: base}
	for _, tt := range []struct {
		name      string
		kp        nkeys.KeyPair
		challenge string
		at        time.Time
	}{
		{"unknown key", stranger, ch.Challenge, time.Now()},
		{"forged challenge", f.King.Key, "herald-challenge.1.AAAA.BBBB", time.Now()},
		{"stale signature", f.King.Key, ch.Challenge, time.Now().Add(-10 * time.Minute)},
	} {
		if code := probe.postChallenge(t, tt.kp, tt.challenge, tt.at); code != http.StatusUnauthorized {
			t.Errorf("sign-in with %s: %d, want 401", tt.name, code)
		}
	}
	if code := probe.postChallenge(t, f.Pierce.Key, ch.Challenge, time.Now()); code != http.StatusOK {
		t.Fatalf("good sign-in: %d", code)
	}
	if code := probe.postChallenge(t, f.Pierce.Key, ch.Challenge, time.Now()); code != http.StatusUnauthorized {
		t.Errorf("replayed sign-in: %d, want 401", code)
	}
	cookie := signedCookie(t, base, f.King.Key)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", cookie)
	}
	forged := &http.Cookie{Name: cookie.Name, Value: strings.Replace(cookie.Value, ".", "x.", 1)}
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/alerts", nil)
	req.AddCookie(forged)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged cookie: %v %v", resp.StatusCode, err)
	}

	// Three alerts: King's (sent), Pierce's (sent), King's Extreme (held).
	accA, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	accB, _, err := f.Client.Publish(ctxT(t), f.Pierce.Key, newAlert(t, alertSpec{sender: pierceSender, polygons: []string{tacomaPoly}}))
	if err != nil {
		t.Fatal(err)
	}
	held, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{severity: cap.SeverityExtreme}))
	if err != nil || held.State != "pending_approval" {
		t.Fatalf("held: %+v %v", held, err)
	}
	f.waitDone(t, accA.ID)

	// The list: everything for the admin, the agency's alerts for an officer.
	if code := (&consoleSession{Client: &http.Client{}, base: base}).getJSON(t, "/v1/alerts", nil); code != http.StatusUnauthorized {
		t.Errorf("anonymous list: %d, want 401", code)
	}
	all, _, err := f.Client.List(ctxT(t), "", 0)
	if err != nil || len(listIDs(all)) != 3 {
		t.Fatalf("admin list: %+v %v", all, err)
	}
	if all.Alerts[0].ID != held.ID || all.Alerts[0].Headline == "" {
		t.Errorf("list not newest first with headlines: %+v", all.Alerts[0])
	}
	pending, _, err := f.Client.List(ctxT(t), "pending_approval", 0)
	if err != nil || len(pending.Alerts) != 1 || pending.Alerts[0].ID != held.ID {
		t.Errorf("pending list: %+v %v", pending, err)
	}
	if one, _, err := f.Client.List(ctxT(t), "", 1); err != nil || len(one.Alerts) != 1 || !one.More {
		t.Errorf("limit 1: %+v %v", one, err)
	}
	if _, _, err := f.Client.List(ctxT(t), "sent", 0); err == nil || !strings.Contains(err.Error(), "Unknown state") {
		t.Errorf("unknown state: %v", err)
	}
	approver, _ := signInAs(t, base, f.Approver.Key)
	pierce, _ := signInAs(t, base, f.Pierce.Key)
	for _, tt := range []struct {
		who     string
		c       *consoleSession
		see     []string
		notSeen []string
	}{
		{"king", kingS, []string{accA.ID, held.ID}, []string{accB.ID}},
		{"king's approver", approver, []string{accA.ID, held.ID}, []string{accB.ID}},
		{"pierce", pierce, []string{accB.ID}, []string{accA.ID, held.ID}},
	} {
		var l api.Alerts
		if code := tt.c.getJSON(t, "/v1/alerts", &l); code != http.StatusOK {
			t.Fatalf("%s list: %d", tt.who, code)
		}
		ids := listIDs(l)
		for _, id := range tt.see {
			if _, ok := ids[id]; !ok {
				t.Errorf("%s does not see %s", tt.who, id)
			}
		}
		for _, id := range tt.notSeen {
			if _, ok := ids[id]; ok {
				t.Errorf("%s sees %s of another agency", tt.who, id)
			}
			for _, path := range []string{"/deliveries", "/events", "/draft?type=Cancel"} {
				if code := tt.c.getJSON(t, "/v1/alerts/"+id+path, nil); code != http.StatusNotFound {
					t.Errorf("%s GET %s%s: %d, want 404", tt.who, id, path, code)
				}
			}
		}
	}
	var sum api.Deliveries
	if code := kingS.getJSON(t, "/v1/alerts/"+accA.ID+"/deliveries", &sum); code != http.StatusOK || !sum.Done {
		t.Errorf("king's own deliveries: %d %+v", code, sum)
	}

	// Events: progress until the alert is done, then end.
	events := readEvents(t, kingS, "/v1/alerts/"+accA.ID+"/events")
	if len(events) < 2 || events[len(events)-1].name != "end" {
		t.Fatalf("events = %+v, want progress then end", events)
	}
	var p api.Progress
	if err := json.Unmarshal([]byte(events[len(events)-2].data), &p); err != nil || p.Alert.State != "done" || p.Deliveries == nil || !p.Deliveries.Done {
		t.Fatalf("last progress = %s (%v)", events[len(events)-2].data, err)
	}

	// Reject: approvers of the agency only, with a reason; recorded.
	if _, _, err := f.Client.Reject(ctxT(t), f.King.Key, held.ID, "no"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("issuer rejecting: %v, want 403", err)
	}
	if _, _, err := f.Client.Reject(ctxT(t), f.Approver.Key, held.ID, "  "); err == nil || !strings.Contains(err.Error(), "Reason required") {
		t.Errorf("empty reason: %v, want 400 Reason required", err)
	}
	if _, _, err := f.Client.Reject(ctxT(t), f.Pierce.Key, held.ID, "not yours"); err == nil {
		t.Error("an issuer of another agency rejected the alert")
	}
	bin := heraldBinary(t)
	seedPath := filepath.Join(t.TempDir(), "approver.nk")
	seed, _ := f.Approver.Key.Seed()
	if err := os.WriteFile(seedPath, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "alert", "reject", held.ID, "--key", seedPath, "--reason", "Area too wide; resend for Beacon Hill only", "--server", base).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != held.ID+" rejected" {
		t.Fatalf("herald alert reject: %v\n%s", err, out)
	}
	a, _, err := f.Client.Alert(ctxT(t), held.ID)
	if err != nil || a.State != "rejected" || a.RejectedBy != f.Approver.ID || !strings.Contains(a.RejectReason, "Beacon Hill") {
		t.Fatalf("rejected alert = %+v, %v", a, err)
	}
	if _, _, err := f.Client.Approve(ctxT(t), f.Approver.Key, held.ID); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("approving a rejected alert: %v, want 409", err)
	}
	out, err = exec.Command(bin, "alert", "list", "--state", "rejected", "--server", base, "--token", adminToken).CombinedOutput()
	if err != nil || !strings.Contains(string(out), held.ID) || strings.Contains(string(out), accA.ID) {
		t.Fatalf("herald alert list --state rejected: %v\n%s", err, out)
	}
	raw, err := f.Client.Get(ctxT(t), "/v1/audit?since=1h")
	if err != nil || !strings.Contains(string(raw), `"outcome":"rejected"`) || !strings.Contains(string(raw), `"kind":"session"`) {
		t.Errorf("audit lacks the rejection or the sign-ins: %v\n%.2000s", err, raw)
	}
	time.Sleep(300 * time.Millisecond) // a planner acting on the rejection would send now
	if d := f.deliveries(t, held.ID); d.Planned {
		t.Errorf("the rejected alert was planned: %+v", d)
	}

	// Drafts: an Update or Cancel with references, for released alerts.
	resp, err = kingS.Get(base + "/v1/alerts/" + accA.ID + "/draft?type=Cancel")
	if err != nil {
		t.Fatal(err)
	}
	draft, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c, err := cap.Parse(draft)
	if err != nil || c.MsgType != cap.MsgCancel || !strings.Contains(c.References, kingSender) {
		t.Fatalf("cancel draft: %v\n%s", err, draft)
	}
	if code := kingS.getJSON(t, "/v1/alerts/"+accA.ID+"/draft?type=Delete", nil); code != http.StatusBadRequest {
		t.Errorf("draft type Delete: %d, want 400", code)
	}
	if code := kingS.getJSON(t, "/v1/alerts/"+held.ID+"/draft?type=Update", nil); code != http.StatusConflict {
		t.Errorf("update draft of a rejected alert: %d, want 409", code)
	}

	// Templates and outlines are public; outlines validate their box.
	var tl struct {
		Templates []struct{ ID, HANType string }
	}
	if code := probe.getJSON(t, "/v1/templates", &tl); code != http.StatusOK || len(tl.Templates) < 9 {
		t.Fatalf("templates: %d %+v", code, tl)
	}
	var fc struct {
		Features []struct {
			Properties map[string]any `json:"properties"`
			Geometry   struct {
				Coordinates [][][][2]float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	vertices := func(zoom int) int {
		if code := probe.getJSON(t, fmt.Sprintf("/v1/regions/outlines?bbox=-122.5,47.3,-121.9,47.7&zoom=%d", zoom), &fc); code != http.StatusOK {
			t.Fatalf("outlines: %d", code)
		}
		for _, ft := range fc.Features {
			if ft.Properties["id"] == king {
				if ft.Properties["geocode_name"] != "SAME" || ft.Properties["geocode_value"] != "053033" {
					t.Errorf("King's outline geocode: %v", ft.Properties)
				}
				n := 0
				for _, poly := range ft.Geometry.Coordinates {
					for _, ring := range poly {
						n += len(ring)
					}
				}
				return n
			}
		}
		t.Fatalf("King County not among the outlines at zoom %d", zoom)
		return 0
	}
	if lo, hi := vertices(6), vertices(13); lo >= hi || lo < 4 {
		t.Errorf("outline vertices: %d at zoom 6, %d at zoom 13; want fewer when zoomed out", lo, hi)
	}
	for _, q := range []string{"bbox=1,2,3", "bbox=-122,47,-123,48", "bbox=-130,20,-60,50", "bbox=-122.5,47.3,-121.9,47.7&zoom=99", "bbox=a,b,c,d"} {
		if code := probe.getJSON(t, "/v1/regions/outlines?"+q, nil); code != http.StatusBadRequest {
			t.Errorf("outlines?%s: %d, want 400", q, code)
		}
	}

	// Sign out clears the cookie.
	req, _ = http.NewRequest(http.MethodDelete, base+"/v1/session", nil)
	if resp, err := kingS.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out: %v", err)
	}
	if code := kingS.getJSON(t, "/v1/alerts", nil); code != http.StatusUnauthorized {
		t.Errorf("list after sign-out: %d, want 401", code)
	}
}

// signedCookie signs in and returns the session cookie as set.
func signedCookie(t *testing.T, base string, kp nkeys.KeyPair) *http.Cookie {
	t.Helper()
	resp, err := http.Get(base + "/v1/session/challenge")
	if err != nil {
		t.Fatal(err)
	}
	var ch api.Challenge
	_ = json.NewDecoder(resp.Body).Decode(&ch)
	resp.Body.Close()
	h, _ := signing.Sign(kp, signing.ActionSession, time.Now(), []byte(ch.Challenge))
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/session", strings.NewReader(ch.Challenge))
	h.Set(req.Header.Set)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "herald_session" {
			return c
		}
	}
	t.Fatalf("no session cookie (status %d)", resp.StatusCode)
	return nil
}

type sse struct{ name, data string }

// readEvents reads server-sent events until the stream ends.
func readEvents(t *testing.T, c *consoleSession, path string) []sse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events content type %q", ct)
	}
	var out []sse
	var cur sse
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		case line == "" && cur.name != "":
			out = append(out, cur)
			cur = sse{}
		}
	}
	return out
}
