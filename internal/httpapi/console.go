package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/herald-alerts/herald/broadcaster/api"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/internal/originators"
)

// SessionCookie is the console session's cookie.
const SessionCookie = "herald_session"

// reader is who reads a management view: the admin (every alert) or an
// officer signed in to the console (their agency's alerts).
type reader struct {
	admin   bool
	o       *originators.Originator
	set     *originators.Set // the originators o was found in
	expires time.Time        // the session's end
}

// sees reports whether r may read alert rec: the admin always; an officer
// when the alert's issuer belongs to their agency.
func (rd reader) sees(rec *alertlog.Record) bool {
	if rd.admin {
		return true
	}
	if rd.o == nil {
		return false
	}
	if rec.Originator == rd.o.ID {
		return true
	}
	issuer, ok := rd.set.ByID(rec.Originator)
	return ok && issuer.Agency == rd.o.Agency
}

// session returns the officer of a valid console session cookie: one this
// server minted, unexpired, for an originator still registered with the
// key that signed in (removing or re-keying an officer ends their
// sessions).
func (s *Server) session(r *http.Request) (reader, bool) {
	if s.Sessions == nil {
		return reader{}, false
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return reader{}, false
	}
	sess, err := s.Sessions.Parse(c.Value)
	if err != nil {
		return reader{}, false
	}
	set := s.Intake.Originators.Current()
	o, ok := set.ByID(sess.Originator)
	if !ok || o.PublicKey != sess.Key {
		return reader{}, false
	}
	return reader{o: o, set: set, expires: sess.Expires}, true
}

// readerOf is the request's reader, if any.
func (s *Server) readerOf(r *http.Request) (reader, bool) {
	if s.authorized(r) {
		return reader{admin: true}, true
	}
	if rd, ok := s.session(r); ok {
		return rd, true
	}
	return reader{}, false
}

// requireReader answers 401 unless the request carries the admin token or
// a console session.
func (s *Server) requireReader(w http.ResponseWriter, r *http.Request) (reader, bool) {
	rd, ok := s.readerOf(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
		writeProblem(w, http.StatusUnauthorized, "Sign-in required", "send Authorization: Bearer <http.admin_token>, or sign in to the console (/console) with your originator key", nil)
	}
	return rd, ok
}

// alertFor reads alert id for rd; an alert rd may not see is answered as
// not found, so nobody learns which ids exist.
func (s *Server) alertFor(w http.ResponseWriter, r *http.Request, rd reader, id string) (*alertlog.Record, bool) {
	rec, err := s.Log.Get(r.Context(), id)
	if errors.Is(err, alertlog.ErrNotFound) || (err == nil && !rd.sees(rec)) {
		writeProblem(w, http.StatusNotFound, "Alert not found", "no alert with id "+strconv.Quote(id), nil)
		return nil, false
	}
	if err != nil {
		s.unavailable(w, err)
		return nil, false
	}
	return rec, true
}

func (s *Server) challenge(w http.ResponseWriter, r *http.Request) {
	if s.Sessions == nil {
		writeProblem(w, http.StatusNotFound, "Console off", "", nil)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, api.Challenge{Challenge: s.Sessions.Challenge()})
}

// maxChallengeBytes bounds a sign-in body (a challenge is ~100 bytes).
const maxChallengeBytes = 1024

// signIn opens a console session: the body is a challenge from
// GET /v1/session/challenge, signed in the browser for the "session"
// action with the officer's key. The answer sets an HttpOnly,
// SameSite=Strict cookie; the key never leaves the browser.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	if s.Sessions == nil {
		writeProblem(w, http.StatusNotFound, "Console off", "", nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxChallengeBytes+1))
	if err != nil || len(body) > maxChallengeBytes {
		writeProblem(w, http.StatusBadRequest, "Bad challenge", "the body must be the challenge from GET /v1/session/challenge", nil)
		return
	}
	if !s.admit(w, r, body, signing.ActionSession) {
		return
	}
	if err := s.Sessions.CheckChallenge(string(body)); err != nil {
		writeProblem(w, http.StatusUnauthorized, "Bad challenge", err.Error(), nil)
		return
	}
	o, err := s.Intake.SignIn(r.Context(), body, signing.FromGetter(r.Header.Get))
	if err != nil {
		s.refusal(w, err)
		return
	}
	token, sess := s.Sessions.Mint(o.ID, o.PublicKey)
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", Expires: sess.Expires, MaxAge: int(s.Sessions.TTL() / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || strings.HasPrefix(s.PublicURL, "https:"),
	})
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, s.sessionView(o, sess.Expires))
}

func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	rd, ok := s.session(r)
	if !ok {
		writeProblem(w, http.StatusUnauthorized, "Not signed in", "open your seed file in the console to sign in", nil)
		return
	}
	writeJSON(w, http.StatusOK, s.sessionView(rd.o, rd.expires))
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// jurisdictionZoom is the detail of the jurisdiction outline in a session:
// about 300 m, enough to see the border on a county-wide map.
const jurisdictionZoom = 9

func (s *Server) sessionView(o *originators.Originator, expires time.Time) api.Session {
	v := api.Session{
		Originator: api.SessionOriginator{ID: o.ID, Name: o.Name, Agency: o.Agency, Senders: o.Senders, Roles: []string{}},
		Expires:    expires, TileURL: s.Console.TileURL, TileAttribution: s.Console.TileAttribution,
		ApprovalSeverities: s.Console.ApprovalSeverities,
	}
	for _, role := range o.Roles {
		v.Originator.Roles = append(v.Originator.Roles, string(role))
	}
	fc := geojson.NewFeatureCollection()
	var b orb.Bound
	add := func(f *geojson.Feature, bound orb.Bound) {
		fc.Append(f)
		if len(fc.Features) == 1 {
			b = bound
		} else {
			b = b.Union(bound)
		}
	}
	for _, id := range o.Jurisdiction.Regions {
		reg, ok := s.Regions.Region(id)
		if !ok {
			continue
		}
		f := geojson.NewFeature(reg.Outline(jurisdictionZoom))
		f.Properties = geojson.Properties{"id": id, "name": reg.Name}
		add(f, reg.Bound)
	}
	if len(o.Jurisdiction.Area) > 0 {
		f := geojson.NewFeature(o.Jurisdiction.Area)
		f.Properties = geojson.Properties{"name": "jurisdiction area"}
		add(f, o.Jurisdiction.Area.Bound())
	}
	v.Jurisdiction, _ = fc.MarshalJSON()
	if len(fc.Features) == 0 { // no jurisdiction on file: the whole map
		b = orb.Bound{Min: orb.Point{-125, 24}, Max: orb.Point{-66, 50}}
	}
	v.Bounds = [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
	return v
}

// List limits of GET /v1/alerts.
const (
	defaultListLimit = 50
	maxListLimit     = 1000
)

// listStates are the states GET /v1/alerts filters by.
var listStates = []lifecycle.State{lifecycle.PendingApproval, lifecycle.Accepted, lifecycle.Dispatching, lifecycle.Done,
	lifecycle.Cancelled, lifecycle.Expired, lifecycle.Rejected}

// listAlerts serves GET /v1/alerts?state=&limit=: the alerts the reader
// may see (all for the admin, the agency's for an officer), newest first,
// in the state shown to readers.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	rd, ok := s.requireReader(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var want []lifecycle.State
	for st := range strings.SplitSeq(q.Get("state"), ",") {
		if st = strings.TrimSpace(st); st == "" {
			continue
		}
		if !slices.Contains(listStates, lifecycle.State(st)) {
			names := make([]string, len(listStates))
			for i, ls := range listStates {
				names[i] = string(ls)
			}
			writeProblem(w, http.StatusBadRequest, "Unknown state", fmt.Sprintf("state %q: use %s (several separated by commas)", st, strings.Join(names, ", ")), nil)
			return
		}
		want = append(want, lifecycle.State(st))
	}
	limit := defaultListLimit
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxListLimit {
			writeProblem(w, http.StatusBadRequest, "Bad limit", fmt.Sprintf("limit must be 1 to %d", maxListLimit), nil)
			return
		}
		limit = n
	}
	recs, err := s.Log.List(r.Context())
	if err != nil {
		s.unavailable(w, err)
		return
	}
	now := time.Now()
	out := api.Alerts{Alerts: []api.Alert{}}
	slices.SortFunc(recs, func(a, b *alertlog.Record) int {
		return cmp.Or(b.AcceptedAt.Compare(a.AcceptedAt), cmp.Compare(a.ID, b.ID))
	})
	for _, rec := range recs {
		if !rd.sees(rec) {
			continue
		}
		v := view(rec, now)
		if len(want) > 0 && !slices.Contains(want, lifecycle.State(v.State)) {
			continue
		}
		if len(out.Alerts) == limit {
			out.More = true
			break
		}
		out.Alerts = append(out.Alerts, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// maxReasonBytes bounds a rejection body.
const maxReasonBytes = 8 << 10

func (s *Server) reject(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReasonBytes+1))
	if err != nil || len(body) > maxReasonBytes {
		writeProblem(w, http.StatusBadRequest, "Bad rejection", fmt.Sprintf("the body must be JSON {\"reason\": ...} of at most %d bytes", maxReasonBytes), nil)
		return
	}
	if !s.admit(w, r, body, signing.ActionReject(id)) {
		return
	}
	rec, err := s.Intake.Reject(r.Context(), id, body, signing.FromGetter(r.Header.Get))
	if err != nil {
		s.refusal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Accepted{ID: rec.ID, State: string(rec.State)})
}

// Event stream timing: how often progress is read, how often an idle
// stream says it is alive, and how long one stream lasts before the
// browser reconnects (EventSource does so by itself).
const (
	eventPoll      = time.Second
	eventKeepalive = 15 * time.Second
	eventMaxAge    = 30 * time.Minute
)

// alertEvents serves GET /v1/alerts/{id}/events: server-sent events with
// the alert's state and delivery counts whenever they change ("progress"),
// then "end" once the alert has ended and no delivery is left. Reads are
// the record and the counters, as for GET .../deliveries.
func (s *Server) alertEvents(w http.ResponseWriter, r *http.Request) {
	rd, ok := s.requireReader(w, r)
	if !ok {
		return
	}
	rec, ok := s.alertFor(w, r, rd, r.PathValue("id"))
	if !ok {
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithTimeout(r.Context(), eventMaxAge)
	defer cancel()
	send := func(event string, data []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		var b bytes.Buffer
		if event != "" {
			fmt.Fprintf(&b, "event: %s\ndata: %s\n\n", event, data)
		} else {
			b.WriteString(": alive\n\n")
		}
		if _, err := w.Write(b.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	var last []byte
	lastWrite := time.Now()
	tick := time.NewTicker(eventPoll)
	defer tick.Stop()
	for {
		p, ended, err := s.progress(ctx, rec.ID)
		if err == nil {
			data, _ := json.Marshal(p)
			if !bytes.Equal(data, last) {
				if !send("progress", data) {
					return
				}
				last, lastWrite = data, time.Now()
			}
			if ended {
				send("end", []byte("{}"))
				return
			}
		}
		if time.Since(lastWrite) > eventKeepalive {
			if !send("", nil) {
				return
			}
			lastWrite = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// progress is an alert's state and counts; ended is true when nothing
// more will change for it.
func (s *Server) progress(ctx context.Context, id string) (api.Progress, bool, error) {
	rec, err := s.Log.Get(ctx, id)
	if err != nil {
		return api.Progress{}, false, err
	}
	p := api.Progress{Alert: view(rec, time.Now())}
	state := lifecycle.State(p.Alert.State)
	if !rec.State.Released() {
		return p, state.Ended(), nil
	}
	sum, err := s.Deliveries.Summarize(ctx, id)
	if err != nil {
		return api.Progress{}, false, err
	}
	p.Deliveries = sum
	return p, state.Ended() && sum.Done, nil
}

// maxOutlineBound bounds the area of one outlines request, in square
// degrees: a state or two at a time, not a continent.
const maxOutlineBound = 400.0

// outlines serves GET /v1/regions/outlines?bbox=minLon,minLat,maxLon,maxLat&zoom=Z:
// the regions meeting the box as GeoJSON, simplified for the zoom, with
// the geocode that names each (for picking whole regions).
func (s *Server) outlines(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	box, ok := parseBBox(q.Get("bbox"))
	if !ok {
		writeProblem(w, http.StatusBadRequest, "Bad bbox", "bbox=minLon,minLat,maxLon,maxLat within [-180,180] and [-90,90]", nil)
		return
	}
	if (box.Max[0]-box.Min[0])*(box.Max[1]-box.Min[1]) > maxOutlineBound {
		writeProblem(w, http.StatusBadRequest, "Box too large", fmt.Sprintf("ask for at most %.0f square degrees at a time (zoom in)", maxOutlineBound), nil)
		return
	}
	zoom := 8
	if z := q.Get("zoom"); z != "" {
		n, err := strconv.Atoi(z)
		if err != nil || n < 0 || n > 20 {
			writeProblem(w, http.StatusBadRequest, "Bad zoom", "zoom must be 0 to 20", nil)
			return
		}
		zoom = n
	}
	outlines, more := s.Regions.Outlines(box, zoom)
	fc := geojson.NewFeatureCollection()
	for _, ol := range outlines {
		f := geojson.NewFeature(ol.Geometry)
		f.ID = ol.Region.ID
		f.Properties = geojson.Properties{"id": ol.Region.ID, "name": ol.Region.Name}
		if ol.Region.Geocode != (geo.Geocode{}) {
			f.Properties["geocode_name"] = ol.Region.Geocode.Name
			f.Properties["geocode_value"] = ol.Region.Geocode.Value
		}
		fc.Append(f)
	}
	fc.ExtraMembers = geojson.Properties{"truncated": more}
	b, err := fc.MarshalJSON()
	if err != nil {
		s.unavailable(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

// parseBBox reads "minLon,minLat,maxLon,maxLat": finite, within the
// world, min before max.
func parseBBox(s string) (orb.Bound, bool) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return orb.Bound{}, false
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return orb.Bound{}, false
		}
		v[i] = f
	}
	if v[0] < -180 || v[2] > 180 || v[1] < -90 || v[3] > 90 || v[0] > v[2] || v[1] > v[3] {
		return orb.Bound{}, false
	}
	return orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}, true
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"templates": s.Templates})
}

// draft serves GET /v1/alerts/{id}/draft?type=Update|Cancel: the CAP XML of
// an Update or Cancel of the alert, with <references> filled in, for the
// officer to change (an Update), read and sign in the console. Nothing is
// stored: the draft becomes an alert only when submitted, signed.
func (s *Server) draft(w http.ResponseWriter, r *http.Request) {
	rd, ok := s.requireReader(w, r)
	if !ok {
		return
	}
	rec, ok := s.alertFor(w, r, rd, r.PathValue("id"))
	if !ok {
		return
	}
	kind := r.URL.Query().Get("type")
	if kind != string(cap.MsgUpdate) && kind != string(cap.MsgCancel) {
		writeProblem(w, http.StatusBadRequest, "Bad draft type", "type must be Update or Cancel", nil)
		return
	}
	if rec.MsgType == cap.MsgCancel || !rec.State.Released() {
		writeProblem(w, http.StatusConflict, "Nothing to "+strings.ToLower(kind), fmt.Sprintf("alert %s is a %s in state %s", rec.ID, rec.MsgType, rec.State), nil)
		return
	}
	raw, _, err := s.Log.Raw(r.Context(), rec.ID)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	orig, err := cap.Parse(raw)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	next := cap.UpdateOf(orig, time.Now())
	if kind == string(cap.MsgCancel) {
		next = cap.CancelOf(orig, time.Now())
		next.Note = "Cancelled in the Herald console"
	}
	b, err := cap.Marshal(next)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/cap+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
