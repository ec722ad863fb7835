package test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// text sends an inbound SMS as Twilio would (signed), returning status and
// the TwiML reply.
// inboundSeq makes each inbound message's MessageSid unique, as Twilio's are.
var inboundSeq atomic.Int64

func (f *fakes) text(t *testing.T, from, body string, sign func(u string, form url.Values) string) (int, string) {
	t.Helper()
	return f.textSID(t, fmt.Sprintf("SM%032d", inboundSeq.Add(1)), from, body, sign)
}

// textSID delivers one inbound message with the given MessageSid.
func (f *fakes) textSID(t *testing.T, sid, from, body string, sign func(u string, form url.Values) string) (int, string) {
	t.Helper()
	form := url.Values{"From": {from}, "To": {"+12065550000"}, "Body": {body}, "MessageSid": {sid}}
	req, _ := http.NewRequest(http.MethodPost, f.HTTPURL()+"/v1/sms/inbound", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig := sign(f.PublicURL()+"/v1/sms/inbound", form); sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func validSig(u string, form url.Values) string { return twilioSignature("testauthtoken0123", u, form) }

func TestInboundKeywordsEndToEnd(t *testing.T) {
	f := startDelivering(t, nil)
	const phone = "+12065550111"

	// Signatures are checked before anything changes.
	for name, sign := range map[string]func(string, url.Values) string{
		"missing":     func(string, url.Values) string { return "" },
		"wrong token": func(u string, form url.Values) string { return twilioSignature("other", u, form) },
		"wrong URL": func(_ string, form url.Values) string {
			return twilioSignature("testauthtoken0123", "https://evil.example/v1/sms/inbound", form)
		},
	} {
		if code, _ := f.text(t, phone, "JOIN 98108", sign); code != http.StatusForbidden {
			t.Errorf("%s signature: %d, want 403", name, code)
		}
	}

	// JOIN with a ZIP subscribes at the ZIP's centroid (98108: Beacon Hill/Georgetown, inside the test polygon).
	before := f.IndexedResidents()
	code, reply := f.text(t, phone, " join 98108 ", validSig)
	if code != 200 || !strings.Contains(reply, "<Response><Message>") || !strings.Contains(reply, "98108") {
		t.Fatalf("JOIN: %d %s", code, reply)
	}
	// The planner sees the new resident once its index has followed the
	// store (milliseconds; longer on a loaded machine).
	within(t, 10*time.Second, "resident indexed", func() bool { return f.IndexedResidents() > before })
	if _, reply := f.text(t, "+12065550112", "JOIN 00000", validSig); !strings.Contains(reply, "not found") {
		t.Errorf("unknown ZIP reply: %s", reply)
	}
	if _, reply := f.text(t, "+12065550112", "JOIN", validSig); !strings.Contains(reply, "ZIP") {
		t.Errorf("JOIN without ZIP reply: %s", reply)
	}
	if _, reply := f.text(t, phone, "HELP", validSig); !strings.Contains(reply, "STOP") {
		t.Errorf("HELP reply: %s", reply)
	}
	if _, reply := f.text(t, phone, "LANG es", validSig); !strings.Contains(reply, "es") {
		t.Errorf("LANG reply: %s", reply)
	}

	publishAndCount := func() int {
		t.Helper()
		acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
		if err != nil {
			t.Fatal(err)
		}
		f.waitDone(t, acc.ID)
		return countTo(f.twilio.messages(), acc.ID, phone)
	}
	if n := publishAndCount(); n != 1 {
		t.Fatalf("subscribed resident got %d SMS", n)
	}
	// The resident reads Spanish now: the opt-out word is theirs, and so
	// is the reply.
	if _, reply := f.text(t, phone, "Alto.", validSig); !strings.Contains(reply, "baja confirmada") || !strings.Contains(reply, "INICIO") {
		t.Errorf("ALTO reply: %s", reply)
	}
	if n := publishAndCount(); n != 0 {
		t.Fatalf("after STOP the resident got %d SMS", n)
	}
	if _, reply := f.text(t, phone, "INICIO", validSig); !strings.Contains(reply, "de nuevo") {
		t.Errorf("INICIO reply: %s", reply)
	}
	// A number Herald does not know, writing in Spanish, is answered in
	// Spanish; a language without texts is named as such, with the list.
	if _, reply := f.text(t, "+12065550113", "¡Ayuda!", validSig); !strings.Contains(reply, "Alertas de salud") {
		t.Errorf("AYUDA reply: %s", reply)
	}
	if _, reply := f.text(t, phone, "LANG hmn", validSig); !strings.Contains(reply, "hmn") || !strings.Contains(reply, "en, es") {
		t.Errorf("LANG hmn reply: %s", reply)
	}
	within(t, 5*time.Second, "resubscription seen", func() bool {
		p, _, err := f.Client.Preview(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
		return err == nil && p.Recipients["sms"] == 1
	})
	if n := publishAndCount(); n != 1 {
		t.Fatalf("after START the resident got %d SMS", n)
	}
}

func TestAtomFeeds(t *testing.T) {
	f := startDelivering(t, nil)
	get := func(path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, f.HTTPURL()+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	parse := func(body string) *gofeed.Feed {
		t.Helper()
		feed, err := gofeed.NewParser().ParseString(body)
		if err != nil {
			t.Fatalf("feed does not parse: %v\n%s", err, body)
		}
		return feed
	}
	if resp, _ := get("/v1/feeds/us-county-99999.atom", nil); resp.StatusCode != 404 {
		t.Errorf("unknown region: %d", resp.StatusCode)
	}

	first := newAlert(t, alertSpec{})
	acc1, _, err := f.Client.Publish(ctxT(t), f.King.Key, first)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // distinct accepted times, to check the order
	acc2, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get("/v1/feeds/"+king+".atom", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("feed: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	feed := parse(body)
	if len(feed.Items) != 2 || !strings.Contains(feed.Items[0].Link, acc2.ID) || !strings.Contains(feed.Items[1].Link, acc1.ID) {
		t.Fatalf("feed items (want newest first) = %v", itemLinks(feed))
	}
	if feed.Items[0].Title != "Boil water before drinking – Public Health" || !strings.HasSuffix(feed.Items[0].Link, ".cap") {
		t.Errorf("entry = %q %q", feed.Items[0].Title, feed.Items[0].Link)
	}
	if _, other := get("/v1/feeds/"+pierce+".atom", nil); len(parse(other).Items) != 0 {
		t.Error("Pierce feed lists King alerts")
	}
	if _, all := get("/v1/feeds/all.atom", nil); len(parse(all).Items) != 2 {
		t.Error("all.atom lacks the alerts")
	}

	// ETag and Last-Modified make pollers cheap.
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if r, _ := get("/v1/feeds/"+king+".atom", map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", r.StatusCode)
	}
	if r, _ := get("/v1/feeds/"+king+".atom", map[string]string{"If-Modified-Since": lm}); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d, want 304", r.StatusCode)
	}

	// A Cancel keeps the alert listed, marked cancelled, under the same
	// entry id, with a later updated time; the ETag changes.
	firstID := feed.Items[1].GUID
	if _, _, err := f.Client.Publish(ctxT(t), f.King.Key, cancelFor(t, first)); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "cancelled alert marked in the feed", func() bool {
		_, body := get("/v1/feeds/"+king+".atom", nil)
		for _, it := range parse(body).Items {
			if it.GUID == firstID {
				return strings.HasPrefix(it.Title, "CANCELLED: ") && it.UpdatedParsed != nil && it.UpdatedParsed.After(*feed.Items[1].UpdatedParsed)
			}
		}
		return false
	})
	if r, _ := get("/v1/feeds/"+king+".atom", map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusOK {
		t.Errorf("stale ETag after cancel: %d, want 200", r.StatusCode)
	}

	// An Update replaces the content of the alert it updates under the
	// same entry id: readers that keep items by id show the new text.
	secondID := feed.Items[0].GUID
	a, _ := cap.Parse(newAlert(t, alertSpec{}))
	orig, _ := cap.Parse(mustCAP(t, f, acc2.ID))
	a.MsgType = cap.MsgUpdate
	a.References = orig.Sender + "," + orig.Identifier + "," + orig.Sent
	a.Info[0].Headline = "Boil water advisory extended"
	upd := publishCAP(t, f, a)
	_, body = get("/v1/feeds/"+king+".atom", nil)
	items := parse(body).Items
	if len(items) != 2 || items[0].GUID != secondID || !strings.Contains(items[0].Link, upd.ID) || items[0].Title != "Boil water advisory extended – Public Health" {
		t.Errorf("after update: %v", itemLinks(parse(body)))
	}

	// An empty feed parses and says when it was last updated, not 1970.
	_, empty := get("/v1/feeds/"+pierce+".atom", nil)
	ef := parse(empty)
	if len(ef.Items) != 0 || ef.UpdatedParsed == nil || ef.UpdatedParsed.Year() < 2020 {
		t.Errorf("empty feed updated %v", ef.Updated)
	}
}

func mustCAP(t *testing.T, f *fakes, id string) []byte {
	b, err := f.Client.CAP(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itemLinks(f *gofeed.Feed) []string {
	var out []string
	for _, it := range f.Items {
		out = append(out, it.Title+" "+it.Link)
	}
	return out
}
