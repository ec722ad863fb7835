package test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// TestBilingualAlertReadsWell: a bilingual measles alert through the fake
// Twilio. Each Spanish reader's SMS holds the Spanish headline and the
// whole instruction, and its link opens the page for people, in Spanish;
// the English reader's likewise in English. A Restricted alert has no page.
func TestBilingualAlertReadsWell(t *testing.T) {
	f := startDelivering(t, nil)
	f.importResidents(t, []resident{
		{"+12065550301", "es-US", 47.555, -122.31},
		{"+12065550302", "es", 47.556, -122.31},
		{"+12065550303", "en", 47.557, -122.31},
	}, "")
	a := baseAlert(t)
	en := a.Info[0]
	en.Headline = "Measles exposure at Sea-Tac Airport and a Bellevue clinic"
	en.Instruction = "If you were at Sea-Tac Airport Concourse B on Nov 28 from 1 to 5 p.m. and are not vaccinated, call your doctor before going in."
	en.SenderName = "Public Health – Seattle & King County"
	es := en
	es.Language = "es-US"
	es.Headline = "Exposición al sarampión en el aeropuerto Sea-Tac y una clínica de Bellevue"
	es.Instruction = "Si estuvo en el Concourse B del aeropuerto Sea-Tac el 28 de nov. de 1 a 5 p.m. y no está vacunado, llame a su médico antes de ir."
	es.SenderName = "Salud Pública de Seattle y el Condado de King"
	a.Info = []cap.Info{en, es}
	acc := publishCAP(t, f, a)
	within(t, 15*time.Second, "three SMS", func() bool { return len(sentTo(f.twilio.messages(), acc.ID)) == 3 })
	got := sentTo(f.twilio.messages(), acc.ID)
	link := regexp.MustCompile(`https?://\S+/a/\S+`)
	for phone, want := range map[string][]string{
		"+12065550301": {es.Headline, es.Instruction},
		"+12065550302": {es.Headline, es.Instruction},
		"+12065550303": {en.Headline, en.Instruction},
	} {
		text := got[phone]
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s's SMS lacks %q:\n%s", phone[:8], w, text)
			}
		}
		u := link.FindString(text)
		if u == "" {
			t.Fatalf("no page link in\n%s", text)
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s", u, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(string(body), "<h1>"+htmlEscape(want[0])+"</h1>") {
			t.Errorf("%s does not open the page in the reader's language", u)
		}
	}

	// Restricted alerts have no public page.
	r := baseAlert(t)
	r.Scope, r.Restriction = cap.ScopeRestricted, "Hospitals"
	racc := publishCAP(t, f, r)
	resp, err := http.Get(f.HTTPURL() + "/a/" + racc.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("Restricted alert page: %d, want 404", resp.StatusCode)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// TestPreviewShowsTheWords: an officer sees, before sending, the Spanish
// SMS a Spanish reader would get, its encoding and segments, and the post.
func TestPreviewShowsTheWords(t *testing.T) {
	f := startDelivering(t, nil)
	a := baseAlert(t)
	es := a.Info[0]
	es.Language, es.Headline, es.Instruction = "es-US", "Hierva el agua antes de beberla", "Hierva el agua del grifo un minuto. Información: 206-555-0100."
	a.Info = append(a.Info, es)
	p, _, err := f.Client.Preview(ctxT(t), f.King.Key, marshal(t, a))
	if err != nil {
		t.Fatal(err)
	}
	var sawES, sawSocial bool
	for _, tx := range p.Texts {
		switch {
		case tx.Channel == "sms" && tx.Language == "es-US":
			sawES = true
			if !strings.Contains(tx.Text, es.Headline) || !strings.Contains(tx.Text, es.Instruction) || tx.Encoding != "UCS-2" || tx.Segments < 1 {
				t.Errorf("Spanish SMS preview = %+v", tx)
			}
		case tx.Channel == "social":
			sawSocial = tx.Limit == 500 && tx.Characters > 0 && tx.Characters <= 500
		}
	}
	if !sawES || !sawSocial {
		t.Errorf("preview texts = %+v", p.Texts)
	}
}
