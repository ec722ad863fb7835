package render

import "github.com/herald-alerts/herald/broadcaster/cap"

// SMSOptions shapes an SMS.
type SMSOptions struct {
	Link        string // URL of the alert's CAP XML (GET /v1/alerts/{id}.cap)
	MaxSegments int    // at most this many segments; 0 means 2
}

// SMS returns the text message telling a resident who reads lang (BCP 47)
// about a. It uses the alert's info in that language, else the first info,
// and shows, one a line: a marker for anything but a new Actual alert
// ("EXERCISE:", "UPDATE:", in the info's language), the headline (else the
// event), the area descriptions, the instruction, "- " and the sender name,
// and the link.
//
// The text fits in opt.MaxSegments segments: the instruction is cut first,
// then the area, then the headline, each at a word boundary with an
// ellipsis. The marker, sender and link are kept unless even they do not
// fit, and the link is never cut.
func SMS(a *cap.Alert, lang string, opt SMSOptions) string {
	limit := opt.MaxSegments
	if limit <= 0 {
		limit = 2
	}
	m := newMessage(a, a.InfoFor(lang), lang, opt.Link)
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
		n, _ := Segments(t)
		return n <= limit
	}
	return m.fit([]int{pInstruction, pArea, pHeadline, pSender, pPrefix}, render, fits)
}
