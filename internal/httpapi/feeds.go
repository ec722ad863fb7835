package httpapi

import (
	"bytes"
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/feeds"
	"github.com/herald-alerts/herald/internal/lifecycle"
)

// allRegions is the feed of every region.
const allRegions = "all"

// feed serves GET /v1/feeds/{region}.atom: the region's public alerts,
// one entry per thread (package feeds): an Update replaces its alert's
// content under the same entry id, a Cancel keeps it listed as cancelled
// until it would have expired, and expired alerts leave.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	region, ok := strings.CutSuffix(r.PathValue("file"), ".atom")
	if !ok {
		writeProblem(w, http.StatusNotFound, "Not found", "feeds are /v1/feeds/{region}.atom", nil)
		return
	}
	var title string
	if region == allRegions {
		title = "Herald: all active health alerts"
	} else if reg, ok := s.Regions.Region(region); ok {
		title = "Herald: active health alerts for " + reg.Name
	} else {
		writeProblem(w, http.StatusNotFound, "Unknown region", "no region "+strconv.Quote(region), nil)
		return
	}
	recs, err := s.Log.List(r.Context())
	if err != nil {
		s.unavailable(w, err)
		return
	}
	now := time.Now()
	self := s.PublicURL + "/v1/feeds/" + region + ".atom"
	// An empty feed was last updated when this server started: it has
	// been empty at least since then.
	f := feeds.Feed{ID: self, Title: title, SelfURL: self, Updated: s.Started.UTC()}
	var msgs []feeds.Message
	for _, rec := range recs {
		if rec.Scope != cap.ScopePublic || rec.Status != cap.StatusActual {
			continue
		}
		// A Cancel has no area of its own: it joins the thread of the
		// alert it references, which is filtered by region.
		if rec.MsgType != cap.MsgCancel && region != allRegions && !slices.Contains(rec.Regions, region) {
			continue
		}
		expires := rec.ExpiresAt()
		// The feed changed when any of its alerts came, went or ended.
		f.Updated = latest(f.Updated, rec.AcceptedAt)
		if !expires.IsZero() && expires.Before(now) {
			f.Updated = latest(f.Updated, expires)
		}
		sent, _ := cap.ParseTime(rec.Sent)
		msgs = append(msgs, feeds.Message{
			Entry: feeds.Entry{
				ID: rec.ID, Title: entryTitle(rec), Updated: rec.AcceptedAt, Sent: sent, Expires: expires,
				Severity: string(rec.Severity), MsgType: string(rec.MsgType), HANType: string(rec.HANType), CAPURL: s.PublicURL + "/v1/alerts/" + rec.ID + ".cap",
				Summary: fmt.Sprintf("%s %s from %s", rec.Severity, strings.ToLower(string(rec.MsgType)), cmp.Or(rec.SenderName, rec.Sender)),
			},
			References: rec.References,
			Live:       rec.State.Released(),
			Cancelled:  rec.State == lifecycle.Cancelled,
		})
	}
	f.Entries = feeds.Active(feeds.Threads(msgs), now)
	if f.Updated.IsZero() {
		f.Updated = now
	}
	var buf bytes.Buffer
	if err := feeds.Render(&buf, f); err != nil {
		s.Logger.Error("render feed", "region", region, "error", err)
		writeProblem(w, http.StatusInternalServerError, "Feed error", "", nil)
		return
	}
	etag := feeds.ETag(f)
	modified := feeds.LastModified(f)
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	w.Header().Set("Cache-Control", "public, max-age=30")
	if notModified(r, etag, modified) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", feeds.ContentType)
	_, _ = w.Write(buf.Bytes())
}

// entryTitle is what a feed reader lists: the headline and who sends it
// (its name, never the sender's address).
func entryTitle(rec *alertlog.Record) string {
	switch {
	case rec.Headline != "" && rec.SenderName != "":
		return rec.Headline + " – " + rec.SenderName
	case rec.Headline != "":
		return rec.Headline
	}
	return rec.SenderName
}

// notModified applies If-None-Match (which wins) and If-Modified-Since.
func notModified(r *http.Request, etag string, modified time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			if t = strings.TrimSpace(t); t == etag || t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
		return false
	}
	if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil {
		return !modified.Truncate(time.Second).After(ims)
	}
	return false
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
