package render

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// Webhook event types (CONTRACT.md, Webhooks).
const (
	EventPublished = "alert.published"
	EventUpdated   = "alert.updated"
	EventCancelled = "alert.cancelled"
)

// WebhookEvent is the JSON body POSTed to a hospital's webhook. Every
// documented field is always present; the ones an alert may lack
// (headline, severity and urgency of a Cancel without <info>, expires) are
// null then, so receivers can tell "absent" from "empty".
type WebhookEvent struct {
	Type     string        `json:"type"`
	AlertID  string        `json:"alert_id"`
	Regions  []string      `json:"regions"`
	CapXML   string        `json:"cap_xml"`
	Headline *string       `json:"headline"`
	Severity *cap.Severity `json:"severity"`
	Urgency  *cap.Urgency  `json:"urgency"`
	Sent     string        `json:"sent"`
	Expires  *string       `json:"expires"`
	// HANType is the CDC HAN message type (null when the alert has none).
	HANType *cap.HANType `json:"han_type"`
	// AckRequired says the alert asks this hospital to confirm receipt, by
	// POSTing to AckURL (null when no confirmation is asked).
	AckRequired bool    `json:"ack_required"`
	AckURL      *string `json:"ack_url"`
}

// EventType is the webhook event type for a's msgType: Alert is published,
// Update updated, Cancel cancelled. Ack and Error have none and return "".
func EventType(a *cap.Alert) string {
	switch a.MsgType {
	case cap.MsgAlert:
		return EventPublished
	case cap.MsgUpdate:
		return EventUpdated
	case cap.MsgCancel:
		return EventCancelled
	}
	return ""
}

// Webhook returns the JSON webhook body announcing a, stored as alertID and
// sent as capXML to the given regions. Headline (else event), severity and
// urgency come from the first info, expires from the first info that has
// one. ackURL, when set, asks the hospital to confirm receipt there. It
// fails for a msgType that has no event type.
func Webhook(alertID string, a *cap.Alert, capXML []byte, regions []string, ackURL string) ([]byte, error) {
	ev := WebhookEvent{
		Type:    EventType(a),
		AlertID: alertID,
		Regions: regions,
		CapXML:  string(capXML),
		Sent:    a.Sent,
	}
	if ackURL != "" {
		ev.AckRequired, ev.AckURL = true, &ackURL
	}
	if ev.Type == "" {
		return nil, fmt.Errorf("render: no webhook event for CAP msgType %q", a.MsgType)
	}
	if ev.Regions == nil {
		ev.Regions = []string{} // the contract promises a list, never null
	}
	if len(a.Info) > 0 {
		in := a.Info[0]
		// Severity and urgency are the most serious of every <info>, as
		// hospitals filter by them.
		headline, severity, urgency := cmp.Or(in.Headline, in.Event), a.MostSevere(), a.MostUrgent()
		ev.Headline, ev.Severity, ev.Urgency = &headline, &severity, &urgency
	}
	if t, err := a.HANType(); err == nil && t != "" {
		ev.HANType = &t
	}
	for _, in := range a.Info {
		if in.Expires != "" {
			expires := in.Expires
			ev.Expires = &expires
			break
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// HTML escaping would turn every < and > of cap_xml into \u003c and
	// \u003e: valid, but larger and unreadable in a receiver's logs.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
