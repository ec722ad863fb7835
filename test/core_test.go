package test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/app"
	"github.com/herald-alerts/herald/internal/natsapi"
	"github.com/herald-alerts/herald/test/natstest"
)

// hospital subscribes to every regional subject over TCP, as a hospital
// would, and collects what arrives.
type hospital struct {
	nc   *nats.Conn
	msgs chan *nats.Msg
}

func newHospital(t *testing.T, url string) *hospital {
	t.Helper()
	nc, err := nats.Connect(url, nats.Name("test-hospital"), nats.UserInfo(hospitalUser, hospitalPass))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	h := &hospital{nc: nc, msgs: make(chan *nats.Msg, 64)}
	if _, err := nc.ChanSubscribe(alertlog.SubjectRegion+">", h.msgs); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return h
}

// collect returns what arrived within d.
func (h *hospital) collect(d time.Duration) []*nats.Msg {
	var got []*nats.Msg
	timeout := time.After(d)
	for {
		select {
		case m := <-h.msgs:
			got = append(got, m)
		case <-timeout:
			return got
		}
	}
}

func TestSubmitOverHTTPReachesRegionalFeedOnce(t *testing.T) {
	h := startHerald(t, setup{})
	hosp := newHospital(t, h.NATSURL())

	acc, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if acc.ID == "" || acc.State != "accepted" {
		t.Fatalf("answer = %+v, want an id and state accepted", acc)
	}
	got := hosp.collect(1500 * time.Millisecond)
	if len(got) != 1 {
		t.Fatalf("hospital got %d messages, want exactly 1", len(got))
	}
	m := got[0]
	if m.Subject != alertlog.SubjectRegion+king {
		t.Errorf("subject = %s, want %s", m.Subject, alertlog.SubjectRegion+king)
	}
	for hdr, want := range map[string]string{
		"Herald-Alert-Id": acc.ID, "Cap-Msg-Type": "Alert", "Cap-Severity": "Severe", "Cap-Urgency": "Immediate", "Cap-Certainty": "Observed",
	} {
		if got := m.Header.Get(hdr); got != want {
			t.Errorf("header %s = %q, want %q", hdr, got, want)
		}
	}
	if !strings.Contains(string(m.Data), "<identifier>") {
		t.Errorf("payload is not the CAP XML: %.100s", m.Data)
	}

	within(t, 5*time.Second, "alert done", func() bool {
		a, _, err := h.Client.Alert(ctxT(t), acc.ID)
		return err == nil && a.State == "done"
	})
	a, _, _ := h.Client.Alert(ctxT(t), acc.ID)
	if len(a.Regions) != 1 || a.Regions[0] != king || a.Originator != h.King.ID || a.MsgType != "Alert" {
		t.Errorf("alert view = %+v", a)
	}
	capXML, err := h.Client.CAP(ctxT(t), acc.ID)
	if err != nil || !strings.Contains(string(capXML), "Boil water before drinking") {
		t.Errorf("GET .cap = %v, %.80s", err, capXML)
	}
}

func TestSubmitOverNATS(t *testing.T) {
	h := startHerald(t, setup{})
	nc, err := nats.Connect(h.NATSURL(), nats.UserInfo(originatorUser, originatorPass))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	body := newAlert(t, alertSpec{})
	sig, err := signing.Sign(h.King.Key, signing.ActionSubmit, time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg(natsapi.SubjectSubmit)
	msg.Data = body
	sig.Set(msg.Header.Set)
	resp, err := nc.RequestMsg(msg, 10*time.Second)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	var r natsapi.Reply
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		t.Fatalf("reply %s: %v", resp.Data, err)
	}
	if r.ID == "" || r.State != "accepted" || r.Error != "" {
		t.Fatalf("reply = %+v", r)
	}

	// The same request again is a replay; the same alert signed anew is a
	// duplicate: over NATS as over HTTP.
	resp, err = nc.RequestMsg(msg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r = natsapi.Reply{}
	_ = json.Unmarshal(resp.Data, &r)
	if r.Code != http.StatusUnauthorized {
		t.Fatalf("replayed request reply = %+v, want code 401", r)
	}
	sig, _ = signing.Sign(h.King.Key, signing.ActionSubmit, time.Now().Add(2*time.Second), body)
	sig.Set(msg.Header.Set)
	resp, err = nc.RequestMsg(msg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r = natsapi.Reply{}
	_ = json.Unmarshal(resp.Data, &r)
	if r.Code != http.StatusConflict || r.Error == "" {
		t.Fatalf("duplicate reply = %+v, want code 409", r)
	}
}

func TestRefusals(t *testing.T) {
	h := startHerald(t, setup{})
	stranger := newOfficer(t, "stranger")
	now := time.Now()

	post := func(body []byte, hdr signing.Headers) *client.Error {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, h.HTTPURL()+"/v1/alerts", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/cap+xml")
		hdr.Set(req.Header.Set)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		e := &client.Error{Status: resp.StatusCode}
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode >= 400 && ct != "application/problem+json" {
			t.Errorf("error content type = %q, want application/problem+json", ct)
		}
		_ = json.NewDecoder(resp.Body).Decode(e)
		e.Status = resp.StatusCode
		return e
	}
	sign := func(o officer, at time.Time, body []byte) signing.Headers {
		hdr, err := signing.Sign(o.Key, signing.ActionSubmit, at, body)
		if err != nil {
			t.Fatal(err)
		}
		return hdr
	}

	dup := newAlert(t, alertSpec{})
	if _, _, err := h.Client.Publish(ctxT(t), h.King.Key, dup); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		body       func() ([]byte, signing.Headers)
		wantStatus int
		wantPath   string // an error path that must be reported
		wantDetail string
	}{
		{"forged signature: right key, signed by someone else", func() ([]byte, signing.Headers) {
			b := newAlert(t, alertSpec{})
			hdr := sign(stranger, now, b)
			hdr.Key = h.King.Pub
			return b, hdr
		}, 401, "", "signature"},
		{"unknown key", func() ([]byte, signing.Headers) {
			b := newAlert(t, alertSpec{})
			return b, sign(stranger, now, b)
		}, 401, "", "not a registered originator"},
		{"stale timestamp", func() ([]byte, signing.Headers) {
			b := newAlert(t, alertSpec{})
			return b, sign(h.King, now.Add(-10*time.Minute), b)
		}, 401, "", "timestamp"},
		{"tampered body", func() ([]byte, signing.Headers) {
			b := newAlert(t, alertSpec{})
			hdr := sign(h.King, now, b)
			return []byte(strings.Replace(string(b), "Boil water", "Drink water", 1)), hdr
		}, 401, "", "signature"},
		{"missing signature", func() ([]byte, signing.Headers) {
			return newAlert(t, alertSpec{}), signing.Headers{}
		}, 401, "", "missing"},
		{"invalid CAP with element paths", func() ([]byte, signing.Headers) {
			b := []byte(strings.Replace(strings.Replace(string(newAlert(t, alertSpec{})),
				"<status>Actual</status>", "<status>Real</status>", 1),
				"-122.33</polygon>", "-122.34</polygon>", 1))
			return b, sign(h.King, now, b)
		}, 400, "alert/info[0]/area[0]/polygon[0]", ""},
		{"not XML", func() ([]byte, signing.Headers) {
			b := []byte("hello")
			return b, sign(h.King, now, b)
		}, 400, "alert", ""},
		{"duplicate identifier", func() ([]byte, signing.Headers) {
			// A fresh signature (another second), so this is not a replay.
			return dup, sign(h.King, now.Add(2*time.Second), dup)
		}, 409, "", "already issued"},
		{"area outside jurisdiction", func() ([]byte, signing.Headers) {
			b := newAlert(t, alertSpec{polygons: []string{tacomaPoly}})
			return b, sign(h.King, now, b)
		}, 403, "", pierce},
		{"area crossing into a neighbour", func() ([]byte, signing.Headers) {
			b := newAlert(t, alertSpec{polygons: []string{borderPoly}})
			return b, sign(h.King, now, b)
		}, 403, "", pierce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, hdr := tt.body()
			e := post(body, hdr)
			if e.Status != tt.wantStatus {
				t.Fatalf("status = %d (%s: %s), want %d", e.Status, e.Title, e.Detail, tt.wantStatus)
			}
			if tt.wantDetail != "" && !strings.Contains(strings.ToLower(e.Detail), strings.ToLower(tt.wantDetail)) {
				t.Errorf("detail %q does not mention %q", e.Detail, tt.wantDetail)
			}
			if tt.wantPath != "" {
				found := false
				for _, p := range e.Errors {
					found = found || p.Path == tt.wantPath
				}
				if !found {
					t.Errorf("errors %v lack path %s", e.Errors, tt.wantPath)
				}
			}
		})
	}
	t.Run("invalid CAP reports every problem", func(t *testing.T) {
		b := []byte(strings.Replace(strings.Replace(string(newAlert(t, alertSpec{})),
			"<status>Actual</status>", "<status>Real</status>", 1),
			"-122.33</polygon>", "-122.34</polygon>", 1))
		e := post(b, sign(h.King, now, b))
		if len(e.Errors) < 2 {
			t.Fatalf("errors = %v, want the status and the polygon problems", e.Errors)
		}
	})
}

func TestAlertSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	h := startHerald(t, setup{dataDir: dir})
	officers := h.officers
	body := newAlert(t, alertSpec{})
	acc, _, err := h.Client.Publish(ctxT(t), h.King.Key, body)
	if err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "alert done", func() bool {
		a, _, err := h.Client.Alert(ctxT(t), acc.ID)
		return err == nil && a.State == "done"
	})
	h.stop()

	h2 := startHerald(t, setup{dataDir: dir, officers: officers})
	a, _, err := h2.Client.Alert(ctxT(t), acc.ID)
	if err != nil || a.State != "done" {
		t.Fatalf("after restart: %+v, %v", a, err)
	}
	if x, err := h2.Client.CAP(ctxT(t), acc.ID); err != nil || string(x) != string(body) {
		t.Fatalf("CAP after restart differs or fails: %v", err)
	}
	// Uniqueness of sender+identifier survives the restart (signed anew, so
	// it is not refused as a replay).
	h2.Client.Now = func() time.Time { return time.Now().Add(2 * time.Second) }
	_, _, err = h2.Client.Publish(ctxT(t), h2.King.Key, body)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusConflict {
		t.Fatalf("republish after restart: %v, want 409", err)
	}
}

// TestHospitalReplaysMissedAlerts is the README's natscli replay example
// in Go: a durable pull consumer on HERALD_FEED filtered to the region,
// delivering all, acknowledged explicitly, then "next".
func TestHospitalReplaysMissedAlerts(t *testing.T) {
	h := startHerald(t, setup{})
	acc, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	// The hospital was offline; it connects later and replays with a
	// durable consumer of its own on its region's subject, in the feed
	// stream of its account.
	nc, err := nats.Connect(h.NATSURL(), nats.UserInfo(hospitalUser, hospitalPass))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	cons, err := js.CreateOrUpdateConsumer(ctxT(t), app.FeedStream, jetstream.ConsumerConfig{
		Durable: "harborview", FilterSubject: alertlog.SubjectRegion + king, AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got jetstream.Msg
	within(t, 5*time.Second, "replayed alert", func() bool {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			return false
		}
		for m := range batch.Messages() {
			got = m
			_ = m.Ack()
		}
		return got != nil
	})
	if id := got.Headers().Get("Herald-Alert-Id"); id != acc.ID {
		t.Fatalf("replayed alert id %s, want %s", id, acc.ID)
	}
}

func TestExternalNATS(t *testing.T) {
	ns := natstest.Start(t)
	h := startHerald(t, setup{natsURL: ns.ClientURL()})
	if h.NATSURL() != "" {
		t.Errorf("embedded server started despite nats.url")
	}
	hosp := newHospital(t, ns.ClientURL())
	if _, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{})); err != nil {
		t.Fatal(err)
	}
	if got := hosp.collect(time.Second); len(got) != 1 {
		t.Fatalf("hospital on the external NATS got %d messages, want 1", len(got))
	}
	// The streams live on the external server.
	js := natstest.Connect(t, ns)
	if _, err := js.Stream(ctxT(t), alertlog.StreamName); err != nil {
		t.Fatalf("stream on external server: %v", err)
	}
}

func TestHealthReadinessMetricsLocate(t *testing.T) {
	h := startHerald(t, setup{})
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(h.HTTPURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d", path, resp.StatusCode)
		}
	}
	raw, err := h.Client.Get(ctxT(t), "/v1/regions/locate?lat=47.6062&lon=-122.3321")
	if err != nil {
		t.Fatal(err)
	}
	var loc struct{ Regions []string }
	_ = json.Unmarshal(raw, &loc)
	if len(loc.Regions) != 1 || loc.Regions[0] != king {
		t.Errorf("locate Seattle = %s", raw)
	}
	if _, err := h.Client.Get(ctxT(t), "/v1/regions/locate?lat=999&lon=0"); err == nil {
		t.Errorf("locate with lat=999 accepted")
	}
	// The rejected counter moves with refusals.
	_, _, _ = h.Client.Publish(ctxT(t), newOfficer(t, "x").Key, newAlert(t, alertSpec{}))
	m, _ := h.Client.Get(ctxT(t), "/metrics")
	if !strings.Contains(string(m), `herald_alerts_rejected_total{reason="unauthorized"} 1`) {
		t.Errorf("metrics lack the rejection")
	}
}

func TestSwappedLatLonExplained(t *testing.T) {
	h := startHerald(t, setup{})
	// The Seattle polygon with each pair written lon,lat.
	swapped := "-122.33,47.58 -122.29,47.58 -122.29,47.53 -122.33,47.53 -122.33,47.58"
	_, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{polygons: []string{swapped}}))
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Error(), "swapped") {
		t.Fatalf("swapped polygon: %v, want 400 saying latitude and longitude look swapped", err)
	}
}

// TestRegionalFeedCarriesHANType: a hospital following its region's NATS
// subject sees the alert's CDC HAN type in a header, and none when the
// alert has none.
func TestRegionalFeedCarriesHANType(t *testing.T) {
	h := startHerald(t, setup{})
	hosp := newHospital(t, h.NATSURL())
	a, err := cap.Parse(newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	a.Info[0].Parameter = []cap.NamedValue{{ValueName: cap.HANParameter, Value: "Health Update"}}
	withHAN, err := cap.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range [][]byte{withHAN, newAlert(t, alertSpec{})} {
		if _, _, err := h.Client.Publish(ctxT(t), h.King.Key, body); err != nil {
			t.Fatal(err)
		}
	}
	got := hosp.collect(1500 * time.Millisecond)
	if len(got) != 2 {
		t.Fatalf("hospital got %d messages, want 2", len(got))
	}
	if v := got[0].Header.Get(alertlog.HeaderHANType); v != "Health Update" {
		t.Errorf("%s = %q on the HAN alert, want Health Update", alertlog.HeaderHANType, v)
	}
	if v, ok := got[1].Header[alertlog.HeaderHANType]; ok {
		t.Errorf("%s = %q on an alert without a HAN type", alertlog.HeaderHANType, v)
	}
}
