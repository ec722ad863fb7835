package keywords

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// TwiMLContentType is the Content-Type of a TwiML response.
const TwiMLContentType = "application/xml; charset=utf-8"

const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>`

// TwiML returns the response to Twilio's inbound-message webhook that
// replies with text. Blank text gives an empty <Response/>, which
// acknowledges the message and sends no reply rather than a blank one.
// Characters XML cannot carry become U+FFFD.
func TwiML(text string) []byte {
	if strings.TrimSpace(text) == "" {
		return []byte(xmlDecl + "<Response/>")
	}
	var b bytes.Buffer
	b.Grow(len(xmlDecl) + len(text) + 40)
	b.WriteString(xmlDecl + "<Response><Message>")
	xml.EscapeText(&b, []byte(text)) // writes to a bytes.Buffer cannot fail
	b.WriteString("</Message></Response>")
	return b.Bytes()
}
