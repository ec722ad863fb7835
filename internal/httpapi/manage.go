package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/channels/phone"
	"github.com/herald-alerts/herald/channels/sms"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/internal/residents"
)

// Residents is what the API needs of the resident directory.
type Residents interface {
	Put(ctx context.Context, r residents.Resident) (residents.Resident, error)
	Delete(ctx context.Context, id string) error
	Import(ctx context.Context, rows []residents.Resident) (int, error)
	SetOptOut(ctx context.Context, id string, out bool) error
}

// Hospitals is what the API needs of the webhook subscriptions.
type Hospitals interface {
	Add(ctx context.Context, s hospitals.Subscription) (hospitals.Subscription, error)
	Get(ctx context.Context, id string) (hospitals.Subscription, error)
	List(ctx context.Context) ([]hospitals.Subscription, error)
	Delete(ctx context.Context, id string) error
	Pause(ctx context.Context, id string) (hospitals.Subscription, error)
	Resume(ctx context.Context, id string) (hospitals.Subscription, error)
	Rotate(ctx context.Context, id string, grace time.Duration) (hospitals.Subscription, error)
	IssueToken(ctx context.Context, id string) (string, error)
	ByToken(ctx context.Context, token string) (hospitals.Subscription, error)
}

// maxImportBytes bounds a CSV import body.
const maxImportBytes = 100 << 20

// requireAdmin answers 401/403 unless the request carries the admin token;
// with no token configured the management API is off.
func (s *Server) requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	if s.AdminToken == "" {
		writeProblem(w, http.StatusForbidden, "Management API off", "set http.admin_token (HERALD_HTTP_ADMIN_TOKEN) on the server to enable it", nil)
		return false
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
		writeProblem(w, http.StatusUnauthorized, "Admin token required", "send Authorization: Bearer <http.admin_token>", nil)
		return false
	}
	return true
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(w, http.StatusBadRequest, "Invalid JSON", err.Error(), nil)
		return false
	}
	return true
}

func (s *Server) addSubscriber(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	var in api.Subscriber
	if !decodeJSON(w, r, &in) {
		return
	}
	res := residents.Resident{Phone: in.Phone, Region: in.Region, Language: in.Language, Exercise: in.Exercise}
	switch {
	case in.Region != "":
		if _, ok := s.Regions.Region(in.Region); !ok {
			writeProblem(w, http.StatusBadRequest, "Unknown region", "no region "+strconv.Quote(in.Region), cap.Problems{{Path: "region", Message: "unknown region"}})
			return
		}
	case in.Lat != nil && in.Lon != nil:
		res.Lat, res.Lon = *in.Lat, *in.Lon
	default:
		writeProblem(w, http.StatusBadRequest, "Missing location", "give lat and lon, or region", cap.Problems{{Path: "lat,lon", Message: "required unless region is given"}})
		return
	}
	saved, err := s.Residents.Put(r.Context(), res)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, api.Created{ID: saved.ID})
}

func (s *Server) deleteSubscriber(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	switch err := s.Residents.Delete(r.Context(), r.PathValue("id")); {
	case errors.Is(err, residents.ErrNotFound):
		writeProblem(w, http.StatusNotFound, "Subscriber not found", "", nil)
	case err != nil:
		s.storeError(w, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) importSubscribers(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	rows, problems, err := residents.ParseCSV(io.LimitReader(r.Body, maxImportBytes), "US")
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Invalid CSV", err.Error(), nil)
		return
	}
	n, err := s.Residents.Import(r.Context(), rows)
	if err != nil {
		s.storeError(w, err)
		return
	}
	res := api.Imported{Imported: n, Rejected: make([]api.RowError, len(problems))}
	for i, p := range problems {
		res.Rejected[i] = api.RowError(p)
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) addWebhook(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	var in api.Webhook
	if !decodeJSON(w, r, &in) {
		return
	}
	han := make([]cap.HANType, len(in.HANTypes))
	for i, t := range in.HANTypes {
		han[i] = cap.HANType(t)
	}
	sub, err := s.Hospitals.Add(r.Context(), hospitals.Subscription{URL: in.URL, Regions: in.Regions, MinSeverity: cap.Severity(in.MinSeverity), Exercise: in.Exercise, HANTypes: han,
		Name: in.Name, Escalation: in.Escalation})
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, api.WebhookCreated{ID: sub.ID, Secret: sub.Secret})
}

// webhookInfo is what the management API shows of a subscription.
func webhookInfo(sub hospitals.Subscription, now time.Time) api.WebhookInfo {
	info := api.WebhookInfo{ID: sub.ID, URL: sub.URL, Regions: sub.Regions, MinSeverity: string(sub.MinSeverity), Exercise: sub.Exercise,
		Disabled: sub.Disabled, DisabledReason: sub.DisabledReason, Created: sub.Created}
	if info.Regions == nil {
		info.Regions = []string{}
	}
	info.HANTypes = []string{}
	for _, t := range sub.HANTypes {
		info.HANTypes = append(info.HANTypes, string(t))
	}
	if len(sub.Secrets(now)) > 1 {
		until := sub.PreviousUntil
		info.PreviousSecretUntil = &until
	}
	info.Name, info.HasToken = sub.Name, sub.TokenHash != ""
	// Duty phones are staff numbers: shown redacted, like residents'.
	info.Escalation = [][]string{}
	for _, tier := range sub.Escalation {
		var shown []string
		for _, p := range tier {
			shown = append(shown, phone.Redact(p))
		}
		info.Escalation = append(info.Escalation, shown)
	}
	return info
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	var subs []hospitals.Subscription
	if own, ok := s.hospitalOf(r); ok && !s.authorized(r) {
		subs = []hospitals.Subscription{own} // a hospital sees its own
	} else {
		if !s.requireAdmin(w, r) {
			return
		}
		var err error
		if subs, err = s.Hospitals.List(r.Context()); err != nil {
			s.unavailable(w, err)
			return
		}
	}
	out := make([]api.WebhookInfo, 0, len(subs))
	for _, sub := range subs {
		out = append(out, webhookInfo(sub, time.Now()))
	}
	writeJSON(w, http.StatusOK, out)
}

// webhookAction runs one change on the subscription named in the path
// and answers with what it is now.
func (s *Server) webhookAction(change func(ctx context.Context, id string) (hospitals.Subscription, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.requireWebhookOwner(w, r) {
			return
		}
		sub, err := change(r.Context(), r.PathValue("id"))
		if !s.webhookFailed(w, r, err) {
			writeJSON(w, http.StatusOK, webhookInfo(sub, time.Now()))
		}
	}
}

// webhookFailed answers a failed change of the subscription named in the
// path (404 for an unknown id, 503 otherwise); false when err is nil.
func (s *Server) webhookFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case errors.Is(err, hospitals.ErrNotFound):
		writeProblem(w, http.StatusNotFound, "Webhook subscription not found", "no subscription with id "+strconv.Quote(r.PathValue("id")), nil)
	case err != nil:
		s.unavailable(w, err)
	default:
		return false
	}
	return true
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if !s.requireWebhookOwner(w, r) {
		return
	}
	if !s.webhookFailed(w, r, s.Hospitals.Delete(r.Context(), r.PathValue("id"))) {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) rotateWebhook(w http.ResponseWriter, r *http.Request) {
	if !s.requireWebhookOwner(w, r) {
		return
	}
	sub, err := s.Hospitals.Rotate(r.Context(), r.PathValue("id"), s.RotationGrace)
	if !s.webhookFailed(w, r, err) {
		writeJSON(w, http.StatusOK, api.WebhookRotated{ID: sub.ID, Secret: sub.Secret, PreviousSecretUntil: sub.PreviousUntil})
	}
}

// storeError answers a store failure: validation errors are 400 with their
// message (which never contains a phone number), the rest 503.
func (s *Server) storeError(w http.ResponseWriter, err error) {
	if errors.Is(err, residents.ErrInvalid) || errors.Is(err, hospitals.ErrInvalid) {
		writeProblem(w, http.StatusBadRequest, "Invalid input", err.Error(), nil)
		return
	}
	s.unavailable(w, err)
}

func (s *Server) getDeliveries(w http.ResponseWriter, r *http.Request) {
	// Deliveries are management data. Authorization comes first, so the
	// answer without the token is the same whether the alert exists or
	// not: nobody learns which ids exist.
	rd, ok := s.requireReader(w, r)
	if !ok {
		return
	}
	rec, ok := s.alertFor(w, r, rd, r.PathValue("id"))
	if !ok {
		return
	}
	sum, err := s.Deliveries.Summarize(r.Context(), rec.ID)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	if queued := sum.Channels[string(channels.SMS)].Queued; queued > 0 && s.Texts != nil {
		if raw, _, err := s.Log.Raw(r.Context(), rec.ID); err == nil {
			if a, err := cap.Parse(raw); err == nil {
				sum.SMSSeconds = s.smsSeconds(queued, s.Texts.Texts(r.Context(), rec, a))
			}
		}
	}
	writeJSON(w, http.StatusOK, sum)
}

// twilioStates maps Twilio MessageStatus values that end a delivery.
var twilioStates = map[string]string{
	"delivered":   deliveries.Delivered,
	"undelivered": deliveries.Failed,
	"failed":      deliveries.Failed,
}

func (s *Server) smsStatus(w http.ResponseWriter, r *http.Request) {
	if s.VerifyTwilio == nil || s.VerifyTwilio(r) != nil {
		writeProblem(w, http.StatusForbidden, "Bad Twilio signature", "X-Twilio-Signature does not match", nil)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeProblem(w, http.StatusBadRequest, "Invalid form", err.Error(), nil)
		return
	}
	sid, status := r.PostForm.Get("MessageSid"), strings.ToLower(r.PostForm.Get("MessageStatus"))
	state, final := twilioStates[status]
	if sid == "" || !final {
		w.WriteHeader(http.StatusNoContent) // queued/sending/sent: nothing new
		return
	}
	reason := ""
	code := r.PostForm.Get("ErrorCode")
	if code != "" {
		reason = "twilio error " + code
	}
	// The callback URL names its delivery (Twilio signs the URL); one
	// without it is for a message sent by Herald before callback keys.
	var (
		j   jobs.Delivery
		err error
	)
	if key := r.URL.Query().Get(sms.CallbackKey); key != "" {
		if j, err = jobs.ParseKey(key); err == nil && j.Channel == channels.SMS {
			err = s.Deliveries.ProviderReportFor(r.Context(), j, sid, state, reason)
		} else {
			err = deliveries.ErrNotFound
		}
	} else {
		j, err = s.Deliveries.ProviderReport(r.Context(), channels.SMS, sid, state, reason)
	}
	if err == nil && errors.Is(sms.CallbackError(code), channels.ErrOptedOut) {
		// The carrier says the number opted out (STOP sent to the carrier):
		// honour it for every later alert too.
		err = s.Residents.SetOptOut(r.Context(), j.Recipient, true)
	}
	switch {
	case errors.Is(err, deliveries.ErrNotFound):
		// Not ours, or recorded by a Herald that has since lost it; Twilio
		// must not retry forever.
		w.WriteHeader(http.StatusNoContent)
	case err != nil:
		s.unavailable(w, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
