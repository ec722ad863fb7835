package feeds

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func entry(id string, updated time.Time) Entry {
	return Entry{
		ID:       id,
		Title:    "Boil water advisory " + id,
		Summary:  "Boil tap water for one minute before drinking.",
		Updated:  updated,
		Sent:     updated.Add(-time.Minute),
		Expires:  updated.Add(24 * time.Hour),
		Severity: "Severe",
		MsgType:  "Alert",
		CAPURL:   "https://herald.example/v1/alerts/" + id + ".cap",
	}
}

func sampleFeed() Feed {
	return Feed{
		ID:      "https://herald.example/v1/feeds/us-county-53033.atom",
		Title:   "Herald alerts: King County",
		SelfURL: "https://herald.example/v1/feeds/us-county-53033.atom",
		Updated: t0,
		// Out of order on purpose: Render sorts.
		Entries: []Entry{entry("aold", t0.Add(time.Minute)), entry("anew", t0.Add(time.Hour)), entry("amid", t0.Add(30*time.Minute))},
	}
}

func render(t *testing.T, f Feed) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, f); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return b.Bytes()
}

func TestRenderParsesAsAtom(t *testing.T) {
	f := sampleFeed()
	out := render(t, f)

	// gofeed's universal parser must see Atom, as a feed reader would.
	uni, err := gofeed.NewParser().ParseString(string(out))
	if err != nil {
		t.Fatalf("gofeed: %v\n%s", err, out)
	}
	if uni.FeedType != "atom" || uni.FeedVersion != "1.0" {
		t.Errorf("feed type %s %s, want atom 1.0", uni.FeedType, uni.FeedVersion)
	}
	if uni.Title != f.Title {
		t.Errorf("title %q, want %q", uni.Title, f.Title)
	}
	if uni.UpdatedParsed == nil || !uni.UpdatedParsed.Equal(t0.Add(time.Hour)) {
		t.Errorf("feed updated %v, want the newest entry's %v", uni.UpdatedParsed, t0.Add(time.Hour))
	}

	// The Atom parser keeps link types and extensions.
	doc, err := (&atom.Parser{}).Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("gofeed atom: %v", err)
	}
	if doc.ID != f.ID {
		t.Errorf("feed id %q, want %q", doc.ID, f.ID)
	}
	if len(doc.Authors) != 1 || doc.Authors[0].Name != "Herald" {
		t.Errorf("authors %+v, want Herald", doc.Authors)
	}
	if len(doc.Links) != 1 || doc.Links[0].Rel != "self" || doc.Links[0].Href != f.SelfURL {
		t.Errorf("feed links %+v, want rel=self %s", doc.Links, f.SelfURL)
	}

	want := []Entry{f.Entries[1], f.Entries[2], f.Entries[0]} // newest first
	if len(doc.Entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(doc.Entries), len(want))
	}
	for i, w := range want {
		got := doc.Entries[i]
		if got.ID != EntryID(w.ID) {
			t.Errorf("entry %d id %q, want %q", i, got.ID, EntryID(w.ID))
		}
		if got.Title != w.Title || got.Summary != w.Summary {
			t.Errorf("entry %d title %q summary %q, want %q %q", i, got.Title, got.Summary, w.Title, w.Summary)
		}
		if got.UpdatedParsed == nil || !got.UpdatedParsed.Equal(w.Updated) {
			t.Errorf("entry %d updated %v, want %v", i, got.UpdatedParsed, w.Updated)
		}
		if got.PublishedParsed == nil || !got.PublishedParsed.Equal(w.Sent) {
			t.Errorf("entry %d published %v, want sent %v", i, got.PublishedParsed, w.Sent)
		}
		if len(got.Links) != 1 || *got.Links[0] != (atom.Link{Rel: "alternate", Type: "application/cap+xml", Href: w.CAPURL}) {
			t.Errorf("entry %d links %+v, want one alternate application/cap+xml %s", i, got.Links, w.CAPURL)
		}
		capExt := got.Extensions["cap"]
		for name, v := range map[string]string{
			"sent":     cap.FormatTime(w.Sent),
			"expires":  cap.FormatTime(w.Expires),
			"msgType":  w.MsgType,
			"severity": w.Severity,
		} {
			if e := capExt[name]; len(e) != 1 || e[0].Value != v {
				t.Errorf("entry %d cap:%s = %+v, want %q", i, name, e, v)
			}
		}
	}
}

func TestRenderCAPTimesHaveOffsets(t *testing.T) {
	// CAP 1.2 forbids "Z" and writes UTC as -00:00; a Z in cap:expires
	// breaks strict CAP readers.
	out := string(render(t, sampleFeed()))
	if !strings.Contains(out, "<cap:expires>2025-03-02T13:00:00-00:00</cap:expires>") {
		t.Errorf("cap:expires not in CAP form:\n%s", out)
	}
	seattle := time.FixedZone("PST", -8*3600)
	f := Feed{ID: "tag:x,2025:f", Title: "t", Entries: []Entry{{ID: "a", Updated: t0, Sent: t0.In(seattle), CAPURL: "https://x/a.cap"}}}
	out = string(render(t, f))
	for _, want := range []string{"<cap:sent>2025-03-01T04:00:00-08:00</cap:sent>", "<published>2025-03-01T12:00:00Z</published>"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
}

func TestRenderEscaping(t *testing.T) {
	const (
		title   = `Flood & sewage <warning> "now" 'here'`
		summary = "Avoid water ]]> contact; a<b && c>d"
		capURL  = "https://herald.example/v1/alerts/a1.cap?x=1&y=<2>"
	)
	f := Feed{
		ID: "tag:herald.example,2025:feeds/all", Title: "A & B <feeds>", SelfURL: "https://herald.example/feed?a=1&b=2", Updated: t0,
		Entries: []Entry{{ID: "a1", Title: title, Summary: summary, Updated: t0, CAPURL: capURL}},
	}
	out := render(t, f)
	if bytes.Contains(out, []byte("<warning>")) || bytes.Contains(out, []byte("a<b")) {
		t.Fatalf("unescaped markup:\n%s", out)
	}
	doc, err := (&atom.Parser{}).Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("gofeed atom: %v\n%s", err, out)
	}
	if doc.Title != f.Title || doc.Links[0].Href != f.SelfURL {
		t.Errorf("feed title %q self %q, want %q %q", doc.Title, doc.Links[0].Href, f.Title, f.SelfURL)
	}
	e := doc.Entries[0]
	if e.Title != title || e.Summary != summary || e.Links[0].Href != capURL {
		t.Errorf("entry round trip: title %q summary %q href %q", e.Title, e.Summary, e.Links[0].Href)
	}
}

func TestRenderDefaults(t *testing.T) {
	tests := []struct {
		name string
		feed Feed
		want []string
		not  []string
	}{
		{
			name: "empty feed keeps its updated time",
			feed: Feed{ID: "tag:x,2025:f", Title: "t", Updated: t0},
			want: []string{"<updated>2025-03-01T12:00:00Z</updated>"},
			not:  []string{"<entry>", `rel="self"`},
		},
		{
			name: "feed id from self url",
			feed: Feed{Title: "t", SelfURL: "https://x/f.atom", Updated: t0},
			want: []string{"<id>https://x/f.atom</id>", `<link rel="self" type="application/atom+xml" href="https://x/f.atom"></link>`},
		},
		{
			name: "named author",
			feed: Feed{ID: "tag:x,2025:f", Title: "t", Author: "King County Public Health", Updated: t0},
			want: []string{"<name>King County Public Health</name>"},
		},
		{
			name: "untitled cancel titled by msgType, no empty cap elements",
			feed: Feed{ID: "tag:x,2025:f", Title: "t", Entries: []Entry{{ID: "c", MsgType: "Cancel", Updated: t0, CAPURL: "https://x/c.cap"}}},
			want: []string{"<title>Cancel</title>", "<cap:msgType>Cancel</cap:msgType>"},
			not:  []string{"<summary>", "<published>", "<cap:expires>", "<cap:sent>", "<cap:severity>"},
		},
		{
			name: "untitled entry without msgType",
			feed: Feed{ID: "tag:x,2025:f", Title: "t", Entries: []Entry{{ID: "c", Updated: t0, CAPURL: "https://x/c.cap"}}},
			want: []string{"<title>Alert</title>"},
		},
		{
			name: "local times written in UTC, to the second",
			feed: Feed{ID: "tag:x,2025:f", Title: "t", Updated: t0.In(time.FixedZone("X", 3600)).Add(999 * time.Millisecond)},
			want: []string{"<updated>2025-03-01T12:00:00Z</updated>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := string(render(t, tt.feed))
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %s in\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("unexpected %s in\n%s", n, out)
				}
			}
			if _, err := gofeed.NewParser().ParseString(out); err != nil {
				t.Errorf("gofeed: %v", err)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	ok := entry("a", t0)
	with := func(mod func(*Entry)) Entry { e := ok; mod(&e); return e }
	tests := []struct {
		name    string
		feed    Feed
		wantErr string
	}{
		{"no id", Feed{Title: "t", Updated: t0}, "no ID or SelfURL"},
		{"no title", Feed{ID: "tag:x,2025:f", Updated: t0}, "no title"},
		{"no time", Feed{ID: "tag:x,2025:f", Title: "t"}, "no Updated time and no entries"},
		{"entry without id", Feed{ID: "tag:x,2025:f", Title: "t", Entries: []Entry{with(func(e *Entry) { e.ID = "" })}}, "has no ID"},
		{"entry without time", Feed{ID: "tag:x,2025:f", Title: "t", Updated: t0, Entries: []Entry{with(func(e *Entry) { e.Updated = time.Time{} })}}, "entry a has no Updated"},
		{"entry without cap url", Feed{ID: "tag:x,2025:f", Title: "t", Entries: []Entry{with(func(e *Entry) { e.CAPURL = "" })}}, "entry a has no CAP URL"},
		{"entry twice", Feed{ID: "tag:x,2025:f", Title: "t", Entries: []Entry{ok, entry("b", t0), with(func(e *Entry) { e.Updated = t0.Add(time.Hour) })}}, "entry a: listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Render(&b, tt.feed)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Render error = %v, want one containing %q", err, tt.wantErr)
			}
			if b.Len() != 0 {
				t.Errorf("Render wrote %d bytes before failing", b.Len())
			}
			if got := ETag(tt.feed); got != "" {
				t.Errorf("ETag = %s, want empty for a feed Render refuses", got)
			}
		})
	}
}

func ids(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}

func TestActive(t *testing.T) {
	now := t0.Add(48 * time.Hour)
	expiring := func(id string, updated time.Time, expires time.Time) Entry {
		e := entry(id, updated)
		e.Expires = expires
		return e
	}
	tests := []struct {
		name    string
		entries []Entry
		want    []string
	}{
		{"none", nil, []string{}},
		{
			name: "expired dropped, boundary included",
			entries: []Entry{
				expiring("past", t0, now.Add(-time.Second)),
				expiring("at-now", t0, now),
				expiring("future", t0, now.Add(time.Second)),
				expiring("no-expiry", t0, time.Time{}),
			},
			want: []string{"future", "no-expiry"},
		},
		{
			name: "newest first, ties by id",
			entries: []Entry{
				expiring("b", t0, time.Time{}), expiring("c", t0.Add(time.Hour), time.Time{}), expiring("a", t0, time.Time{}),
			},
			want: []string{"c", "a", "b"},
		},
		{
			name: "alert listed by two regions kept once",
			entries: []Entry{
				expiring("a", t0, time.Time{}), expiring("b", t0.Add(time.Minute), time.Time{}), expiring("a", t0, time.Time{}),
			},
			want: []string{"b", "a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.entries)
			if got := ids(Active(tt.entries, now)); !slices.Equal(got, tt.want) {
				t.Errorf("Active = %v, want %v", got, tt.want)
			}
			if !slices.EqualFunc(before, tt.entries, func(a, b Entry) bool { return a == b }) {
				t.Error("Active modified its input")
			}
		})
	}
}

func TestThreads(t *testing.T) {
	msg := func(id, msgType string, at time.Duration, refs ...string) Message {
		e := entry(id, t0.Add(at))
		e.MsgType, e.Title = msgType, "title of "+id
		return Message{Entry: e, References: refs, Live: true}
	}
	held := msg("held", "Alert", 0)
	held.Live = false
	cancelledState := msg("gone", "Alert", 0)
	cancelledState.Cancelled = true
	tests := []struct {
		name string
		in   []Message
		want []Entry // ID, Title, MsgType, Updated, CAPURL checked
	}{
		{"one alert", []Message{msg("a1", "Alert", 0)},
			[]Entry{{ID: "a1", Title: "title of a1", MsgType: "Alert", Updated: t0, CAPURL: "https://herald.example/v1/alerts/a1.cap"}}},
		{"an update keeps the first id and takes the content", []Message{msg("a1", "Alert", 0), msg("u1", "Update", time.Hour, "a1")},
			[]Entry{{ID: "a1", Title: "title of u1", MsgType: "Update", Updated: t0.Add(time.Hour), CAPURL: "https://herald.example/v1/alerts/u1.cap"}}},
		{"an update of an update", []Message{msg("a1", "Alert", 0), msg("u1", "Update", time.Hour, "a1"), msg("u2", "Update", 2*time.Hour, "u1")},
			[]Entry{{ID: "a1", Title: "title of u2", MsgType: "Update", Updated: t0.Add(2 * time.Hour), CAPURL: "https://herald.example/v1/alerts/u2.cap"}}},
		{"a cancel keeps it listed, marked", []Message{msg("a1", "Alert", 0), msg("c1", "Cancel", time.Hour, "a1")},
			[]Entry{{ID: "a1", Title: CancelledPrefix + "title of a1", MsgType: "Cancel", Updated: t0.Add(time.Hour), CAPURL: "https://herald.example/v1/alerts/c1.cap"}}},
		{"cancelled by state, cancel elsewhere", []Message{cancelledState},
			[]Entry{{ID: "gone", Title: CancelledPrefix + "title of gone", MsgType: "Cancel", Updated: t0, CAPURL: "https://herald.example/v1/alerts/gone.cap"}}},
		{"a cancel alone makes no entry", []Message{msg("c1", "Cancel", 0, "elsewhere")}, []Entry{}},
		{"held messages do not count", []Message{held}, []Entry{}},
		{"newest first", []Message{msg("a1", "Alert", 0), msg("a2", "Alert", time.Hour)},
			[]Entry{{ID: "a2", Title: "title of a2", MsgType: "Alert", Updated: t0.Add(time.Hour), CAPURL: "https://herald.example/v1/alerts/a2.cap"},
				{ID: "a1", Title: "title of a1", MsgType: "Alert", Updated: t0, CAPURL: "https://herald.example/v1/alerts/a1.cap"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Threads(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("%d entries, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.ID != w.ID || g.Title != w.Title || g.MsgType != w.MsgType || !g.Updated.Equal(w.Updated) || g.CAPURL != w.CAPURL {
					t.Errorf("entry %d = %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func TestLastModified(t *testing.T) {
	tests := []struct {
		name string
		feed Feed
		want time.Time
	}{
		{"empty", Feed{}, time.Time{}},
		{"feed time only", Feed{Updated: t0}, t0},
		{"newest entry wins", Feed{Updated: t0, Entries: []Entry{entry("a", t0.Add(time.Hour)), entry("b", t0.Add(time.Minute))}}, t0.Add(time.Hour)},
		{"feed time after entries wins (an entry left)", Feed{Updated: t0.Add(2 * time.Hour), Entries: []Entry{entry("a", t0)}}, t0.Add(2 * time.Hour)},
		{"UTC, whole seconds", Feed{Updated: t0.In(time.FixedZone("X", -3600)).Add(1500 * time.Millisecond)}, t0.Add(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LastModified(tt.feed)
			if !got.Equal(tt.want) || !got.IsZero() && got.Location() != time.UTC {
				t.Errorf("LastModified = %v, want %v UTC", got, tt.want)
			}
		})
	}
}

func TestETag(t *testing.T) {
	base := sampleFeed()
	tag := ETag(base)
	if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(tag) {
		t.Fatalf("ETag = %s, want a quoted strong tag", tag)
	}
	sum := sha256.Sum256(render(t, base))
	if want := `"` + hex.EncodeToString(sum[:16]) + `"`; tag != want {
		t.Errorf("ETag = %s, want the hash of the rendered bytes %s", tag, want)
	}

	same := []struct {
		name string
		mod  func(*Feed)
	}{
		{"again", func(*Feed) {}},
		{"entries in another order", func(f *Feed) { slices.Reverse(f.Entries) }},
		{"same instants in another zone", func(f *Feed) { f.Updated = f.Updated.In(time.FixedZone("X", 7200)) }},
	}
	changed := []struct {
		name string
		mod  func(*Feed)
	}{
		{"entry removed", func(f *Feed) { f.Entries = f.Entries[1:] }},
		{"entry added", func(f *Feed) { f.Entries = append(f.Entries, entry("another", t0)) }},
		{"title edited", func(f *Feed) { f.Entries[0].Title += "!" }},
		{"summary edited", func(f *Feed) { f.Entries[0].Summary = "" }},
		{"feed updated later", func(f *Feed) { f.Updated = t0.Add(2 * time.Hour) }},
		{"entry updated", func(f *Feed) { f.Entries[0].Updated = f.Entries[0].Updated.Add(time.Second) }},
	}
	for _, tt := range same {
		t.Run("same/"+tt.name, func(t *testing.T) {
			f := sampleFeed()
			tt.mod(&f)
			if got := ETag(f); got != tag {
				t.Errorf("ETag = %s, want unchanged %s", got, tag)
			}
		})
	}
	for _, tt := range changed {
		t.Run("changed/"+tt.name, func(t *testing.T) {
			f := sampleFeed()
			tt.mod(&f)
			if got := ETag(f); got == tag || got == "" {
				t.Errorf("ETag = %s, want a new tag", got)
			}
		})
	}
}

func TestEntryID(t *testing.T) {
	// RFC 9562 appendix A.4: the version 5 UUID of www.example.com in the DNS namespace.
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got := hex.EncodeToString(func() []byte { u := uuid5(dns, "www.example.com"); return u[:] }()); got != "2ed6657de927568b95e12665a8aea6a2" {
		t.Errorf("uuid5 test vector = %s", got)
	}

	id := EntryID("aq3jx2")
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("EntryID = %s, want a version 5 urn:uuid", id)
	}
	if EntryID("aq3jx2") != id {
		t.Error("EntryID is not stable")
	}
	if EntryID("aq3jx3") == id {
		t.Error("EntryID of another alert is the same")
	}
}

// FuzzRender feeds alert text from officers' CAP into a feed: whatever it
// holds, the feed is well-formed XML that carries it back.
func FuzzRender(f *testing.F) {
	f.Add("Boil water", "Boil for 1 minute.", "https://x/a.cap")
	f.Add("a & <b> ]]>", "\x00\xff\r\n", "https://x/a.cap?a=1&b=\"2\"")
	f.Fuzz(func(t *testing.T, title, summary, capURL string) {
		feed := Feed{ID: "tag:x,2025:f", Title: title, Updated: t0, Entries: []Entry{{ID: "a", Title: title, Summary: summary, Updated: t0, CAPURL: capURL}}}
		var b bytes.Buffer
		err := Render(&b, feed)
		if title == "" || capURL == "" {
			if err == nil {
				t.Fatal("Render accepted a feed without a title or an entry without a CAP URL")
			}
			return
		}
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		var doc struct {
			Title string `xml:"title"`
			Entry struct {
				Title   string `xml:"title"`
				Summary string `xml:"summary"`
				Link    struct {
					Href string `xml:"href,attr"`
				} `xml:"link"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatalf("not XML: %v\n%s", err, b.Bytes())
		}
		if got, want := doc.Entry.Title, xmlSafe(title); got != want {
			t.Fatalf("title %q came back as %q", want, got)
		}
		if got, want := doc.Entry.Summary, xmlSafe(summary); got != want {
			t.Fatalf("summary %q came back as %q", want, got)
		}
		if got, want := doc.Entry.Link.Href, xmlSafe(capURL); got != want {
			t.Fatalf("href %q came back as %q", want, got)
		}
	})
}

// xmlSafe is s as XML can carry it: characters outside XML 1.0's Char range
// become U+FFFD, as encoding/xml writes them.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF {
			return r
		}
		return '\uFFFD'
	}, s)
}
