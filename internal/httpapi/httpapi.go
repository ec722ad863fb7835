// Package httpapi serves Herald's HTTP API (see CONTRACT.md, "HTTP API"):
// signed submissions and previews, alert state and CAP, region lookup,
// health, readiness and metrics. Errors are application/problem+json.
//
// Handlers translate HTTP to calls on the services they are given; they
// hold no state and make no decisions of their own beyond who may read
// what (public alerts are public; everything else needs the admin token).
package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/internal/intake"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/internal/session"
	"github.com/herald-alerts/herald/internal/templates"
)

// Config is what the handlers need.
type Config struct {
	Intake     *intake.Service
	Log        *alertlog.Log
	Regions    *geo.Registry
	AdminToken string
	Logger     *slog.Logger
	// Ready reports whether Herald can accept alerts (NATS and streams up).
	Ready func(ctx context.Context) error
	// Metrics serves /metrics.
	Metrics http.Handler

	Residents Residents
	Hospitals Hospitals
	// Recipients counts who an alert would reach (previews).
	Recipients Counter
	// Audit is the audit trail, for GET /v1/audit (admin).
	Audit AuditTrail
	// PublicURL is the base of links in feeds.
	PublicURL string
	// Inbound handles residents' text messages; nil turns them off.
	Inbound    *Inbound
	Deliveries *deliveries.Store
	// VerifyTwilio checks X-Twilio-Signature of a callback; nil refuses all.
	VerifyTwilio func(r *http.Request) error
	// ClientRate and ClientBurst limit signed endpoints per client address
	// (requests per second; 0 turns the limit off). A request whose
	// signature verifies always gets through.
	ClientRate  float64
	ClientBurst int
	// Started is when the server started (an empty feed's updated time).
	Started time.Time
	// Texts renders what each channel would send, for previews; nil shows
	// none.
	Texts interface {
		Texts(ctx context.Context, rec *alertlog.Record, a *cap.Alert) []api.PreviewText
	}
	// RotationGrace is how long a rotated webhook secret still signs.
	RotationGrace time.Duration
	// Acks are hospitals' acknowledgements of alerts that require one.
	Acks Acks
	// Sessions signs officers in to the console; nil turns sign-in off.
	Sessions *session.Manager
	// Templates are the alert templates the console offers.
	Templates []templates.Template
	// Console is what the console's map and warnings need.
	Console ConsoleSettings
	// ConsoleAssets serves the console's page and files under /console/;
	// nil serves none.
	ConsoleAssets http.Handler
	// SMSRate is the SMS send rate in segments per second, for the
	// estimates of how long a fan-out takes; 0 gives none.
	SMSRate float64
}

// ConsoleSettings are the settings the console reads from its session.
type ConsoleSettings struct {
	TileURL, TileAttribution string
	// ApprovalSeverities are the severities held for a second officer.
	ApprovalSeverities []string
}

// smsSeconds estimates how long n SMS with these texts take at the
// configured rate: each counted at the longest language's segments, as the
// split of residents between languages is not known without reading them.
func (s *Server) smsSeconds(n int, texts []api.PreviewText) float64 {
	if s.SMSRate <= 0 || n == 0 {
		return 0
	}
	segments := 1
	for _, t := range texts {
		if t.Channel == string(channels.SMS) {
			segments = max(segments, t.Segments)
		}
	}
	return math.Round(float64(n*segments)/s.SMSRate*10) / 10
}

// Server is Herald's HTTP API.
type Server struct {
	Config
	clients *clients
}

// New builds the API; Handler serves it.
func New(cfg Config) *Server {
	return &Server{Config: cfg, clients: newClients(cfg.ClientRate, cfg.ClientBurst)}
}

// admit applies the per-address limit to a signed request: over the limit,
// only a request signed by a registered originator goes on.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, body []byte, action string) bool {
	ok, after := s.clients.allow(r, time.Now())
	if ok || s.Intake.Identified(intake.Submission{Body: body, Signature: signing.FromGetter(r.Header.Get)}, action) {
		return true
	}
	s.Intake.CountRefusal("rate_limited")
	tooMany(w, after)
	return false
}

// Counter counts an alert's recipients per channel without sending.
type Counter interface {
	Count(ctx context.Context, rec *alertlog.Record, a *cap.Alert) (deliveries.Plan, error)
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/alerts", s.submit)
	mux.HandleFunc("POST /v1/alerts/preview", s.preview)
	mux.HandleFunc("GET /v1/alerts/{id}", s.getAlert)
	mux.HandleFunc("GET /v1/alerts/{id}/deliveries", s.getDeliveries)
	mux.HandleFunc("POST /v1/alerts/{id}/approve", s.approve)
	mux.HandleFunc("POST /v1/alerts/{id}/reject", s.reject)
	mux.HandleFunc("GET /v1/alerts", s.listAlerts)
	mux.HandleFunc("GET /v1/alerts/{id}/events", s.alertEvents)
	mux.HandleFunc("GET /v1/alerts/{id}/draft", s.draft)
	if s.Acks != nil {
		mux.HandleFunc("GET /v1/alerts/{id}/acks", s.alertAcks)
		mux.HandleFunc("POST /v1/alerts/{id}/ack", s.ackByToken)
		mux.HandleFunc("GET /v1/acks/{token}", s.ackLink)
		mux.HandleFunc("POST /v1/acks/{token}", s.ackLink)
	}
	mux.HandleFunc("POST /v1/webhooks/{id}/token", s.issueToken)
	mux.HandleFunc("GET /v1/regions/outlines", s.outlines)
	mux.HandleFunc("GET /v1/templates", s.listTemplates)
	mux.HandleFunc("GET /v1/session/challenge", s.challenge)
	mux.HandleFunc("POST /v1/session", s.signIn)
	mux.HandleFunc("GET /v1/session", s.whoAmI)
	mux.HandleFunc("DELETE /v1/session", s.signOut)
	if s.ConsoleAssets != nil {
		mux.Handle("GET /console/", s.ConsoleAssets)
		mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	}
	mux.HandleFunc("GET /v1/regions/locate", s.locate)
	mux.HandleFunc("POST /v1/subscribers", s.addSubscriber)
	mux.HandleFunc("POST /v1/subscribers/import", s.importSubscribers)
	mux.HandleFunc("DELETE /v1/subscribers/{id}", s.deleteSubscriber)
	mux.HandleFunc("POST /v1/webhooks", s.addWebhook)
	mux.HandleFunc("GET /v1/webhooks", s.listWebhooks)
	mux.HandleFunc("GET /v1/webhooks/{id}", s.webhookAction(func(ctx context.Context, id string) (hospitals.Subscription, error) { return s.Hospitals.Get(ctx, id) }))
	mux.HandleFunc("DELETE /v1/webhooks/{id}", s.deleteWebhook)
	mux.HandleFunc("POST /v1/webhooks/{id}/pause", s.webhookAction(func(ctx context.Context, id string) (hospitals.Subscription, error) {
		return s.Hospitals.Pause(ctx, id)
	}))
	mux.HandleFunc("POST /v1/webhooks/{id}/resume", s.webhookAction(func(ctx context.Context, id string) (hospitals.Subscription, error) {
		return s.Hospitals.Resume(ctx, id)
	}))
	mux.HandleFunc("POST /v1/webhooks/{id}/rotate", s.rotateWebhook)
	mux.HandleFunc("POST /v1/sms/status", s.smsStatus)
	mux.HandleFunc("POST /v1/sms/inbound", s.smsInbound)
	mux.HandleFunc("GET /v1/feeds/{file}", s.feed)
	mux.HandleFunc("GET /a/{id}", s.alertPage)
	mux.HandleFunc("GET /v1/audit", s.auditList)
	mux.HandleFunc("GET /v1/audit/verify", s.auditVerify)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
	return mux
}

// bodyReadTimeout bounds reading a submission's body.
const bodyReadTimeout = 10 * time.Second

// readBody reads at most cap.MaxSize+1 bytes so an oversized body is
// recognised without reading all of it.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	// An alert is at most a megabyte: a client that cannot send it within
	// the deadline is holding a connection, not sending an alert.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(cap.MaxSize)+1))
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Unreadable body", err.Error(), nil)
		return nil, false
	}
	if len(body) > cap.MaxSize {
		writeProblem(w, http.StatusRequestEntityTooLarge, "Alert too large", "the limit is "+strconv.Itoa(cap.MaxSize)+" bytes", nil)
		return nil, false
	}
	return body, true
}

func capContentType(r *http.Request) bool {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
	return ct == "" || ct == "application/cap+xml" || ct == "application/xml" || ct == "text/xml"
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	if !capContentType(r) {
		writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported content type", "send CAP 1.2 XML as application/cap+xml or application/xml", nil)
		return
	}
	body, ok := readBody(w, r)
	if !ok || !s.admit(w, r, body, signing.ActionSubmit) {
		return
	}
	rec, err := s.Intake.Submit(r.Context(), intake.Submission{Body: body, Signature: signing.FromGetter(r.Header.Get)})
	if err != nil {
		s.refusal(w, err)
		return
	}
	w.Header().Set("Location", "/v1/alerts/"+rec.ID)
	writeJSON(w, http.StatusAccepted, api.Accepted{ID: rec.ID, State: string(rec.State)})
}

func (s *Server) refusal(w http.ResponseWriter, err error) {
	var e *intake.Error
	if !errors.As(err, &e) {
		s.Logger.Error("internal error", "error", err)
		writeProblem(w, http.StatusInternalServerError, "Internal error", "", nil)
		return
	}
	if e.Kind == intake.Unavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeProblem(w, e.Kind.HTTPStatus(), e.Title, e.Detail, e.Problems)
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, nil, signing.ActionApprove(r.PathValue("id"))) {
		return
	}
	rec, err := s.Intake.Approve(r.Context(), r.PathValue("id"), signing.FromGetter(r.Header.Get))
	if err != nil {
		s.refusal(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, api.Accepted{ID: rec.ID, State: string(rec.State)})
}

func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok || !s.admit(w, r, body, signing.ActionPreview) {
		return
	}
	c, err := s.Intake.Preview(r.Context(), intake.Submission{Body: body, Signature: signing.FromGetter(r.Header.Get)})
	if err != nil {
		s.refusal(w, err)
		return
	}
	res := api.Preview{Regions: []api.RegionRef{}, Recipients: map[string]int{}}
	for _, ch := range channels.All {
		res.Recipients[string(ch)] = 0
	}
	var regions []string
	if c.Area != nil {
		for _, reg := range c.Area.Regions {
			res.Regions = append(res.Regions, api.RegionRef{ID: reg.ID, Name: reg.Name})
		}
		regions = c.Area.RegionIDs()
		res.AreaKm2 = c.Area.Shape.AreaKm2()
	}
	rec := s.Log.NewRecord(c.Alert, c.Originator.ID, regions, time.Now())
	res.Texts = []api.PreviewText{}
	if s.Texts != nil {
		res.Texts = s.Texts.Texts(r.Context(), rec, c.Alert)
	}
	res.Texts = append(res.Texts, weaTexts(c.Alert)...)
	if s.Recipients != nil {
		plan, err := s.Recipients.Count(r.Context(), rec, c.Alert)
		if err != nil {
			s.unavailable(w, err)
			return
		}
		for ch, n := range plan {
			res.Recipients[string(ch)] = n
		}
	}
	res.SMSSeconds = s.smsSeconds(res.Recipients[string(channels.SMS)], res.Texts)
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.AdminToken == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.AdminToken)) == 1
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	asCAP := false
	if base, ok := strings.CutSuffix(id, ".cap"); ok {
		id, asCAP = base, true
	}
	rec, err := s.Log.Get(r.Context(), id)
	if errors.Is(err, alertlog.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, "Alert not found", "no alert with id "+strconv.Quote(id), nil)
		return
	}
	if err != nil {
		s.unavailable(w, err)
		return
	}
	// Public alerts are public (SMS links and hospitals point at them);
	// Restricted and Private ones are not, and are not even confirmed to
	// exist without the token.
	if rd, ok := s.readerOf(r); rec.Scope != cap.ScopePublic && (!ok || !rd.sees(rec)) {
		writeProblem(w, http.StatusNotFound, "Alert not found", "no alert with id "+strconv.Quote(id), nil)
		return
	}
	if !asCAP {
		writeJSON(w, http.StatusOK, view(rec, time.Now()))
		return
	}
	raw, _, err := s.Log.Raw(r.Context(), id)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/cap+xml; charset=utf-8")
	_, _ = w.Write(raw)
}

func view(rec *alertlog.Record, now time.Time) api.Alert {
	state := lifecycle.Shown(rec.State, rec.ExpiresAt(), now)
	return api.Alert{ID: rec.ID, State: string(state), Originator: rec.Originator, Sender: rec.Sender, Identifier: rec.Identifier,
		MsgType: string(rec.MsgType), Status: string(rec.Status), Severity: string(rec.Severity), Regions: rec.Regions, Sent: rec.Sent, Expires: rec.Expires,
		Scope: string(rec.Scope), Urgency: string(rec.Urgency), Certainty: string(rec.Certainty), HANType: string(rec.HANType), Headline: rec.Headline,
		AcceptedAt: rec.AcceptedAt, References: rec.References, UpdatedBy: rec.UpdatedBy, RejectedBy: rec.RejectedBy, RejectReason: rec.RejectReason}
}

func (s *Server) locate(w http.ResponseWriter, r *http.Request) {
	lat, err1 := strconv.ParseFloat(r.URL.Query().Get("lat"), 64)
	lon, err2 := strconv.ParseFloat(r.URL.Query().Get("lon"), 64)
	if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 || lat != lat || lon != lon {
		writeProblem(w, http.StatusBadRequest, "Bad coordinates", "lat must be in [-90,90] and lon in [-180,180]", cap.Problems{{Path: "lat,lon", Message: "not a valid coordinate"}})
		return
	}
	regions := s.Regions.Locate(orb.Point{lon, lat})
	// "regions" is the contract's list of ids; "details" adds names.
	out := api.Located{Regions: []string{}, Details: []api.RegionRef{}}
	for _, reg := range regions {
		out.Regions = append(out.Regions, reg.ID)
		out.Details = append(out.Details, api.RegionRef{ID: reg.ID, Name: reg.Name})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "Not ready", err.Error(), nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) unavailable(w http.ResponseWriter, err error) {
	s.Logger.Error("store unavailable", "error", err)
	w.Header().Set("Retry-After", "5")
	writeProblem(w, http.StatusServiceUnavailable, "Store unavailable", "retry shortly", nil)
}

// weaTexts are the Wireless Emergency Alert texts the alert carries for an
// officer who also sends it through IPAWS (Herald itself sends no WEA):
// channel "wea" (CMAMtext, 90 characters) and "wea_long" (CMAMlongtext,
// 360), with their length, per language.
func weaTexts(a *cap.Alert) []api.PreviewText {
	var out []api.PreviewText
	for i := range a.Info {
		short, long := a.Info[i].WEA()
		for _, t := range []struct {
			channel, text string
			limit         int
		}{{"wea", short, cap.WEAShortMax}, {"wea_long", long, cap.WEALongMax}} {
			if t.text == "" {
				continue
			}
			pt := api.PreviewText{Channel: t.channel, Language: a.Info[i].Lang(), Text: t.text, Characters: utf8.RuneCountInString(t.text), Limit: t.limit, Cut: []string{}}
			out = append(out, pt)
		}
	}
	return out
}
