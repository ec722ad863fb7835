package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/herald-alerts/herald/internal/audit"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/broadcaster/signing"
)

func postSigned(t *testing.T, h *herald, body []byte, hdr signing.Headers) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.HTTPURL()+"/v1/alerts", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cap+xml")
	hdr.Set(req.Header.Set)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestReplayedSignatureRefused(t *testing.T) {
	h := startHerald(t, setup{})
	body := newAlert(t, alertSpec{})
	hdr, err := signing.Sign(h.King.Key, signing.ActionSubmit, time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	if code := postSigned(t, h, body, hdr); code != http.StatusAccepted {
		t.Fatalf("first submission: %d", code)
	}
	if code := postSigned(t, h, body, hdr); code != http.StatusUnauthorized {
		t.Fatalf("replay within the window: %d, want 401", code)
	}
}

// cancelOf builds a Cancel referencing the alert body.
func cancelFor(t *testing.T, body []byte) []byte {
	t.Helper()
	a, err := cap.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	c := *a
	c.MsgType = "Cancel"
	c.References = a.Sender + "," + a.Identifier + "," + a.Sent
	c.Identifier = a.Identifier + "-cancel"
	c.Sent = time.Now().Format("2006-01-02T15:04:05-07:00")
	b, err := cap.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCancelRules(t *testing.T) {
	h := startHerald(t, setup{})
	orig := newAlert(t, alertSpec{})
	acc, _, err := h.Client.Publish(ctxT(t), h.King.Key, orig)
	if err != nil {
		t.Fatal(err)
	}
	status := func(err error) int {
		var ce *client.Error
		if errors.As(err, &ce) {
			return ce.Status
		}
		if err != nil {
			t.Fatal(err)
		}
		return http.StatusAccepted
	}

	// A Cancel of an alert Herald never accepted.
	unknown := cancelFor(t, newAlert(t, alertSpec{}))
	if _, _, err := h.Client.Publish(ctxT(t), h.King.Key, unknown); status(err) != http.StatusNotFound {
		t.Errorf("cancel of an unknown alert: %v, want 404", err)
	}
	// Another agency's officer may not cancel it.
	if _, _, err := h.Client.Publish(ctxT(t), h.Pierce.Key, cancelFor(t, orig)); status(err) != http.StatusForbidden {
		t.Errorf("cancel by another originator: %v, want 403", err)
	}
	// Its originator may, and the alert is then cancelled.
	if _, _, err := h.Client.Publish(ctxT(t), h.King.Key, cancelFor(t, orig)); err != nil {
		t.Fatalf("cancel by the originator: %v", err)
	}
	within(t, 5*time.Second, "original cancelled", func() bool {
		a, _, err := h.Client.Alert(ctxT(t), acc.ID)
		return err == nil && a.State == "cancelled"
	})
}

func TestAuditTrail(t *testing.T) {
	f := startDelivering(t, nil)
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	_, _, _ = f.Client.Publish(ctxT(t), f.Pierce.Key, newAlert(t, alertSpec{})) // outside Pierce's jurisdiction
	held, _, err := f.Client.Publish(ctxT(t), f.King.Key, extremeAlert(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Client.Approve(ctxT(t), f.Approver.Key, held.ID); err != nil {
		t.Fatal(err)
	}
	raw, err := f.Client.Get(ctxT(t), "/v1/audit?since=1h")
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Records []audit.Record }
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"submission/accepted/" + acc.ID: false, "submission/refused/": false, "approval/approved/" + held.ID: false}
	for _, r := range res.Records {
		k := r.Kind + "/" + r.Outcome + "/" + r.AlertID
		if _, ok := want[k]; ok {
			want[k] = true
		}
		if r.Outcome == "refused" && (r.Actor != f.Pierce.ID || !strings.Contains(r.Reason, "forbidden")) {
			t.Errorf("refusal record = %+v", r)
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("audit lacks %s in %s", k, raw)
		}
	}
	if regexp.MustCompile(`\+1\d{10}`).Match(raw) {
		t.Error("audit trail contains a phone number")
	}
	raw, err = f.Client.Get(ctxT(t), "/v1/audit/verify")
	if err != nil || !strings.Contains(string(raw), `"ok":true`) {
		t.Fatalf("verify: %s %v", raw, err)
	}
}

func TestRemovedKeyStopsWorkingAtOnce(t *testing.T) {
	h := startHerald(t, setup{})
	if _, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{})); err != nil {
		t.Fatal(err)
	}
	// Rotate King's key: the file now lists a new key for the same officer.
	rotated := newOfficer(t, h.King.ID)
	doc, err := os.ReadFile(h.Cfg.OriginatorsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.Cfg.OriginatorsFile, []byte(strings.Replace(string(doc), h.King.Pub, rotated.Pub, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "old key refused", func() bool {
		_, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{}))
		return statusOf(t, err) == http.StatusUnauthorized
	})
	if _, _, err := h.Client.Publish(ctxT(t), rotated.Key, newAlert(t, alertSpec{})); err != nil {
		t.Fatalf("new key: %v", err)
	}
}

// An originator whose jurisdiction is a GeoJSON district inside King
// County: areas may reach 100 m (jurisdiction.tolerance_m) past its edge,
// not 500 m.
func TestGeoJSONJurisdictionWithTolerance(t *testing.T) {
	// The district lists no senders: its first one is bound to it.
	const districtSender = "district@seattle.example.gov"
	h := startHerald(t, setup{})
	district := newOfficer(t, "seattle-district")
	geo := `{"type":"Polygon","coordinates":[[[-122.40,47.50],[-122.20,47.50],[-122.20,47.65],[-122.40,47.65],[-122.40,47.50]]]}`
	if err := os.WriteFile(filepath.Join(h.Cfg.DataDir, "district.geojson"), []byte(geo), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, _ := os.ReadFile(h.Cfg.OriginatorsFile)
	doc = append(doc, []byte(fmt.Sprintf("  - id: %s\n    name: Seattle district\n    public_key: %s\n    roles: [issuer]\n    jurisdiction: {geojson: district.geojson}\n", district.ID, district.Pub))...)
	if err := os.WriteFile(h.Cfg.OriginatorsFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	// 1e-5° of longitude is about 0.75 m here.
	east := func(beyondM float64) string {
		lon := -122.20 + beyondM/75150
		return fmt.Sprintf("47.60,-122.25 47.60,%.6f 47.55,%.6f 47.55,-122.25 47.60,-122.25", lon, lon)
	}
	var last error
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, last = h.Client.Publish(ctxT(t), district.Key, newAlert(t, alertSpec{sender: districtSender, polygons: []string{east(-1000)}}))
		if last == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("district officer not loaded after 20 s: %v", last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tests := []struct {
		name    string
		beyondM float64
		want    int
	}{
		{"along the edge from inside", 0, http.StatusAccepted},
		{"50 m across the edge", 50, http.StatusAccepted},
		{"500 m across the edge", 500, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := h.Client.Publish(ctxT(t), district.Key, newAlert(t, alertSpec{sender: districtSender, polygons: []string{east(tt.beyondM)}}))
			if got := statusOf(t, err); got != tt.want {
				t.Fatalf("status %d (%v), want %d", got, err, tt.want)
			}
			if tt.want == http.StatusForbidden && !strings.Contains(err.Error(), "alert/info[0]/area[0]") {
				t.Errorf("refusal does not name the <area>: %v", err)
			}
		})
	}
}
