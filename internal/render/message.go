package render

import (
	"sort"
	"strings"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// prefixWords holds the words that mark anything other than a new Actual
// alert, by primary language subtag, then by the CAP status or msgType value
// they stand for (the two value sets do not overlap). Add a language here.
var prefixWords = map[string]map[string]string{
	"en": {string(cap.StatusExercise): "EXERCISE", string(cap.StatusTest): "TEST", string(cap.MsgUpdate): "UPDATE", string(cap.MsgCancel): "CANCELLED"},
	"es": {string(cap.StatusExercise): "SIMULACRO", string(cap.StatusTest): "PRUEBA", string(cap.MsgUpdate): "ACTUALIZACIÓN", string(cap.MsgCancel): "CANCELADO"},
}

// prefix returns the marker for a's status and msgType in lang, such as
// "EXERCISE UPDATE:", falling back to English; "" for an Actual Alert.
func prefix(a *cap.Alert, lang string) string {
	words, ok := prefixWords[primary(lang)]
	if !ok {
		words = prefixWords["en"]
	}
	var out []string
	for _, v := range []string{string(a.Status), string(a.MsgType)} {
		if w := words[v]; w != "" {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, " ") + ":"
}

// primary is the lower-cased primary language subtag of a BCP 47 tag.
func primary(tag string) string {
	p, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(p)
}

// Pieces of a message, in the order it shows them.
const (
	pPrefix = iota
	pHeadline
	pArea
	pInstruction
	pSender
	pTags
	nPieces
)

// piece is a part of a message that may be shortened, kept as words so that
// a cut always falls on a word boundary.
type piece struct {
	words []string
	keep  int  // leading words shown; fewer than len(words) is a cut
	plain bool // a cut shows no ellipsis (markers and hashtags are not prose)
}

func newPiece(s string) piece {
	w := strings.Fields(s) // also folds CAP's indented, multi-line text
	return piece{words: w, keep: len(w)}
}

func (p piece) text(ellipsis string) string {
	s := strings.Join(p.words[:p.keep], " ")
	if p.keep == len(p.words) || p.keep == 0 || p.plain {
		return s
	}
	return strings.TrimRight(s, ",;:.-") + ellipsis
}

// message is an alert's text for one reader before it is fitted to a channel.
type message struct {
	p    [nPieces]piece
	link string // never cut: it leads to the whole alert
	// sms lays the text out in order of importance: headline, instruction,
	// area, link, sender.
	sms bool
}

func newMessage(a *cap.Alert, in *cap.Info, lang, link string) *message {
	m := &message{link: link}
	if in != nil {
		lang = in.Lang()
		headline := in.Headline
		if headline == "" {
			headline = in.Event
		}
		descs := make([]string, 0, len(in.Area))
		for _, ar := range in.Area {
			if d := strings.TrimSpace(ar.AreaDesc); d != "" {
				descs = append(descs, d)
			}
		}
		m.p[pHeadline] = newPiece(headline)
		m.p[pArea] = newPiece(strings.Join(descs, "; "))
		m.p[pInstruction] = newPiece(in.Instruction)
		m.p[pSender] = newPiece(in.SenderName)
	}
	m.p[pPrefix] = newPiece(prefix(a, lang))
	m.p[pPrefix].plain = true
	return m
}

// text lays the message out one part a line, which reads well on a phone
// and costs no more than a space.
func (m *message) text(ellipsis string) string {
	t := func(i int) string { return m.p[i].text(ellipsis) }
	sender := t(pSender)
	if sender != "" {
		sender = "- " + sender
	}
	lines := []string{
		strings.TrimSpace(t(pPrefix) + " " + t(pHeadline)),
		t(pArea), t(pInstruction), sender, m.link, t(pTags),
	}
	if m.sms {
		lines = []string{strings.TrimSpace(t(pPrefix) + " " + t(pHeadline)), t(pInstruction), t(pArea), m.link, sender}
	}
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return b.String()
}

// fit shortens the pieces in order until fits accepts the rendered text.
// Each piece keeps as many leading words as fit, and is dropped only if none
// do, before the next piece is touched. If nothing but the link remains and
// it still does not fit, the link is returned anyway.
func (m *message) fit(order []int, render func() string, fits func(string) bool) string {
	s := render()
	for _, i := range order {
		if fits(s) {
			return s
		}
		p := &m.p[i]
		// Binary search is sound because keeping more words never shortens
		// the text, nor turns UCS-2 back into the denser GSM-7.
		p.keep = sort.Search(len(p.words), func(k int) bool {
			p.keep = k + 1
			return !fits(render())
		})
		s = render()
	}
	return s
}
