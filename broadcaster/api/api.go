// Package api holds the JSON shapes of Herald's HTTP contract
// (../shared/CONTRACT.md): what the server writes and what a client reads.
//
// It imports only the standard library and the CAP model, so a program that talks to Herald
// (package client, a hospital's tooling) links none of the server: no NATS,
// no Prometheus, no region data. It does not say how the server computes
// any of these values, nor how requests are signed (package signing).
package api

import (
	"encoding/json"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// Accepted is the answer to a submission or an approval (202).
type Accepted struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// RegionRef names a region.
type RegionRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Preview is the answer of POST /v1/alerts/preview: the regions an alert
// reaches, how many recipients each channel would have, and the words each
// would read.
type Preview struct {
	Regions    []RegionRef    `json:"regions"`
	Recipients map[string]int `json:"recipients"`
	AreaKm2    float64        `json:"area_km2"`
	Texts      []PreviewText  `json:"texts"`
	// SMSSeconds estimates how long the SMS fan-out takes at the
	// configured carrier rate (segments per second), counting every
	// resident at the longest language's segments.
	SMSSeconds float64 `json:"sms_seconds"`
}

// PreviewText is the exact text one channel sends readers of one
// language, and what it costs there.
type PreviewText struct {
	Channel string `json:"channel"`
	// Account names the social account (mastodon, bluesky): each network
	// has its own limit and way of counting.
	Account  string `json:"account,omitempty"`
	Language string `json:"language"`
	Text     string `json:"text"`
	// Encoding and Segments for SMS (GSM-7 or UCS-2).
	Encoding string `json:"encoding,omitempty"`
	Segments int    `json:"segments,omitempty"`
	// Characters and Limit as the platform counts them, for posts.
	Characters int `json:"characters,omitempty"`
	Limit      int `json:"limit,omitempty"`
	// Cut names the parts shortened or dropped to fit.
	Cut []string `json:"cut"`
}

// Alert is GET /v1/alerts/{id}.
type Alert struct {
	ID         string   `json:"id"`
	State      string   `json:"state"`
	Originator string   `json:"originator"`
	Sender     string   `json:"sender"`
	Identifier string   `json:"identifier"`
	MsgType    string   `json:"msg_type"`
	Status     string   `json:"status"`
	Severity   string   `json:"severity"`
	Regions    []string `json:"regions"`
	Sent       string   `json:"sent"`
	Expires    string   `json:"expires,omitempty"`
	// The rest summarizes the alert for lists and the console.
	Scope        string    `json:"scope,omitempty"`
	Urgency      string    `json:"urgency,omitempty"`
	Certainty    string    `json:"certainty,omitempty"`
	HANType      string    `json:"han_type,omitempty"`
	Headline     string    `json:"headline,omitempty"`
	AcceptedAt   time.Time `json:"accepted_at,omitzero"`
	References   []string  `json:"references,omitempty"`
	UpdatedBy    string    `json:"updated_by,omitempty"`
	RejectedBy   string    `json:"rejected_by,omitempty"`
	RejectReason string    `json:"reject_reason,omitempty"`
}

// HospitalToken is POST /v1/webhooks/{id}/token: the hospital's own
// token, shown once.
type HospitalToken struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

// Acks is GET /v1/alerts/{id}/acks.
type Acks struct {
	AlertID string `json:"alert_id"`
	// Required is true when the alert asked hospitals to acknowledge.
	Required  bool          `json:"required"`
	Hospitals []HospitalAck `json:"hospitals"`
}

// HospitalAck is one hospital's acknowledgement of an alert.
type HospitalAck struct {
	Subscription string `json:"subscription"`
	Hospital     string `json:"hospital"`
	// State is pending, escalated (pending after at least one escalation),
	// acknowledged or unacknowledged (every tier timed out).
	State string `json:"state"`
	// Webhook is the webhook delivery's state (queued, delivered, failed...).
	Webhook        string     `json:"webhook,omitempty"`
	Tier           int        `json:"tier"`
	Escalations    []AckStep  `json:"escalations"`
	NextEscalation *time.Time `json:"next_escalation,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	// AcknowledgedBy is the subscription (token), "link", or the duty
	// phone, redacted (SMS).
	AcknowledgedBy string `json:"acknowledged_by,omitempty"`
	// Path is link, token or sms.
	Path string `json:"path,omitempty"`
}

// AckStep is one escalation of an unacknowledged alert.
type AckStep struct {
	Tier     int       `json:"tier"`
	At       time.Time `json:"at"`
	Contacts int       `json:"contacts"`
	Sent     int       `json:"sent"`
	Error    string    `json:"error,omitempty"`
}

// Alerts is GET /v1/alerts: the alerts the caller may see, newest first.
type Alerts struct {
	Alerts []Alert `json:"alerts"`
	// More is true when the limit cut the list.
	More bool `json:"more"`
}

// Rejection is the body of POST /v1/alerts/{id}/reject (signed).
type Rejection struct {
	Reason string `json:"reason"`
}

// SessionOriginator is who a console session belongs to.
type SessionOriginator struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Agency string   `json:"agency"`
	Roles  []string `json:"roles"`
	// Senders are the CAP senders the agency configured (may be empty).
	Senders []string `json:"senders,omitempty"`
}

// Session is GET/POST /v1/session: the signed-in officer and their
// jurisdiction, as GeoJSON (a FeatureCollection of its regions and area).
type Session struct {
	Originator   SessionOriginator `json:"originator"`
	Expires      time.Time         `json:"expires"`
	Jurisdiction json.RawMessage   `json:"jurisdiction"`
	// Bounds is [minLon, minLat, maxLon, maxLat] of the jurisdiction.
	Bounds [4]float64 `json:"bounds"`
	// TileURL and TileAttribution configure the map's base layer (empty:
	// outlines only).
	TileURL         string `json:"tile_url,omitempty"`
	TileAttribution string `json:"tile_attribution,omitempty"`
	// ApprovalSeverities are the severities that need a second officer.
	ApprovalSeverities []string `json:"approval_severities"`
}

// Challenge is GET /v1/session/challenge: what the browser signs to sign in.
type Challenge struct {
	Challenge string `json:"challenge"`
}

// Progress is one server-sent event of GET /v1/alerts/{id}/events.
type Progress struct {
	Alert      Alert       `json:"alert"`
	Deliveries *Deliveries `json:"deliveries,omitempty"`
}

// Located is GET /v1/regions/locate: the region ids containing a point,
// and the same regions with their names.
type Located struct {
	Regions []string    `json:"regions"`
	Details []RegionRef `json:"details"`
}

// DeliveryCounts is one channel's deliveries by state.
type DeliveryCounts struct {
	Queued int `json:"queued"`
	Sent   int `json:"sent"`
	// Logged deliveries never left Herald (sms.provider log).
	Logged    int `json:"logged"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
}

// DeliveryFailure is a failed or skipped delivery, by recipient id (never
// a phone number or URL).
type DeliveryFailure struct {
	Channel   string `json:"channel"`
	Recipient string `json:"recipient"`
	State     string `json:"state"`
	Reason    string `json:"reason"`
}

// Deliveries is GET /v1/alerts/{id}/deliveries.
type Deliveries struct {
	AlertID string `json:"alert_id"`
	// Planned is true once the planner recorded the alert's jobs.
	Planned bool `json:"planned"`
	// Done is true when no delivery of the alert is still queued.
	Done     bool                      `json:"done"`
	Channels map[string]DeliveryCounts `json:"channels"`
	Failures []DeliveryFailure         `json:"failures"`
	// SMSSeconds estimates how long the queued SMS take at the configured
	// carrier rate; absent when none is queued.
	SMSSeconds float64 `json:"sms_seconds,omitempty"`
}

// Subscriber is POST /v1/subscribers: a resident located by lat/lon, or
// by region id.
type Subscriber struct {
	Phone    string   `json:"phone"`
	Lat      *float64 `json:"lat"`
	Lon      *float64 `json:"lon"`
	Region   string   `json:"region"`
	Language string   `json:"language"`
	Exercise bool     `json:"exercise"`
}

// Created is the answer to creating a subscriber.
type Created struct {
	ID string `json:"id"`
}

// RowError is one refused line of a CSV import.
type RowError struct {
	Line    int    `json:"line"` // 1-based line in the file; the header is usually line 1
	Message string `json:"message"`
}

// Imported is the answer of POST /v1/subscribers/import.
type Imported struct {
	Imported int        `json:"imported"`
	Rejected []RowError `json:"rejected"`
}

// Webhook is POST /v1/webhooks: a hospital subscription.
type Webhook struct {
	URL         string   `json:"url"`
	Regions     []string `json:"regions"`
	MinSeverity string   `json:"min_severity"`
	Exercise    bool     `json:"exercise"`
	// HANTypes limits deliveries to alerts of these CDC HAN types
	// ("Health Alert", "Health Advisory", "Health Update", "Info
	// Service"); empty takes every alert.
	HANTypes []string `json:"han_types,omitempty"`
	// Name is the hospital's name, shown to officers.
	Name string `json:"name,omitempty"`
	// Escalation lists, tier by tier, the phone numbers (E.164) texted
	// when an alert that requires acknowledgement goes unacknowledged.
	Escalation [][]string `json:"escalation,omitempty"`
}

// WebhookInfo is a webhook subscription as GET /v1/webhooks shows it:
// never its secrets.
type WebhookInfo struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Regions        []string  `json:"regions"`
	MinSeverity    string    `json:"min_severity"`
	Exercise       bool      `json:"exercise"`
	HANTypes       []string  `json:"han_types"`
	Disabled       bool      `json:"disabled"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	Created        time.Time `json:"created"`
	// PreviousSecretUntil is when the secret replaced by the last
	// rotation stops signing; absent when none is in its grace period.
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
	Name                string     `json:"name,omitempty"`
	// Escalation shows the tiers' phone numbers redacted.
	Escalation [][]string `json:"escalation"`
	// HasToken says whether the hospital was given a token of its own.
	HasToken bool `json:"has_token"`
}

// WebhookRotated is the answer to POST /v1/webhooks/{id}/rotate: the new
// secret, shown this once, and until when the old one signs too.
type WebhookRotated struct {
	ID                  string    `json:"id"`
	Secret              string    `json:"secret"`
	PreviousSecretUntil time.Time `json:"previous_secret_until"`
}

// WebhookCreated is the answer to POST /v1/webhooks; the secret is shown
// this once.
type WebhookCreated struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// ProblemDetails is an error answer (RFC 9457, application/problem+json);
// Errors lists validation problems with their CAP element or field paths.
type ProblemDetails struct {
	Type   string        `json:"type"`
	Status int           `json:"status"`
	Title  string        `json:"title"`
	Detail string        `json:"detail,omitempty"`
	Errors []cap.Problem `json:"errors,omitempty"`
}
