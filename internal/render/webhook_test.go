package render

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

func ptr[T any](v T) *T { return &v }

func TestEventType(t *testing.T) {
	tests := []struct{ msgType, want string }{
		{"Alert", EventPublished},
		{"Update", EventUpdated},
		{"Cancel", EventCancelled},
		{"Ack", ""},
		{"Error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.msgType, func(t *testing.T) {
			if got := EventType(&cap.Alert{MsgType: cap.MsgType(tt.msgType)}); got != tt.want {
				t.Errorf("EventType = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWebhookKeysMatchContract(t *testing.T) {
	a := alert("Actual", "Alert", boilWater())
	a.Sent = "2025-03-01T10:00:00-08:00"
	a.Info[0].Expires = "2025-03-02T10:00:00-08:00"
	body, err := Webhook("01J9ZK", a, []byte("<alert/>"), []string{"us-county-53033"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// CONTRACT.md, Webhooks, han_type (issue 15; null without one) and
	// ack_required / ack_url (issue 15; false and null unless asked).
	want := []string{"ack_required", "ack_url", "alert_id", "cap_xml", "expires", "han_type", "headline", "regions", "sent", "severity", "type", "urgency"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	if m["ack_required"] != false || m["ack_url"] != nil {
		t.Errorf("no acknowledgement asked, but ack_required %v, ack_url %v", m["ack_required"], m["ack_url"])
	}
	asked, err := Webhook("01J9ZK", a, []byte("<alert/>"), []string{"us-county-53033"}, "https://herald.example/v1/acks/x.y.z")
	if err != nil || !strings.Contains(string(asked), `"ack_required":true,"ack_url":"https://herald.example/v1/acks/x.y.z"`) {
		t.Errorf("acknowledgement asked: %s, %v", asked, err)
	}
	if strings.Contains(string(body), `\u003c`) {
		t.Errorf("cap_xml is HTML-escaped: %s", body)
	}
}

func TestWebhook(t *testing.T) {
	noHeadline := boilWater()
	noHeadline.Headline = ""
	noHeadline.Severity, noHeadline.Urgency = "Severe", "Immediate"
	later := hervirAgua()
	later.Expires = "2025-03-02T10:00:00-08:00"
	tests := []struct {
		name    string
		alert   *cap.Alert
		regions []string
		want    WebhookEvent
	}{
		{"headline falls back to event, expires from a later info",
			alert("Actual", "Update", noHeadline, later), []string{"us-county-53033"},
			WebhookEvent{Type: EventUpdated, AlertID: "id1", Regions: []string{"us-county-53033"}, CapXML: "<alert/>",
				Headline: ptr("Water contamination"), Severity: ptr(cap.SeveritySevere), Urgency: ptr(cap.UrgencyImmediate), Expires: ptr("2025-03-02T10:00:00-08:00")}},
		{"cancel without info or regions",
			alert("Actual", "Cancel"), nil,
			WebhookEvent{Type: EventCancelled, AlertID: "id1", Regions: []string{}, CapXML: "<alert/>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := Webhook("id1", tt.alert, []byte("<alert/>"), tt.regions, "")
			if err != nil {
				t.Fatal(err)
			}
			var got WebhookEvent
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			// Every documented field is present, null when absent.
			var fields map[string]any
			if err := json.Unmarshal(body, &fields); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"type", "alert_id", "regions", "cap_xml", "headline", "severity", "urgency", "sent", "expires"} {
				if _, ok := fields[k]; !ok {
					t.Errorf("field %q missing from %s", k, body)
				}
			}
			if fields["regions"] == nil {
				t.Errorf("regions is null in %s; the contract promises a list", body)
			}
		})
	}
	if _, err := Webhook("id1", alert("Actual", "Ack"), nil, nil, ""); err == nil {
		t.Error("Webhook(Ack) succeeded, want an error")
	}
}
