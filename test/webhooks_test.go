package test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/broadcaster/client"
)

// TestWebhookManagement: an operator lists, shows, pauses, resumes,
// rotates and deletes hospital subscriptions; secrets are never listed; a
// rotation keeps the old secret verifying during its grace period; all of
// it needs the admin token.
func TestWebhookManagement(t *testing.T) {
	f := startDelivering(t, nil)
	f.importResidents(t, []resident{{"+12065550101", "en", 47.55, -122.31}}, "")
	rx := newReceiver(t)
	var oldSecret string
	idA, oldSecret := f.addWebhook(t, rx.URL, king)
	rx.secret = oldSecret
	idB, _ := f.addWebhook(t, "https://hospital-b.example/herald", king)

	raw, err := f.Client.Get(ctxT(t), "/v1/webhooks")
	if err != nil {
		t.Fatal(err)
	}
	var subs []api.WebhookInfo
	if err := json.Unmarshal(raw, &subs); err != nil || len(subs) != 2 || subs[0].ID != idA || subs[1].ID != idB {
		t.Fatalf("list: %s (%v)", raw, err)
	}
	if strings.Contains(string(raw), "whsec_") {
		t.Errorf("the list shows a secret: %s", raw)
	}
	anon := *f.Client
	anon.Token = ""
	for _, call := range []struct{ method, path string }{
		{http.MethodGet, "/v1/webhooks"}, {http.MethodGet, "/v1/webhooks/" + idA}, {http.MethodDelete, "/v1/webhooks/" + idA},
		{http.MethodPost, "/v1/webhooks/" + idA + "/pause"}, {http.MethodPost, "/v1/webhooks/" + idA + "/rotate"},
	} {
		_, err := anon.Send(ctxT(t), call.method, call.path, nil)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusUnauthorized {
			t.Errorf("%s %s without the token: %v, want 401", call.method, call.path, err)
		}
	}

	// Hospital B does not exist and keeps retrying: wait for the alert to
	// be done for the public, not for every delivery.
	waitPublic := func(id string) {
		t.Helper()
		within(t, 15*time.Second, "alert done", func() bool {
			a, _, err := f.Client.Alert(ctxT(t), id)
			return err == nil && a.State == "done"
		})
	}

	// Paused: the hospital is left out of the alerts published meanwhile.
	webhookState := func(path string) api.WebhookInfo {
		t.Helper()
		raw, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/webhooks/"+idA+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		var info api.WebhookInfo
		_ = json.Unmarshal(raw, &info)
		return info
	}
	if info := webhookState("/pause"); !info.Disabled || !strings.Contains(info.DisabledReason, "paused") {
		t.Errorf("after pause: %+v", info)
	}
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	waitPublic(acc.ID)
	if c := f.deliveries(t, acc.ID).Channels["webhook"]; c.Queued+c.Sent+c.Delivered+c.Failed+c.Skipped != 1 {
		t.Errorf("webhook deliveries %+v, want only hospital B's", c)
	}
	if delivered, _, _ := rx.got(); len(delivered) != 0 {
		t.Errorf("a paused subscription got %d deliveries", len(delivered))
	}
	if info := webhookState("/resume"); info.Disabled {
		t.Errorf("after resume: %+v", info)
	}

	// Rotated: the receiver still verifying with the old secret accepts
	// the next alert, and so does one that moved to the new secret.
	raw, err = f.Client.Send(ctxT(t), http.MethodPost, "/v1/webhooks/"+idA+"/rotate", nil)
	if err != nil {
		t.Fatal(err)
	}
	var rot api.WebhookRotated
	if err := json.Unmarshal(raw, &rot); err != nil || !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == oldSecret || rot.PreviousSecretUntil.IsZero() {
		t.Fatalf("rotate: %s (%v)", raw, err)
	}
	for i, secret := range []string{oldSecret, rot.Secret} {
		rx.mu.Lock()
		rx.secret = secret
		rx.mu.Unlock()
		acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
		if err != nil {
			t.Fatal(err)
		}
		waitPublic(acc.ID)
		within(t, 10*time.Second, "webhook delivered", func() bool { d, _, _ := rx.got(); return len(d) == i+1 })
		if _, _, bad := rx.got(); bad != 0 {
			t.Errorf("receiver with the %s secret refused %d deliveries", []string{"old", "new"}[i], bad)
		}
	}

	if _, err := f.Client.Send(ctxT(t), http.MethodDelete, "/v1/webhooks/"+idB, nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/webhooks/" + idB, "/v1/webhooks/wh_nosuchsubscription00000000"} {
		_, err := f.Client.Get(ctxT(t), path)
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
			t.Errorf("GET %s: %v, want 404", path, err)
		}
	}
}

// TestHANTypes: an alert carrying a CDC HAN type (CAP parameter HANType)
// reaches the hospitals that subscribed to that type or to all, with
// han_type in the webhook payload, a category in the Atom feed and a line
// on the alert's page; an unknown type is refused with its path.
func TestHANTypes(t *testing.T) {
	f := startDelivering(t, nil)
	all, alertsOnly := newReceiver(t), newReceiver(t)
	_, all.secret = f.addWebhook(t, all.URL, king)
	raw, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/webhooks", map[string]any{"url": alertsOnly.URL, "regions": []string{king}, "han_types": []string{"health alert"}})
	if err != nil {
		t.Fatal(err)
	}
	var created api.WebhookCreated
	_ = json.Unmarshal(raw, &created)
	alertsOnly.secret = created.Secret
	if info, err := f.Client.Get(ctxT(t), "/v1/webhooks/"+created.ID); err != nil || !strings.Contains(string(info), `"han_types":["Health Alert"]`) {
		t.Errorf("subscription with a HAN filter: %s %v", info, err)
	}
	if _, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/webhooks", map[string]any{"url": all.URL, "regions": []string{king}, "han_types": []string{"Health Rumour"}}); err == nil || !strings.Contains(err.Error(), "not a HAN type") {
		t.Errorf("unknown HAN type in a subscription: %v", err)
	}

	a := baseAlert(t)
	a.Info[0].Parameter = append(a.Info[0].Parameter, cap.NamedValue{ValueName: cap.HANParameter, Value: "Health Advisory"})
	acc := publishCAP(t, f, a)
	within(t, 10*time.Second, "webhook", func() bool { d, _, _ := all.got(); return len(d) == 1 })
	delivered, _, _ := all.got()
	if got := delivered[0].Payload["han_type"]; got != "Health Advisory" {
		t.Errorf("payload han_type = %v", got)
	}
	f.waitDone(t, acc.ID)
	if d, _, _ := alertsOnly.got(); len(d) != 0 {
		t.Errorf("a Health Alert-only subscription got a Health Advisory")
	}
	feed, err := f.Client.Get(ctxT(t), "/v1/feeds/"+king+".atom")
	if err != nil || !strings.Contains(string(feed), `<category scheme="https://emergency.cdc.gov/han/" term="Health Advisory"></category>`) {
		t.Errorf("Atom feed lacks the HAN category: %v\n%s", err, feed)
	}
	page, err := f.Client.Get(ctxT(t), "/a/"+acc.ID)
	if err != nil || !strings.Contains(string(page), "CDC Health Alert Network: Health Advisory") {
		t.Errorf("page lacks the HAN type: %v", err)
	}

	bad := baseAlert(t)
	bad.Info[0].Parameter = []cap.NamedValue{{ValueName: cap.HANParameter, Value: "Health Warning"}}
	b, _ := cap.Marshal(bad)
	if code, _, err := publishStatus(t, f, b); code != http.StatusBadRequest || !strings.Contains(err.Error(), "parameter[0]/value") {
		t.Errorf("unknown HAN type: %d %v", code, err)
	}
}
