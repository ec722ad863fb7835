package render

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// mastodonURLLength is what Mastodon counts for any URL, however long.
const mastodonURLLength = 23

// Hashtags returns the hashtags for a post about event in the named regions:
// the extra (configured) tags first, then the event's, then each region's.
// Each is "#" and the PascalCase of its words with accents kept and
// punctuation dropped ("King County, WA" -> "#KingCountyWA"); extra tags may
// be given with or without "#". Tags without a letter are dropped, since
// Mastodon does not link them, as are case-insensitive repeats.
func Hashtags(event string, regionNames []string, extra []string) []string {
	var tags []string
	seen := make(map[string]bool)
	add := func(s string) {
		t := hashtag(s)
		if t == "" || seen[strings.ToLower(t)] {
			return
		}
		seen[strings.ToLower(t)] = true
		tags = append(tags, t)
	}
	for _, s := range extra {
		add(s)
	}
	add(event)
	for _, s := range regionNames {
		add(s)
	}
	return tags
}

// hashtag makes one tag of s; "" if s has no letter.
func hashtag(s string) string {
	var b strings.Builder
	b.WriteByte('#')
	upper, letter := true, false
	for _, r := range s {
		switch {
		case r == '\'' || r == '’':
			// An apostrophe joins: "Children's" is one word, not "ChildrenS".
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if upper {
				// Capitals mark word breaks, so screen readers can say the tag.
				r, upper = unicode.ToTitle(r), false
			}
			letter = letter || unicode.IsLetter(r)
			b.WriteRune(r)
		default:
			upper = true
		}
	}
	if !letter {
		return ""
	}
	return b.String()
}

// SocialOptions shapes a social status.
type SocialOptions struct {
	Link     string   // URL of the alert; never cut
	Hashtags []string // as returned by Hashtags
	MaxChars int      // 0 means 500, Mastodon's default limit
	// Lang picks the info (and the marker's language); "" the first.
	Lang string
	// Length measures a post as the network counts it against MaxChars;
	// nil is Mastodon's count (SocialLength). Bluesky counts Graphemes.
	Length func(string) int
}

// BlueskyLimit is the longest Bluesky post, in graphemes.
const BlueskyLimit = 300

// Graphemes is text's length as Bluesky counts it: user-perceived
// characters (a flag or a family emoji is one).
func Graphemes(text string) int { return uniseg.GraphemeClusterCount(text) }

// Social returns a status about a for a social network, from its info in
// opt.Lang (the first when "" or absent):
// the marker and headline, the area descriptions, the instruction, the
// sender, the link and, on the last line, the hashtags.
//
// It fits opt.MaxChars as opt.Length counts (by default as Mastodon does:
// characters, with every URL counting 23). The instruction and then the area are cut first, at word
// boundaries with an ellipsis, then trailing hashtags are dropped; the link
// is never cut.
func Social(a *cap.Alert, opt SocialOptions) string {
	limit := opt.MaxChars
	if limit <= 0 {
		limit = 500
	}
	// Text from the alert is made inert: only the alert's own link and the
	// hashtags Herald adds are active on the network.
	var in *cap.Info
	if src := a.InfoFor(opt.Lang); src != nil {
		c := *src
		c.Headline, c.Event, c.Instruction, c.SenderName = Inert(c.Headline), Inert(c.Event), Inert(c.Instruction), Inert(c.SenderName)
		c.Area = append([]cap.Area(nil), c.Area...)
		for i := range c.Area {
			c.Area[i].AreaDesc = Inert(c.Area[i].AreaDesc)
		}
		in = &c
	}
	m := newMessage(a, in, opt.Lang, opt.Link)
	var tags []string
	for _, t := range opt.Hashtags {
		if t != "" && !strings.HasPrefix(t, "#") {
			t = "#" + t
		}
		tags = append(tags, strings.Fields(t)...)
	}
	m.p[pTags] = piece{words: tags, keep: len(tags), plain: true}
	render := func() string { return m.text("…") }
	length := opt.Length
	if length == nil {
		length = socialLen
	}
	fits := func(t string) bool { return length(t) <= limit }
	return m.fit([]int{pInstruction, pArea, pTags, pHeadline, pSender, pPrefix}, render, fits)
}

// wordJoiner (U+2060, invisible) breaks the patterns networks turn into
// mentions, hashtags and links without changing what a reader sees.
const wordJoiner = "\u2060"

// inertPattern finds what a network would make active: "@name" (a
// mention), "#word" (a hashtag) and "scheme://" (a link).
var inertPattern = regexp.MustCompile(`[@#＠＃]([\p{L}\p{N}_])|([a-zA-Z][a-zA-Z0-9+.-]*:)(//)`)

// Inert returns s with every mention, hashtag and link broken by an
// invisible word joiner, so text written in an alert cannot mention an
// account, add a hashtag or post a link the officer did not intend.
func Inert(s string) string {
	return inertPattern.ReplaceAllStringFunc(s, func(m string) string {
		if i := strings.Index(m, "//"); i > 0 {
			return m[:i] + wordJoiner + m[i:]
		}
		r, size := utf8.DecodeRuneInString(m)
		return string(r) + wordJoiner + m[size:]
	})
}

// SocialLength is text's length as Mastodon counts it (links as 23).
func SocialLength(text string) int { return socialLen(text) }

// SocialLimit is Mastodon's default post length.
const SocialLimit = 500

// socialLen is text's length as Mastodon counts it. It takes a URL to be a
// whitespace-delimited http(s) word, which is how Herald writes links.
func socialLen(text string) int {
	n := utf8.RuneCountInString(text)
	for _, f := range strings.Fields(text) {
		if strings.HasPrefix(f, "https://") || strings.HasPrefix(f, "http://") {
			n += mastodonURLLength - utf8.RuneCountInString(f)
		}
	}
	return n
}
