package keywords

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestTwiML(t *testing.T) {
	const decl = `<?xml version="1.0" encoding="UTF-8"?>`
	tests := []struct {
		name, text, want string
	}{
		{"plain", "You are subscribed.", decl + "<Response><Message>You are subscribed.</Message></Response>"},
		{"markup escaped", `a & b < c > d "e" 'f'`, decl + "<Response><Message>a &amp; b &lt; c &gt; d &#34;e&#34; &#39;f&#39;</Message></Response>"},
		{"no cdata or tag injection", "]]></Message><Redirect>x", decl + "<Response><Message>]]&gt;&lt;/Message&gt;&lt;Redirect&gt;x</Message></Response>"},
		{"spanish", "¿Qué? ñ", decl + "<Response><Message>¿Qué? ñ</Message></Response>"},
		{"newline kept as a reference", "a\nb", decl + "<Response><Message>a&#xA;b</Message></Response>"},
		{"control character replaced", "a\x00b", decl + "<Response><Message>a\uFFFDb</Message></Response>"},
		{"empty", "", decl + "<Response/>"},
		{"blank", " \n ", decl + "<Response/>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(TwiML(tt.text)); got != tt.want {
				t.Errorf("TwiML(%q) =\n%s\nwant\n%s", tt.text, got, tt.want)
			}
		})
	}
}

type response struct {
	XMLName  xml.Name `xml:"Response"`
	Messages []string `xml:"Message"`
}

// FuzzTwiML checks that any reply text comes back out of the XML unchanged,
// but for characters XML cannot carry.
func FuzzTwiML(f *testing.F) {
	for _, s := range []string{"hi", "a & <b>", "", "\r\n", "\x00\xff", "]]>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		out := TwiML(text)
		var r response
		if err := xml.Unmarshal(out, &r); err != nil {
			t.Fatalf("TwiML(%q) = %s: not XML: %v", text, out, err)
		}
		if strings.TrimSpace(text) == "" {
			if len(r.Messages) != 0 {
				t.Fatalf("TwiML(%q) has a message", text)
			}
			return
		}
		want := strings.Map(func(r rune) rune {
			if r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF {
				return r
			}
			return '\uFFFD'
		}, text)
		if len(r.Messages) != 1 || r.Messages[0] != want {
			t.Fatalf("TwiML(%q) carries %q, want [%q]", text, r.Messages, want)
		}
	})
}
