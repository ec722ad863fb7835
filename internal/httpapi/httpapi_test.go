package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/test/natstest"
)

const token = "test-admin-token"

func storeAlert(t *testing.T, log *alertlog.Log, identifier string, scope cap.Scope, expires time.Time) *alertlog.Record {
	t.Helper()
	a := &cap.Alert{
		Identifier: identifier, Sender: "alerts@health.example", Sent: time.Now().Format("2006-01-02T15:04:05-07:00"),
		Status: cap.StatusActual, MsgType: cap.MsgAlert, Scope: scope,
		Info: []cap.Info{{Language: "en-US", Category: []string{"Health"}, Event: "Boil Water Advisory", Urgency: cap.UrgencyImmediate,
			Severity: cap.SeveritySevere, Certainty: cap.CertaintyObserved, Headline: "Boil water", Expires: expires.Format("2006-01-02T15:04:05-07:00")}},
	}
	raw, err := cap.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	rec := log.NewRecord(a, "wa", []string{"us-county-53033"}, time.Now())
	if err := log.Append(context.Background(), rec, raw, nil); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestGetAlert(t *testing.T) {
	ctx := context.Background()
	log, err := alertlog.Open(ctx, alertlog.Config{JS: natstest.JetStream(t), Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Hour)
	public := storeAlert(t, log, "PUB", cap.ScopePublic, soon)
	private := storeAlert(t, log, "PRIV", cap.ScopePrivate, soon)
	past := storeAlert(t, log, "PAST", cap.ScopePublic, time.Now().Add(-time.Minute))
	if _, _, err := log.Apply(ctx, public.ID, lifecycle.StartDispatch); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Log: log, AdminToken: token}).Handler())
	defer srv.Close()

	get := func(path string, admin bool) (int, string, []byte) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if admin {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), body
	}
	tests := []struct {
		name   string
		path   string
		admin  bool
		status int
		state  string // for JSON views
		ctype  string // prefix
	}{
		{"public alert", "/v1/alerts/" + public.ID, false, 200, "dispatching", "application/json"},
		{"public alert as CAP", "/v1/alerts/" + public.ID + ".cap", false, 200, "", "application/cap+xml"},
		{"private alert without token", "/v1/alerts/" + private.ID, false, 404, "", "application/problem+json"},
		{"private alert with token", "/v1/alerts/" + private.ID, true, 200, "accepted", "application/json"},
		{"past its expiry shows expired", "/v1/alerts/" + past.ID, false, 200, "expired", "application/json"},
		{"unknown", "/v1/alerts/anothing", false, 404, "", "application/problem+json"},
		{"not an id", "/v1/alerts/a.b*c", false, 404, "", "application/problem+json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ctype, body := get(tt.path, tt.admin)
			if status != tt.status || !strings.HasPrefix(ctype, tt.ctype) {
				t.Fatalf("%s: %d %s, want %d %s\n%s", tt.path, status, ctype, tt.status, tt.ctype, body)
			}
			if tt.state != "" {
				var v api.Alert
				if err := json.Unmarshal(body, &v); err != nil || v.State != tt.state {
					t.Fatalf("view %s (%v), want state %s", body, err, tt.state)
				}
			}
		})
	}
	// Reading shows "expired" but writes nothing: the record keeps its state.
	if rec, _ := log.Get(ctx, past.ID); rec.State != lifecycle.Accepted {
		t.Errorf("a GET changed the stored state to %s", rec.State)
	}
}

func TestReadyAndProblems(t *testing.T) {
	down := errors.New("nats: not connected")
	srv := httptest.NewServer(New(Config{Ready: func(context.Context) error { return down }}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p api.ProblemDetails
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(p.Detail, "not connected") {
		t.Errorf("/readyz = %d %+v, want 503 naming the cause", resp.StatusCode, p)
	}
	resp, err = http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}
}
