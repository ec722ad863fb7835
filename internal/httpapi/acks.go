package httpapi

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/acks"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/internal/jobs"
)

// Acks is what the API needs of the acknowledgement records.
type Acks interface {
	Get(ctx context.Context, alertID, sub string) (acks.Record, error)
	List(ctx context.Context, alertID string) ([]acks.Record, error)
	Ack(ctx context.Context, alertID, sub, by, path string) (acks.Record, error)
	ParseLink(token string) (alertID, sub string, err error)
}

// hospitalOf returns the subscription whose own token the request carries
// (Authorization: Bearer hk_...).
func (s *Server) hospitalOf(r *http.Request) (hospitals.Subscription, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !strings.HasPrefix(token, hospitals.TokenPrefix) || s.Hospitals == nil {
		return hospitals.Subscription{}, false
	}
	sub, err := s.Hospitals.ByToken(r.Context(), token)
	return sub, err == nil
}

// requireWebhookOwner lets the admin, or the hospital whose own token
// names the subscription in the path, through. Another hospital's token
// gets 404, as for an id that does not exist.
func (s *Server) requireWebhookOwner(w http.ResponseWriter, r *http.Request) bool {
	if s.authorized(r) {
		return true
	}
	if sub, ok := s.hospitalOf(r); ok {
		if sub.ID == r.PathValue("id") {
			return true
		}
		writeProblem(w, http.StatusNotFound, "Webhook subscription not found", "no subscription with id "+strconv.Quote(r.PathValue("id")), nil)
		return false
	}
	return s.requireAdmin(w, r)
}

// issueToken serves POST /v1/webhooks/{id}/token (admin): the hospital's
// own token, shown once.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	token, err := s.Hospitals.IssueToken(r.Context(), r.PathValue("id"))
	if !s.webhookFailed(w, r, err) {
		writeJSON(w, http.StatusOK, api.HospitalToken{ID: r.PathValue("id"), Token: token})
	}
}

// ackByToken serves POST /v1/alerts/{id}/ack: a hospital acknowledges an
// alert with its own token.
func (s *Server) ackByToken(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.hospitalOf(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
		writeProblem(w, http.StatusUnauthorized, "Hospital token required", "send Authorization: Bearer hk_... (POST /v1/webhooks/{id}/token gives one), or use the link in the webhook", nil)
		return
	}
	s.acknowledge(w, r, r.PathValue("id"), sub.ID, sub.ID, acks.PathToken)
}

func (s *Server) acknowledge(w http.ResponseWriter, r *http.Request, alertID, subID, by, path string) {
	rec, err := s.Acks.Ack(r.Context(), alertID, subID, by, path)
	if errors.Is(err, acks.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, "No acknowledgement asked", "alert "+strconv.Quote(alertID)+" asks no acknowledgement of this hospital", nil)
		return
	}
	if err != nil {
		s.unavailable(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ackView(rec, ""))
}

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Confirm receipt · Herald</title></head>
<body>
<h1>Confirm receipt of a health alert</h1>
{{if .Done}}<p><strong>Recorded:</strong> {{.Hospital}} confirmed receipt{{if .When}} at {{.When}}{{end}}.</p>
{{else}}<p>{{.Hospital}}: confirm that your facility received alert <a href="/a/{{.AlertID}}">{{.AlertID}}</a>.</p>
<form method="post"><button type="submit">Confirm receipt</button></form>{{end}}
</body></html>
`))

// ackLink serves the link in a webhook that requires acknowledgement:
// GET shows a page with a button (a link preview or scanner fetching the
// URL acknowledges nothing), POST acknowledges. The token is the
// credential: only Herald can make one, for one alert and hospital.
func (s *Server) ackLink(w http.ResponseWriter, r *http.Request) {
	alertID, subID, err := s.Acks.ParseLink(r.PathValue("token"))
	if err != nil {
		writeProblem(w, http.StatusNotFound, "Unknown link", "this acknowledgement link is not valid", nil)
		return
	}
	rec, err := s.Acks.Get(r.Context(), alertID, subID)
	if errors.Is(err, acks.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, "No acknowledgement asked", "", nil)
		return
	}
	if err != nil {
		s.unavailable(w, err)
		return
	}
	form := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	if r.Method == http.MethodPost {
		if rec, err = s.Acks.Ack(r.Context(), alertID, subID, "link", acks.PathLink); err != nil {
			s.unavailable(w, err)
			return
		}
		if !form {
			writeJSON(w, http.StatusOK, ackView(rec, ""))
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	when := ""
	if !rec.AckedAt.IsZero() {
		when = rec.AckedAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	_ = ackPage.Execute(w, map[string]any{"Done": rec.State == acks.Acknowledged, "Hospital": rec.Hospital, "AlertID": alertID, "When": when})
}

// alertAcks serves GET /v1/alerts/{id}/acks: per hospital, whether the
// webhook was delivered, acknowledged (when, by whom, by which path),
// escalated (each step) or not reached.
func (s *Server) alertAcks(w http.ResponseWriter, r *http.Request) {
	rd, ok := s.requireReader(w, r)
	if !ok {
		return
	}
	rec, ok := s.alertFor(w, r, rd, r.PathValue("id"))
	if !ok {
		return
	}
	list, err := s.Acks.List(r.Context(), rec.ID)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	out := api.Acks{AlertID: rec.ID, Required: len(list) > 0, Hospitals: []api.HospitalAck{}}
	for _, a := range list {
		delivery := "queued"
		if d, err := s.Deliveries.Get(r.Context(), jobs.Delivery{AlertID: rec.ID, Channel: channels.Webhook, Recipient: a.Subscription}); err == nil {
			delivery = d.State
		}
		out.Hospitals = append(out.Hospitals, ackView(a, delivery))
	}
	writeJSON(w, http.StatusOK, out)
}

func ackView(a acks.Record, delivery string) api.HospitalAck {
	v := api.HospitalAck{Subscription: a.Subscription, Hospital: a.Hospital, State: a.State, Webhook: delivery, Tier: a.Tier,
		Escalations: []api.AckStep{}, AcknowledgedBy: a.AckedBy, Path: a.Path}
	if a.State == acks.Pending && a.Tier > 0 {
		v.State = "escalated"
	}
	if a.State == acks.Pending {
		due := a.Due
		v.NextEscalation = &due
	}
	if !a.AckedAt.IsZero() {
		at := a.AckedAt
		v.AcknowledgedAt = &at
	}
	for _, st := range a.Steps {
		v.Escalations = append(v.Escalations, api.AckStep{Tier: st.Tier, At: st.At, Contacts: st.Contacts, Sent: st.Sent, Error: st.Error})
	}
	return v
}
