package test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/config"
)

func extremeAlert(t *testing.T) []byte {
	a := baseAlert(t)
	a.Info[0].Severity = "Extreme"
	b, err := cap.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func statusOf(t *testing.T, err error) int {
	t.Helper()
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	if err != nil {
		t.Fatal(err)
	}
	return http.StatusAccepted
}

func TestApprovalHoldsExtremeAlerts(t *testing.T) {
	f := startDelivering(t, nil)
	f.importResidents(t, []resident{{"+12065550101", "en", 47.55, -122.31}}, "")
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, extremeAlert(t))
	if err != nil {
		t.Fatal(err)
	}
	if acc.State != "pending_approval" {
		t.Fatalf("state = %s, want pending_approval", acc.State)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(f.twilio.messages()); n != 0 {
		t.Fatalf("%d SMS sent before approval", n)
	}

	if _, _, err := f.Client.Approve(ctxT(t), f.King.Key, acc.ID); statusOf(t, err) != http.StatusForbidden {
		t.Errorf("issuer approving own alert: %v, want 403", err)
	}
	if _, _, err := f.Client.Approve(ctxT(t), f.Pierce.Key, acc.ID); statusOf(t, err) != http.StatusForbidden {
		t.Errorf("an issuer without the approver role: %v, want 403", err)
	}
	got, _, err := f.Client.Approve(ctxT(t), f.Approver.Key, acc.ID)
	// The planner may already have moved it on by the time we hear back.
	if err != nil || (got.State != "accepted" && got.State != "dispatching" && got.State != "done") {
		t.Fatalf("approval: %+v %v", got, err)
	}
	f.waitDone(t, acc.ID)
	if n := countTo(f.twilio.messages(), acc.ID, "+12065550101"); n != 1 {
		t.Fatalf("after approval the resident got %d SMS", n)
	}
	if _, _, err := f.Client.Approve(ctxT(t), f.Approver.Key, acc.ID); statusOf(t, err) != http.StatusConflict {
		t.Errorf("second approval: %v, want 409", err)
	}
	// A Severe alert needs no approval.
	if acc2, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{})); err != nil || acc2.State != "accepted" {
		t.Errorf("severe alert: %+v %v", acc2, err)
	}
}

func TestUnapprovedAlertExpiresUnsent(t *testing.T) {
	f := startDelivering(t, func(c *config.Config) { c.Approval.Timeout = 500 * time.Millisecond })
	f.importResidents(t, []resident{{"+12065550101", "en", 47.55, -122.31}}, "")
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, extremeAlert(t))
	if err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "alert expired", func() bool {
		a, _, err := f.Client.Alert(ctxT(t), acc.ID)
		return err == nil && a.State == "expired"
	})
	if _, _, err := f.Client.Approve(ctxT(t), f.Approver.Key, acc.ID); statusOf(t, err) != http.StatusConflict {
		t.Errorf("late approval: %v, want 409", err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(f.twilio.messages()); n != 0 {
		t.Fatalf("an expired alert sent %d SMS", n)
	}
}

func TestExerciseReachesOnlyParticipants(t *testing.T) {
	f := startDelivering(t, nil)
	f.importResidents(t, []resident{{"+12065550101", "en", 47.55, -122.31}}, "")
	raw, err := f.Client.Upload(ctxT(t), "/v1/subscribers/import", "text/csv", []byte("phone,lat,lon,language,exercise\n+12065550109,47.56,-122.30,en,true\n"))
	if err != nil {
		t.Fatalf("%v %s", err, raw)
	}
	rx, public := newReceiver(t), newReceiver(t)
	_, rx.secret = f.addWebhookExercise(t, rx.URL, true)
	_, public.secret = f.addWebhookExercise(t, public.URL, false)

	// exercise_only may not send Actual alerts.
	if _, _, err := f.Client.Publish(ctxT(t), f.Drill.Key, newAlert(t, alertSpec{})); statusOf(t, err) != http.StatusForbidden {
		t.Errorf("exercise_only sending Actual: %v, want 403", err)
	}
	acc, _, err := f.Client.Publish(ctxT(t), f.Drill.Key, newAlert(t, alertSpec{status: "Exercise"}))
	if err != nil {
		t.Fatal(err)
	}
	f.waitDone(t, acc.ID)
	got := sentTo(f.twilio.messages(), acc.ID)
	if len(got) != 1 || got["+12065550109"] == "" {
		t.Fatalf("exercise SMS went to %v, want only the participant", keys(got))
	}
	if !containsFold(got["+12065550109"], "EXERCISE") {
		t.Errorf("exercise SMS does not say so: %q", got["+12065550109"])
	}
	if d, _, _ := rx.got(); len(d) != 1 {
		t.Errorf("exercise hospital got %d webhooks", len(d))
	}
	if d, _, _ := public.got(); len(d) != 0 {
		t.Errorf("non-exercise hospital got the exercise")
	}
	if len(f.mastodon.posts()) != 0 {
		t.Errorf("an exercise was posted publicly")
	}

	// Draft is stored and never sent.
	draft, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{status: "Draft"}))
	if err != nil {
		t.Fatal(err)
	}
	f.waitDone(t, draft.ID)
	if len(sentTo(f.twilio.messages(), draft.ID)) != 0 {
		t.Error("a Draft was sent")
	}
}

func (f *fakes) addWebhookExercise(t *testing.T, url string, exercise bool) (string, string) {
	t.Helper()
	raw, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/webhooks", map[string]any{"url": url, "regions": []string{king}, "exercise": exercise})
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ ID, Secret string }
	if err := jsonUnmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	return res.ID, res.Secret
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToUpper(s), strings.ToUpper(sub))
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
