// Package feeds writes Atom 1.0 (RFC 4287) feeds of active alerts, for
// hospitals and aggregators that poll GET /v1/feeds/{region}.atom, and the
// ETag and Last-Modified values that let them poll cheaply.
//
// Each entry is one alert thread (an Alert and the Updates and Cancel that
// follow it, as CAP feed readers expect): it keeps the original's entry id
// while Updates replace its content and move its updated time, and stays
// listed as cancelled after a Cancel until it would have expired. An entry
// has the newest message's headline, summary and time, and a link
// (rel="alternate", type="application/cap+xml") to its CAP XML, which is what
// CAP aggregators fetch. Entries also carry cap:sent, cap:expires,
// cap:msgType and cap:severity in the CAP 1.2 namespace, as the US National
// Weather Service's alert feeds do, so that a poller can skip an alert
// without fetching it.
//
// The package is pure and knows nothing of alert state. The caller picks a
// region's messages, folds them into threads ([Threads]), drops the expired
// ([Active]), and serves the bytes; this package does no HTTP.
package feeds

import (
	"cmp"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// Media types of a feed and of the CAP document each entry links to.
const (
	ContentType = "application/atom+xml; charset=utf-8"
	CAPType     = "application/cap+xml"
)

const (
	atomNS = "http://www.w3.org/2005/Atom"
	capNS  = "urn:oasis:names:tc:emergency:cap:1.2"
	// defaultAuthor names the feed's author when Feed.Author is empty;
	// Atom requires one.
	defaultAuthor = "Herald"
)

// Entry is one alert in a feed.
type Entry struct {
	// ID is Herald's alert id. The Atom entry id derives from it (see
	// EntryID), so the entry keeps its id across requests, regions and
	// restarts.
	ID string
	// Title is the alert's headline, or its event when it has none. An
	// empty Title is written as MsgType, or "Alert" (a Cancel often has no
	// info, so no headline or event).
	Title   string
	Summary string
	// Updated is when Herald accepted the alert; entries sort on it.
	Updated time.Time
	// Sent is the CAP sent time. Expires is when the alert ends; zero means
	// it has no expiry (CAP info/expires is optional).
	Sent, Expires     time.Time
	Severity, MsgType string
	// HANType is the CDC HAN type, written as an Atom category (scheme
	// HANScheme) so feed readers can route by it; "" for none.
	HANType string
	// CAPURL is the absolute URL of the alert's CAP XML,
	// <public_url>/v1/alerts/{id}.cap.
	CAPURL string
}

// Feed is a feed of alerts.
type Feed struct {
	// ID is the feed's permanent id: a tag: URI or the feed's URL. Empty
	// means SelfURL.
	ID      string
	Title   string
	SelfURL string // the feed's own absolute URL, written as rel="self"
	Author  string // who publishes the feed; empty means "Herald"
	// Updated is when the set of entries last changed, including an entry
	// leaving it (a cancellation, an expiry). The feed's updated time, and
	// LastModified, is the latest of this and the entries' Updated: without
	// it, a feed whose newest entry was cancelled would look older than
	// before, and a poller sending If-Modified-Since would keep the stale
	// copy.
	Updated time.Time
	Entries []Entry
}

// Active returns the entries that have not expired at now, newest first
// (ties by ID, so the order is stable), with an alert listed more than once
// (as when the regions' entries are merged into one feed) kept once, at its
// latest Updated. It does not modify entries.
func Active(entries []Entry, now time.Time) []Entry {
	out := slices.DeleteFunc(slices.Clone(entries), func(e Entry) bool {
		return !e.Expires.IsZero() && !now.Before(e.Expires)
	})
	sortNewestFirst(out)
	seen := make(map[string]bool, len(out))
	return slices.DeleteFunc(out, func(e Entry) bool {
		dup := seen[e.ID]
		seen[e.ID] = true
		return dup
	})
}

// Message is one accepted CAP message as a feed sees it: its entry (were
// it alone), what it references, and whether it still counts.
type Message struct {
	Entry
	// References are the ids of the messages an Update or Cancel refers to.
	References []string
	// Live is false for messages never sent: held for approval, or expired
	// unapproved.
	Live bool
	// Cancelled is true for an alert a Cancel has called off.
	Cancelled bool
}

// CancelledPrefix marks a cancelled thread's title.
const CancelledPrefix = "CANCELLED: "

// Threads folds messages into one entry per thread: an Alert, the Updates
// that reference it (or each other) and a Cancel. The entry keeps the
// thread's first id (so its Atom id does not change), takes the newest
// Alert or Update's content, and, once cancelled, the title prefix
// CancelledPrefix, msgType Cancel and the Cancel's time and link; it keeps
// the content's expiry, so a cancelled alert stays listed until then. A
// Cancel whose thread has no content here (another region's alert) makes
// no entry. It does not modify messages.
func Threads(messages []Message) []Entry {
	byID := make(map[string]*Message, len(messages))
	for i := range messages {
		byID[messages[i].ID] = &messages[i]
	}
	root := func(m *Message) string {
		id := m.ID
		for range 64 { // references cannot loop, but a bound costs nothing
			cur := byID[id]
			if cur == nil || len(cur.References) == 0 {
				return id
			}
			id = cur.References[0]
		}
		return id
	}
	type thread struct{ content, cancel *Message }
	threads := map[string]*thread{}
	for i := range messages {
		m := &messages[i]
		if !m.Live {
			continue
		}
		r := root(m)
		th := threads[r]
		if th == nil {
			th = &thread{}
			threads[r] = th
		}
		switch m.MsgType {
		case "Cancel":
			if th.cancel == nil || m.Updated.After(th.cancel.Updated) {
				th.cancel = m
			}
		case "Alert", "Update":
			if th.content == nil || m.Updated.After(th.content.Updated) {
				th.content = m
			}
		}
	}
	out := make([]Entry, 0, len(threads))
	for r, th := range threads {
		if th.content == nil {
			continue
		}
		e := th.content.Entry
		e.ID = r
		if th.cancel != nil || th.content.Cancelled {
			e.Title = CancelledPrefix + cmp.Or(e.Title, e.MsgType, "Alert")
			e.MsgType = "Cancel"
			if c := th.cancel; c != nil && c.Updated.After(e.Updated) {
				e.Updated, e.CAPURL, e.Sent = c.Updated, c.CAPURL, c.Sent
				e.Summary = cmp.Or(c.Summary, e.Summary)
			}
		}
		out = append(out, e)
	}
	sortNewestFirst(out)
	return out
}

// sortNewestFirst orders entries by Updated, newest first, then by ID.
func sortNewestFirst(entries []Entry) {
	slices.SortFunc(entries, func(a, b Entry) int {
		if c := b.Updated.Compare(a.Updated); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// LastModified is the feed's updated time: the latest of feed.Updated and
// its entries' Updated, in UTC and truncated to the second, as both Atom
// (here) and HTTP dates carry it.
func LastModified(feed Feed) time.Time {
	t := feed.Updated
	for _, e := range feed.Entries {
		if e.Updated.After(t) {
			t = e.Updated
		}
	}
	return t.UTC().Truncate(time.Second)
}

// ETag returns a strong entity tag (quoted) for the feed: a hash of exactly
// the bytes Render writes, so it changes whenever they do. It is "" when
// Render would fail.
func ETag(feed Feed) string {
	h := sha256.New()
	if err := Render(h, feed); err != nil {
		return ""
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// Render writes feed as an Atom document, entries newest first. It refuses
// a feed without an id, title or time, and entries without an ID, Updated
// time or CAP URL, or listed twice, since Atom readers would drop or merge
// them.
func Render(w io.Writer, feed Feed) error {
	doc, err := build(feed)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("feeds: write: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("feeds: write: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("feeds: write: %w", err)
	}
	return nil
}

// The Atom document. Element names with a "cap:" prefix rely on the xmlns:cap
// attribute of the root: encoding/xml cannot choose prefixes itself, and
// CAP-aware readers expect cap:, not a redeclared default namespace.
type (
	atomFeed struct {
		XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
		CAPNS   string      `xml:"xmlns:cap,attr"`
		ID      string      `xml:"id"`
		Title   string      `xml:"title"`
		Updated string      `xml:"updated"`
		Links   []atomLink  `xml:"link"`
		Author  atomAuthor  `xml:"author"`
		Entries []atomEntry `xml:"entry"`
	}
	atomAuthor struct {
		Name string `xml:"name"`
	}
	atomLink struct {
		Rel  string `xml:"rel,attr"`
		Type string `xml:"type,attr,omitempty"`
		Href string `xml:"href,attr"`
	}
	atomEntry struct {
		ID        string   `xml:"id"`
		Title     string   `xml:"title"`
		Updated   string   `xml:"updated"`
		Published string   `xml:"published,omitempty"`
		Summary   string   `xml:"summary,omitempty"`
		Link      atomLink `xml:"link"`
		Sent      string   `xml:"cap:sent,omitempty"`
		Expires   string   `xml:"cap:expires,omitempty"`
		MsgType   string   `xml:"cap:msgType,omitempty"`
		Severity  string   `xml:"cap:severity,omitempty"`
		Category  *atomCategory
	}
	atomCategory struct {
		XMLName xml.Name `xml:"category"`
		Scheme  string   `xml:"scheme,attr"`
		Term    string   `xml:"term,attr"`
	}
)

// HANScheme is the Atom category scheme of an entry's CDC HAN type.
const HANScheme = "https://emergency.cdc.gov/han/"

func build(feed Feed) (*atomFeed, error) {
	doc := &atomFeed{
		CAPNS:  capNS,
		ID:     cmp.Or(feed.ID, feed.SelfURL),
		Title:  feed.Title,
		Author: atomAuthor{Name: cmp.Or(feed.Author, defaultAuthor)},
	}
	switch updated := LastModified(feed); {
	case doc.ID == "":
		return nil, errors.New("feeds: feed has no ID or SelfURL")
	case doc.Title == "":
		return nil, errors.New("feeds: feed has no title")
	case updated.IsZero():
		return nil, errors.New("feeds: feed has no Updated time and no entries")
	default:
		doc.Updated = atomTime(updated)
	}
	if feed.SelfURL != "" {
		doc.Links = []atomLink{{Rel: "self", Type: "application/atom+xml", Href: feed.SelfURL}}
	}
	entries := slices.Clone(feed.Entries)
	sortNewestFirst(entries)
	doc.Entries = make([]atomEntry, 0, len(entries))
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		switch {
		case e.ID == "":
			return nil, fmt.Errorf("feeds: entry %q has no ID", e.Title)
		case seen[e.ID]:
			return nil, fmt.Errorf("feeds: entry %s: listed twice", e.ID)
		case e.Updated.IsZero():
			return nil, fmt.Errorf("feeds: entry %s has no Updated time", e.ID)
		case e.CAPURL == "":
			return nil, fmt.Errorf("feeds: entry %s has no CAP URL", e.ID)
		}
		seen[e.ID] = true
		doc.Entries = append(doc.Entries, atomEntry{
			ID:        EntryID(e.ID),
			Title:     cmp.Or(e.Title, e.MsgType, "Alert"),
			Updated:   atomTime(e.Updated),
			Published: atomTime(e.Sent),
			Summary:   e.Summary,
			Link:      atomLink{Rel: "alternate", Type: CAPType, Href: e.CAPURL},
			Sent:      capDateTime(e.Sent),
			Expires:   capDateTime(e.Expires),
			MsgType:   e.MsgType,
			Severity:  e.Severity,
			Category:  hanCategory(e.HANType),
		})
	}
	return doc, nil
}

func hanCategory(t string) *atomCategory {
	if t == "" {
		return nil
	}
	return &atomCategory{Scheme: HANScheme, Term: t}
}

func atomTime(t time.Time) string { return formatTime(t.UTC(), time.RFC3339) }

// capDateTime writes t as CAP does (UTC as -00:00), "" for zero.
func capDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return cap.FormatTime(t.Truncate(time.Second))
}

func formatTime(t time.Time, layout string) string {
	if t.IsZero() {
		return ""
	}
	return t.Truncate(time.Second).Format(layout)
}

// heraldNS is the UUID namespace of Herald's entry ids: the version 5 UUID
// of Herald's repository URL in the RFC 9562 URL namespace.
var heraldNS = uuid5([16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8},
	"https://github.com/herald-alerts/herald")

// EntryID returns the Atom id of the entry for alert id: a urn:uuid: URI
// holding the version 5 (name-based) UUID of the id in Herald's namespace.
// It depends on nothing but the alert id, so the entry keeps it whatever
// the server's public URL or the feed it appears in.
func EntryID(alertID string) string {
	u := uuid5(heraldNS, alertID)
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// uuid5 is RFC 9562's name-based UUID with SHA-1. SHA-1 is what version 5
// specifies; nothing here relies on it resisting collisions.
func uuid5(ns [16]byte, name string) [16]byte {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u
}
