package test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/render"
)

const adminToken = "test-admin-token-0123456789"

// fakes is a Herald wired to a fake Twilio, a fake Mastodon and a real
// hospital webhook receiver.
type fakes struct {
	*herald
	twilio   *fakeTwilio
	mastodon *fakeMastodon
}

func startDelivering(t *testing.T, edit func(*config.Config)) *fakes {
	t.Helper()
	f := &fakes{twilio: newFakeTwilio(t), mastodon: newFakeMastodon(t)}
	f.herald = startHerald(t, setup{
		edit: func(c *config.Config) {
			c.HTTP.AdminToken = adminToken
			c.SMS.Provider = "twilio"
			c.SMS.RatePerSecond = 500
			c.Twilio.AccountSID = "AC00000000000000000000000000000000"
			c.Twilio.AuthToken = "testauthtoken0123"
			c.Twilio.MessagingServiceSID = "MG00000000000000000000000000000000"
			c.Twilio.APIBaseURL = f.twilio.URL
			c.Webhooks.AllowPrivateAddresses = true // the receivers are on loopback
			c.Social.Mastodon.Server = f.mastodon.URL
			c.Social.Mastodon.AccessToken = "test-mastodon-token"
			// Short backoffs keep retry tests quick; the policy is the same code.
			quick := config.Retry{Base: 50 * time.Millisecond, Max: 200 * time.Millisecond, MaxAttempts: 5, MaxAge: time.Minute}
			c.Retry = config.Retries{SMS: quick, Webhook: quick, Social: quick}
			if edit != nil {
				edit(c)
			}
		},
	})
	f.Client.Token = adminToken
	return f
}

type resident struct {
	phone, lang string
	lat, lon    float64
}

func (f *fakes) importResidents(t *testing.T, rs []resident, extra string) client.Error {
	t.Helper()
	var b strings.Builder
	b.WriteString("phone,lat,lon,language\n")
	for _, r := range rs {
		b.WriteString(r.phone + "," + ftoa(r.lat) + "," + ftoa(r.lon) + "," + r.lang + "\n")
	}
	b.WriteString(extra)
	before := f.IndexedResidents()
	raw, err := f.Client.Upload(ctxT(t), "/v1/subscribers/import", "text/csv", []byte(b.String()))
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	var res struct {
		Imported int `json:"imported"`
		Rejected []struct {
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"rejected"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.Imported != len(rs) {
		t.Fatalf("imported %d, want %d (%s)", res.Imported, len(rs), raw)
	}
	// The planner's index follows the store: wait until it has them, or
	// an alert published at once would miss the last ones.
	within(t, 10*time.Second, "residents indexed", func() bool { return f.IndexedResidents() >= before+len(rs) })
	return client.Error{Raw: raw}
}

func ftoa(f float64) string { b, _ := json.Marshal(f); return string(b) }

func (f *fakes) addWebhook(t *testing.T, url string, regions ...string) (id, secret string) {
	t.Helper()
	raw, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/webhooks", map[string]any{"url": url, "regions": regions})
	if err != nil {
		t.Fatalf("add webhook: %v", err)
	}
	var res struct{ ID, Secret string }
	_ = json.Unmarshal(raw, &res)
	if !strings.HasPrefix(res.Secret, "whsec_") {
		t.Fatalf("secret %q lacks whsec_", res.Secret)
	}
	return res.ID, res.Secret
}

func (f *fakes) deliveries(t *testing.T, id string) deliveries.Summary {
	t.Helper()
	raw, err := f.Client.Get(ctxT(t), "/v1/alerts/"+id+"/deliveries")
	if err != nil {
		t.Fatalf("deliveries: %v", err)
	}
	var s deliveries.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fakes) waitDone(t *testing.T, id string) deliveries.Summary {
	t.Helper()
	return f.waitDoneWithin(t, id, 15*time.Second)
}

func (f *fakes) waitDoneWithin(t *testing.T, id string, d time.Duration) deliveries.Summary {
	t.Helper()
	var s deliveries.Summary
	within(t, d, "deliveries done", func() bool {
		s = f.deliveries(t, id)
		return s.Done
	})
	return s
}

// borderPoints finds, along a meridian, the King/Pierce county line and
// returns points 150 m north (King) and south (Pierce) of it.
func borderPoints(t *testing.T) (north, south orb.Point) {
	reg := sharedRegions(t)
	lon := -122.29
	prev := ""
	for lat := 47.35; lat > 47.15; lat -= 0.0001 {
		rs := reg.Locate(orb.Point{lon, lat})
		cur := ""
		if len(rs) == 1 {
			cur = rs[0].ID
		}
		if prev == king && cur == pierce {
			return orb.Point{lon, lat + 0.0001 + 0.00135}, orb.Point{lon, lat - 0.00135}
		}
		prev = cur
	}
	t.Fatal("King/Pierce line not found")
	return
}

func TestDeliveryEndToEnd(t *testing.T) {
	f := startDelivering(t, nil)
	north, south := borderPoints(t)
	rs := []resident{
		{"+12065550101", "en", 47.55, -122.31},         // inside the Seattle polygon
		{"+12065550102", "es-US", 47.56, -122.30},      // inside, reads Spanish
		{"+12065550103", "en", 47.62, -122.33},         // King County, outside the polygon
		{"+12535550104", "en", 47.25, -122.44},         // Tacoma
		{"+12065550105", "", north.Lat(), north.Lon()}, // King side of the county line
		{"+12535550106", "", south.Lat(), south.Lon()}, // Pierce side
	}
	f.importResidents(t, rs, "not-a-phone,47.5,-122.3,en\n")
	kingRx, pierceRx := newReceiver(t), newReceiver(t)
	_, kingRx.secret = f.addWebhook(t, kingRx.URL, king)
	_, pierceRx.secret = f.addWebhook(t, pierceRx.URL, pierce)

	t.Run("polygon alert reaches exactly the residents inside", func(t *testing.T) {
		acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
		if err != nil {
			t.Fatal(err)
		}
		s := f.waitDone(t, acc.ID)
		got := sentTo(f.twilio.messages(), acc.ID)
		if len(got) != 2 || got["+12065550101"] == "" || got["+12065550102"] == "" {
			t.Fatalf("SMS went to %v, want exactly the two residents inside", keys(got))
		}
		if c := s.Channels["sms"]; c.Sent != 2 || c.Failed != 0 || c.Queued != 0 {
			t.Errorf("sms counts %+v, want 2 sent", c)
		}
		if c := s.Channels["webhook"]; c.Delivered != 1 || c.Sent != 0 {
			t.Errorf("webhook counts %+v, want 1 delivered (the endpoint answered 2xx)", c)
		}
		if c := s.Channels["social"]; c.Sent != 1 {
			t.Errorf("social counts %+v, want 1 sent", c)
		}
		for _, m := range f.twilio.messages() {
			if m.Service == "" || !strings.Contains(m.Callback, "/v1/sms/status?d="+acc.ID+".sms.") {
				t.Errorf("twilio request lacks messaging service or status callback: %+v", m)
			}
		}
		delivered, _, bad := kingRx.got()
		if bad != 0 || len(delivered) != 1 || delivered[0].Payload["type"] != "alert.published" || delivered[0].Payload["alert_id"] != acc.ID {
			t.Errorf("King hospital got %+v (%d bad signatures)", delivered, bad)
		}
		if d, _, _ := pierceRx.got(); len(d) != 0 {
			t.Errorf("Pierce hospital got a King alert")
		}
		posts := f.mastodon.posts()
		if len(posts) != 1 || !strings.Contains(posts[0].Text, "#HealthAlert") || !strings.Contains(posts[0].Text, "#KingCountyWA") {
			t.Errorf("mastodon posts = %+v", posts)
		}
	})

	t.Run("county geocode: residents on both sides of the line", func(t *testing.T) {
		body := geocodeAlert(t, "SAME", "053033")
		acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, body)
		if err != nil {
			t.Fatal(err)
		}
		f.waitDone(t, acc.ID)
		got := sentTo(f.twilio.messages(), acc.ID)
		for _, want := range []string{"+12065550101", "+12065550102", "+12065550103", "+12065550105"} {
			if got[want] == "" {
				t.Errorf("King resident %s missed the county alert", want[len(want)-4:])
			}
		}
		for _, not := range []string{"+12535550104", "+12535550106"} {
			if got[not] != "" {
				t.Errorf("Pierce resident %s got a King County alert", not[len(not)-4:])
			}
		}
	})

	t.Run("Spanish resident gets the es info", func(t *testing.T) {
		a := baseAlert(t)
		es := a.Info[0]
		es.Language, es.Headline = "es-US", "Hierva el agua antes de beberla"
		a.Info = append(a.Info, es)
		acc := publishCAP(t, f, a)
		f.waitDone(t, acc.ID)
		got := sentTo(f.twilio.messages(), acc.ID)
		if !strings.Contains(got["+12065550102"], "Hierva el agua") {
			t.Errorf("Spanish reader got %q", got["+12065550102"])
		}
		if !strings.Contains(got["+12065550101"], "Boil water") {
			t.Errorf("English reader got %q", got["+12065550101"])
		}
	})

	t.Run("overlapping areas and infos deliver one SMS", func(t *testing.T) {
		a := baseAlert(t)
		a.Info[0].Area = append(a.Info[0].Area, cap.Area{AreaDesc: "overlap", Polygon: []string{seattlePoly}})
		second := a.Info[0]
		second.Language = "fr"
		a.Info = append(a.Info, second)
		acc := publishCAP(t, f, a)
		f.waitDone(t, acc.ID)
		if n := countTo(f.twilio.messages(), acc.ID, "+12065550101"); n != 1 {
			t.Errorf("resident in the overlap got %d SMS, want 1", n)
		}
	})

	t.Run("over-long instruction is cut to 2 segments", func(t *testing.T) {
		a := baseAlert(t)
		a.Info[0].Instruction = strings.Repeat("Boil all water used for drinking, cooking and brushing teeth. ", 20)
		acc := publishCAP(t, f, a)
		f.waitDone(t, acc.ID)
		text := sentTo(f.twilio.messages(), acc.ID)["+12065550101"]
		if n, _ := render.Segments(text); n > 2 {
			t.Errorf("SMS has %d segments: %q", n, text)
		}
		if !strings.Contains(text, "...") || !linksTo(text, acc.ID) {
			t.Errorf("cut SMS lacks the ellipsis or the link: %q", text)
		}
	})
}

func TestWebhookRetriesKeepTheSameID(t *testing.T) {
	f := startDelivering(t, nil)
	rx := newReceiver(t)
	rx.status = func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	_, rx.secret = f.addWebhook(t, rx.URL, king)
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	s := f.waitDone(t, acc.ID)
	delivered, ids, _ := rx.got()
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] || ids[0] == "" {
		t.Fatalf("webhook-ids over the attempts = %v, want the same id three times", ids)
	}
	if len(delivered) != 1 || s.Channels["webhook"].Delivered != 1 {
		t.Fatalf("delivered %d, counts %+v", len(delivered), s.Channels["webhook"])
	}
}

func TestPrivateWebhookRefused(t *testing.T) {
	f := startDelivering(t, func(c *config.Config) { c.Webhooks.AllowPrivateAddresses = false })
	for _, u := range []string{"http://127.0.0.1:9/hook", "http://10.0.0.5/hook", "http://localhost/hook"} {
		_, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/webhooks", map[string]any{"url": u, "regions": []string{king}})
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest {
			t.Errorf("%s: %v, want 400", u, err)
		}
	}
}

func TestTwilioPermanentErrorNotRetried(t *testing.T) {
	f := startDelivering(t, nil)
	f.twilio.fail = func(to string, _ int) (int, int) {
		switch to {
		case "+12065550101":
			return http.StatusBadRequest, 21610 // the recipient replied STOP to the carrier
		case "+12065550102":
			return http.StatusTooManyRequests, 20429
		}
		return 0, 0
	}
	f.importResidents(t, []resident{{"+12065550101", "en", 47.55, -122.31}, {"+12065550102", "en", 47.56, -122.30}}, "")
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	s := f.waitDone(t, acc.ID)
	if n := f.twilio.attempts("+12065550101"); n != 1 {
		t.Errorf("21610 was tried %d times, want 1", n)
	}
	if n := f.twilio.attempts("+12065550102"); n != 5 {
		t.Errorf("429 was tried %d times, want 5 (the retry limit)", n)
	}
	c := s.Channels["sms"]
	if c.Failed != 2 || c.Sent != 0 {
		t.Errorf("sms counts %+v, want 2 failed", c)
	}
	reasons := map[string]bool{}
	for _, fl := range s.Failures {
		reasons[fl.Reason] = true
		// The numbers' own digits, not "555": a resident id may hold that.
		if strings.Contains(fl.Recipient+fl.Reason, "5550101") || strings.Contains(fl.Recipient+fl.Reason, "5550102") {
			t.Errorf("failure shows a phone number: %+v", fl)
		}
	}
	if len(s.Failures) != 2 {
		t.Errorf("failures %+v", s.Failures)
	}
	// The 21610 number is now opted out: the next alert skips it.
	acc2, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	s2 := f.waitDone(t, acc2.ID)
	c2 := s2.Channels["sms"]
	if f.twilio.attempts("+12065550101") != 1 || c2.Sent+c2.Failed+c2.Skipped != 1 {
		t.Errorf("opted-out number was tried again: %d attempts, counts %+v", f.twilio.attempts("+12065550101"), c2)
	}
}

func TestTwilioStatusCallback(t *testing.T) {
	f := startDelivering(t, nil)
	f.importResidents(t, []resident{{"+12065550101", "en", 47.55, -122.31}}, "")
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	f.waitDone(t, acc.ID)
	msgs := f.twilio.messages()
	if len(msgs) != 1 {
		t.Fatalf("messages %d", len(msgs))
	}
	// Twilio calls back the URL the message was sent with, which names
	// the delivery.
	callback := msgs[0].Callback
	path, ok := strings.CutPrefix(callback, f.PublicURL())
	if !ok || !strings.HasPrefix(path, "/v1/sms/status?d=") {
		t.Fatalf("status callback URL %q", callback)
	}
	form := url.Values{"MessageSid": {msgs[0].SID}, "MessageStatus": {"delivered"}, "To": {msgs[0].To}}
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, f.HTTPURL()+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusForbidden {
		t.Errorf("unsigned callback: %d, want 403", code)
	}
	if code := post(twilioSignature("wrong-token", callback, form)); code != http.StatusForbidden {
		t.Errorf("forged callback: %d, want 403", code)
	}
	if s := f.deliveries(t, acc.ID); s.Channels["sms"].Delivered != 0 {
		t.Fatal("a refused callback changed the counts")
	}
	if code := post(twilioSignature("testauthtoken0123", callback, form)); code != http.StatusNoContent {
		t.Fatalf("signed callback: %d, want 204", code)
	}
	if s := f.deliveries(t, acc.ID); s.Channels["sms"].Delivered != 1 || s.Channels["sms"].Sent != 0 {
		t.Errorf("after the callback: %+v, want 1 delivered", s.Channels["sms"])
	}
	// The key is covered by the signature: a report sent to another
	// delivery's URL with this signature is refused.
	other := f.PublicURL() + "/v1/sms/status?d=" + url.QueryEscape(acc.ID+".sms.rsomeoneelse")
	req, _ := http.NewRequest(http.MethodPost, f.HTTPURL()+strings.TrimPrefix(other, f.PublicURL()), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilioSignature("testauthtoken0123", callback, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("callback moved to another delivery's URL: %d, want 403", resp.StatusCode)
	}
}

func TestPreviewCountsRecipients(t *testing.T) {
	f := startDelivering(t, nil)
	f.importResidents(t, []resident{{"+12065550101", "en", 47.55, -122.31}, {"+12065550103", "en", 47.62, -122.33}}, "")
	rx := newReceiver(t)
	f.addWebhook(t, rx.URL, king)
	p, _, err := f.Client.Preview(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Recipients["sms"] != 1 || p.Recipients["webhook"] != 1 || p.Recipients["social"] != 1 || len(p.Regions) != 1 || p.AreaKm2 <= 0 {
		t.Fatalf("preview = %+v", p)
	}
	if len(f.twilio.messages()) != 0 {
		t.Fatal("preview sent something")
	}
}

func TestSubscriberManagementNeedsToken(t *testing.T) {
	f := startDelivering(t, nil)
	anon := client.New(client.Config{Server: f.HTTPURL()})
	_, err := anon.Send(ctxT(t), http.MethodPost, "/v1/subscribers", map[string]any{"phone": "+12065550101", "lat": 47.5, "lon": -122.3})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusUnauthorized {
		t.Fatalf("without token: %v, want 401", err)
	}
	raw, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/subscribers", map[string]any{"phone": "(206) 555-0101", "lat": 47.55, "lon": -122.31})
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ ID string }
	_ = json.Unmarshal(raw, &res)
	_, err = f.Client.Send(ctxT(t), http.MethodPost, "/v1/subscribers", map[string]any{"phone": "555", "lat": 47.55, "lon": -122.31})
	if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || strings.Contains(ce.Error(), "555") {
		t.Fatalf("bad phone: %v, want 400 without the number", err)
	}
	if _, err := f.Client.Send(ctxT(t), http.MethodDelete, "/v1/subscribers/"+res.ID, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	// A deleted resident receives nothing.
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	f.waitDone(t, acc.ID)
	if len(f.twilio.messages()) != 0 {
		t.Fatal("deleted resident got an SMS")
	}
}

// twilioSignature computes X-Twilio-Signature as Twilio documents it.
func twilioSignature(token, u string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := u
	for _, k := range keys {
		s += k + form.Get(k)
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func baseAlert(t *testing.T) *cap.Alert {
	t.Helper()
	a, err := cap.Parse(newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func publishCAP(t *testing.T, f *fakes, a *cap.Alert) client.Accepted {
	t.Helper()
	b, err := cap.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, b)
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

func geocodeAlert(t *testing.T, name, value string) []byte {
	a := baseAlert(t)
	a.Info[0].Area = []cap.Area{{AreaDesc: "King County", Geocode: []cap.NamedValue{{ValueName: name, Value: value}}}}
	b, err := cap.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sentTo maps phone -> text of the messages that link to alert id.
// linksTo reports whether an SMS body links alert id's page.
func linksTo(body, id string) bool {
	i := strings.Index(body, "/a/"+id)
	if i < 0 {
		return false
	}
	rest := body[i+len("/a/"+id):]
	return rest == "" || rest[0] == '?' || rest[0] == '\n'
}

func sentTo(msgs []twilioMsg, id string) map[string]string {
	out := map[string]string{}
	for _, m := range msgs {
		if linksTo(m.Body, id) {
			out[m.To] = m.Body
		}
	}
	return out
}

func countTo(msgs []twilioMsg, id, to string) int {
	n := 0
	for _, m := range msgs {
		if m.To == to && linksTo(m.Body, id) {
			n++
		}
	}
	return n
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k[len(k)-4:])
	}
	sort.Strings(out)
	return out
}

// TestUnreachableHospitalDoesNotHoldAlert: a hospital whose host name does
// not resolve is shown failing, with the DNS error, while its retries go
// on; the alert is done for the public once residents are texted; a
// hospital that answers 2xx counts as delivered.
func TestUnreachableHospitalDoesNotHoldAlert(t *testing.T) {
	f := startDelivering(t, func(c *config.Config) {
		c.Retry.Webhook = config.Retry{Base: 200 * time.Millisecond, Max: time.Second, MaxAttempts: 1000, MaxAge: time.Hour}
	})
	f.importResidents(t, []resident{{"+12065550101", "en", 47.55, -122.31}}, "")
	rx := newReceiver(t)
	_, rx.secret = f.addWebhook(t, rx.URL, king)
	deadID, _ := f.addWebhook(t, "https://hospital-that-does-not-exist.invalid/herald", king)
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	within(t, 15*time.Second, "alert done for the public", func() bool {
		a, _, err := f.Client.Alert(ctxT(t), acc.ID)
		return err == nil && a.State == "done"
	})
	s := f.deliveries(t, acc.ID)
	if c := s.Channels["webhook"]; c.Delivered != 1 || c.Queued != 1 || c.Sent != 0 {
		t.Errorf("webhook counts %+v, want 1 delivered (2xx) and 1 queued (retrying); failures %+v", c, s.Failures)
	}
	var listed bool
	for _, fl := range s.Failures {
		if fl.Recipient == deadID && fl.State == "queued" && (strings.Contains(fl.Reason, "no such host") || strings.Contains(fl.Reason, "lookup")) {
			listed = true
		}
	}
	if !listed {
		t.Errorf("the unreachable hospital is not listed with its DNS error: %+v", s.Failures)
	}
	if s.Done {
		t.Error("summary says done while a hospital's delivery is still retrying")
	}
}
