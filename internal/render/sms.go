package render

import (
	"strings"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// Default SMS budgets, in segments per encoding: about 300 characters of
// text in either (GSM-7 2 x 153 = 306; UCS-2 5 x 67 = 335), so a reader
// whose language needs UCS-2 (one "ó" is enough) gets the same parts of
// the alert as an English reader.
const (
	DefaultGSM7Segments = 2
	DefaultUCS2Segments = 5
)

// IPAWS parameters that carry the officer's own short texts for phones
// (WEA): CMAMtext at most 90 characters, CMAMlongtext at most 360.
const (
	ParamCMAMText     = "CMAMtext"
	ParamCMAMLongText = "CMAMlongtext"
)

// SMSOptions shapes an SMS.
type SMSOptions struct {
	// Link is the short link to the alert's page for people.
	Link string
	// GSM7Segments and UCS2Segments are the budget for a text in each
	// encoding; 0 means the default.
	GSM7Segments, UCS2Segments int
	// Repeat lists texts not to repeat: a Cancel's copy of the original
	// alert's instruction and description (the original's words must not
	// reach anyone under "CANCELLED").
	Repeat []string
}

// SMSText is a rendered SMS and what it cost.
type SMSText struct {
	Text     string   `json:"text"`
	Encoding string   `json:"encoding"` // GSM-7 or UCS-2
	Segments int      `json:"segments"`
	Cut      []string `json:"cut"` // the parts shortened or dropped: sender, area, instruction
}

// SMS returns the text of RenderSMS.
func SMS(a *cap.Alert, lang string, opt SMSOptions) string { return RenderSMS(a, lang, opt).Text }

// RenderSMS returns the text message telling a resident who reads lang
// (BCP 47) about a, from the alert's info in that language, else the
// first. In order of importance, one a line: a marker when it is not a new
// Actual alert ("EXERCISE:", "UPDATE:", "CANCELLED:", in the info's
// language) with the headline (else the event) whole; the instruction (for
// a Cancel, its own description or instruction, never the original's);
// the area description; the link; "- " and the sender name. When the
// info carries the IPAWS CMAMlongtext (or CMAMtext), that is the text, in
// place of headline, instruction and area: the officer wrote it for phones.
//
// The text fits the budget of its encoding: the sender is shortened or
// dropped first, then the area, then the end of the instruction, each at a
// word boundary with an ellipsis. The marker, the headline and the link
// are never cut. Punctuation that GSM-7 lacks but writes faithfully
// (curly quotes, dashes, ellipsis, non-breaking spaces) is written in
// GSM-7; accented letters of the language stay as they are.
func RenderSMS(a *cap.Alert, lang string, opt SMSOptions) SMSText {
	gsm, ucs := opt.GSM7Segments, opt.UCS2Segments
	if gsm <= 0 {
		gsm = DefaultGSM7Segments
	}
	if ucs <= 0 {
		ucs = DefaultUCS2Segments
	}
	in := a.InfoFor(lang)
	var src *cap.Info
	if in != nil {
		c := *in
		c.Headline, c.Event, c.Instruction, c.Description, c.SenderName =
			gsmFriendly(c.Headline), gsmFriendly(c.Event), gsmFriendly(c.Instruction), gsmFriendly(c.Description), gsmFriendly(c.SenderName)
		c.Area = append([]cap.Area(nil), c.Area...)
		for i := range c.Area {
			c.Area[i].AreaDesc = gsmFriendly(c.Area[i].AreaDesc)
		}
		if a.MsgType == cap.MsgCancel {
			// The Cancel's own words, if it has any, replace the
			// instruction; a copy of the original's never shows.
			own := ""
			for _, t := range []string{c.Instruction, c.Description} {
				if t != "" && !repeats(t, opt.Repeat) {
					own = t
					break
				}
			}
			c.Instruction = own
		}
		src = &c
	}
	m := newMessage(a, src, lang, opt.Link)
	m.sms = true
	if src != nil {
		if short := cmamText(src); short != "" {
			m.p[pHeadline] = newPiece(short)
			m.p[pInstruction], m.p[pArea] = piece{}, piece{}
		}
	}
	render := func() string {
		// "…" is not GSM-7: in a GSM-7 text it would switch the whole message
		// to UCS-2 and more than halve what fits.
		t := m.text("...")
		if !IsGSM7(t) {
			t = m.text("…")
		}
		return t
	}
	fits := func(t string) bool {
		n, enc := Segments(t)
		if enc == GSM7 {
			return n <= gsm
		}
		return n <= ucs
	}
	text := m.fit([]int{pSender, pArea, pInstruction}, render, fits)
	n, enc := Segments(text)
	out := SMSText{Text: text, Encoding: enc.String(), Segments: n, Cut: []string{}}
	for _, p := range []struct {
		name string
		i    int
	}{{"sender", pSender}, {"area", pArea}, {"instruction", pInstruction}} {
		if pc := m.p[p.i]; pc.keep < len(pc.words) {
			out.Cut = append(out.Cut, p.name)
		}
	}
	return out
}

// cmamText is the info's IPAWS text for phones: CMAMlongtext, else
// CMAMtext, else "".
func cmamText(in *cap.Info) string {
	var short string
	for _, p := range in.Parameter {
		switch p.ValueName {
		case ParamCMAMLongText:
			if v := strings.TrimSpace(p.Value); v != "" {
				return gsmFriendly(v)
			}
		case ParamCMAMText:
			short = gsmFriendly(strings.TrimSpace(p.Value))
		}
	}
	return short
}

// repeats reports whether t is one of texts, whitespace aside.
func repeats(t string, texts []string) bool {
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, x := range texts {
		if norm(x) == norm(t) && norm(t) != "" {
			return true
		}
	}
	return false
}

// gsmFaithful maps punctuation GSM-7 lacks to the GSM-7 it stands for.
var gsmFaithful = strings.NewReplacer(
	"‘", "'", "’", "'", "‚", "'", "‛", "'", "′", "'",
	"“", `"`, "”", `"`, "„", `"`, "″", `"`,
	"–", "-", "—", "-", "‒", "-", "―", "-", "−", "-", "‐", "-", "‑", "-",
	"…", "...",
	"\u00a0", " ", "\u2009", " ", "\u202f", " ", "\u2007", " ",
)

// gsmFriendly writes s's punctuation in GSM-7 where that is faithful.
func gsmFriendly(s string) string { return gsmFaithful.Replace(s) }
