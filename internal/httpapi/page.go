package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/internal/page"
)

// maxPageRegions bounds the outlines drawn under an alert's shapes.
const maxPageRegions = 12

// alertPage serves GET /a/{id}: the page for people that SMS and posts
// link to. Only Public alerts have one; for others, as for unknown ids,
// the answer is 404. It reads the alert's record and CAP only: no scan of
// alerts or deliveries, as every SMS of a fan-out links here.
func (s *Server) alertPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	notFound := func() {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("No such alert.\n"))
	}
	rec, err := s.Log.Get(r.Context(), id)
	if errors.Is(err, alertlog.ErrNotFound) || (err == nil && rec.Scope != cap.ScopePublic) {
		notFound()
		return
	}
	if err != nil {
		s.unavailable(w, err)
		return
	}
	raw, _, err := s.Log.Raw(r.Context(), id)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	a, err := cap.Parse(raw)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	lang := readerLanguage(r)
	d := page.Data{Alert: a, Lang: lang, Status: page.Active}
	switch lifecycle.Shown(rec.State, rec.ExpiresAt(), time.Now()) {
	case lifecycle.Cancelled:
		d.Status = page.Cancelled
	case lifecycle.Expired:
		d.Status = page.Expired
	}
	if rec.UpdatedBy != "" && d.Status == page.Active {
		d.Status, d.NewerURL = page.Updated, pageURL(rec.UpdatedBy, lang)
	}
	for _, rid := range rec.Regions[:min(len(rec.Regions), maxPageRegions)] {
		if reg, ok := s.Regions.Region(rid); ok {
			d.Regions = append(d.Regions, reg)
		}
	}
	shown := a.InfoFor(lang)
	for _, in := range a.Info {
		if shown != nil && in.Lang() != shown.Lang() {
			d.Languages = append(d.Languages, page.Link{Label: languageName(in.Lang()), URL: pageURL(rec.ID, in.Lang())})
		}
	}
	var buf bytes.Buffer
	if err := page.Render(&buf, d); err != nil {
		s.Logger.Error("render alert page", "id", rec.ID, "error", err)
		writeProblem(w, http.StatusInternalServerError, "Page error", "", nil)
		return
	}
	etag := page.ETag(buf.Bytes())
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=60")
	h.Set("Vary", "Accept-Language")
	// Plain HTML and a drawing: nothing to run, nothing to fetch.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// readerLanguage is ?lang=, else the first of Accept-Language, else "".
func readerLanguage(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		if t, err := language.Parse(l); err == nil {
			return t.String()
		}
	}
	if tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language")); err == nil && len(tags) > 0 {
		return tags[0].String()
	}
	return ""
}

// pageURL is the path of an alert's page in lang.
func pageURL(id, lang string) string {
	u := "/a/" + url.PathEscape(id)
	if p, _, _ := strings.Cut(lang, "-"); p != "" {
		u += "?lang=" + url.QueryEscape(strings.ToLower(p))
	}
	return u
}

// languageName is a language's name in itself ("español"), else its tag.
func languageName(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return tag
	}
	base, _ := t.Base()
	if n := display(base.String()); n != "" {
		return n
	}
	return tag
}

// display names the languages Herald's pages speak, in themselves.
func display(base string) string {
	return map[string]string{"en": "English", "es": "Español", "ru": "Русский", "vi": "Tiếng Việt", "zh": "中文", "ko": "한국어", "so": "Soomaali"}[base]
}
