package test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// chromium finds the browser for the console tests: CONSOLE_TEST_CHROMIUM, or
// Debian's chromium on the PATH. CI installs it and sets
// CONSOLE_TEST_REQUIRE_BROWSER, so there a missing browser fails the run instead
// of skipping the tests.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CONSOLE_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CONSOLE_TEST_REQUIRE_BROWSER") != "" {
		t.Fatal("no Chromium found (apt-get install -y chromium, or set CONSOLE_TEST_CHROMIUM)")
	}
	t.Skip("no Chromium: the console's browser tests need it (apt-get install -y chromium)")
	return ""
}

// browser is a headless Chromium that records every request it makes.
type browser struct {
	ctx  context.Context
	mu   sync.Mutex
	sent []string // URL and body of every request
	// problems are the page's uncaught exceptions and its security and
	// script errors (a Content-Security-Policy violation among them).
	problems []string
	origin   string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	b := &browser{ctx: ctx, origin: base}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		t.Fatal(err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			desc := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				desc += " " + e.ExceptionDetails.Exception.Description
			}
			b.mu.Lock()
			b.problems = append(b.problems, "exception: "+desc)
			b.mu.Unlock()
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError && (e.Entry.Source == cdplog.EntrySourceSecurity || e.Entry.Source == cdplog.EntrySourceJavascript) {
				b.mu.Lock()
				b.problems = append(b.problems, string(e.Entry.Source)+": "+e.Entry.Text)
				b.mu.Unlock()
			}
		}
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			var body strings.Builder
			for _, entry := range e.Request.PostDataEntries {
				body.Write(entry.Bytes)
			}
			b.mu.Lock()
			b.sent = append(b.sent, e.Request.URL+"\n"+body.String())
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) run(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text reads an element's text content (hidden or not), or a form
// control's value.
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, textOf(sel))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func textOf(sel string) chromedp.Action[string] {
	return chromedp.Evaluate[string](fmt.Sprintf(`(e => !e ? "" : e.matches("input, textarea, select") ? e.value : e.textContent)(document.querySelector(%q))`, sel))
}

// waitText waits until sel's text satisfies ok.
func (b *browser) waitText(t *testing.T, sel, what string, d time.Duration, ok func(string) bool) string {
	t.Helper()
	var last string
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		got, err := chromedp.Run(ctx, textOf(sel))
		cancel()
		last = got
		if err == nil && ok(strings.TrimSpace(last)) {
			return strings.TrimSpace(last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %s is %q after %s", what, sel, last, d)
	return ""
}

// set gives a form control a value as typing would (input and change
// events).
func set(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel, value))
}

// signIn opens the console and signs in with o's seed file.
func (b *browser) signIn(t *testing.T, o officer) {
	t.Helper()
	seed, err := o.Key.Seed()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), o.ID+".nk")
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	b.run(t, "sign in as "+o.ID,
		chromedp.Navigate(b.origin+"/console/"),
		chromedp.WaitVisible(chromedp.ID("seed-file")),
		chromedp.SetUploadFiles(chromedp.ID("seed-file"), []string{path}),
		chromedp.WaitVisible(chromedp.ID("nav")),
	)
}

// screenshot saves the page to $CONSOLE_TEST_SCREENSHOTS/name.png when
// that is set (how docs/console-*.png are made).
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("CONSOLE_TEST_SCREENSHOTS")
	if dir == "" {
		return
	}
	b.run(t, "settle", chromedp.Sleep(500*time.Millisecond))
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// clean fails the test if the page threw or broke its security policy.
func (b *browser) clean(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("console page: %s", p)
	}
}

// requests returns what the browser sent so far.
func (b *browser) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.sent...)
}

// TestConsole drives the officer console in a real Chromium against an
// in-process Herald: sign in with a seed file, compose from a template with
// the area typed in, check the live preview against the server's own
// count, send, follow the alert to done, cancel it; then an approver
// rejects a held alert. No request may carry a seed, nor go anywhere but
// Herald.
func TestConsole(t *testing.T) {
	f := startDelivering(t, nil)
	var rs []resident
	for i := range 24 {
		lang := "en"
		if i%3 == 0 {
			lang = "es"
		}
		rs = append(rs, resident{phone: fmt.Sprintf("+1206555%04d", 2000+i), lang: lang, lat: 47.54 + float64(i%6)*0.005, lon: -122.32 + float64(i/6)*0.005})
	}
	rs = append(rs, resident{phone: "+12535550100", lang: "en", lat: 47.25, lon: -122.44}) // Tacoma: outside
	f.importResidents(t, rs, "")
	hospital := newReceiver(t)
	hospitalID, secret := f.addWebhook(t, hospital.URL, king)
	hospital.secret = secret

	b := newBrowser(t, f.Client.Server)
	b.signIn(t, f.King)
	if who := b.text(t, "#who"); !strings.Contains(who, f.King.ID) {
		t.Fatalf("signed in as %q, want %s", who, f.King.ID)
	}

	// Compose: the boil-water template, the system named, the area typed.
	b.run(t, "compose",
		set("#template", "boil-water"),
		chromedp.WaitVisible(chromedp.ID("field-system")),
		set("#field-system", "Seattle Public Utilities"),
		set("#area-desc", "Beacon Hill and Georgetown"),
		set("#han-type", "Health Alert"), // hospitals must acknowledge (acks.required_for.han_types)
		set("#area-coordinates", seattlePoly),
	)
	got := b.waitText(t, "#preview-sms", "preview count", 20*time.Second, func(s string) bool { return s == "24" })
	// The server's truth for the exact XML the console shows.
	// One more newline: the same bytes signed in the same second by the
	// same key would be the console's own signature, refused as a replay.
	xml := b.text(t, "#xml") + "\n\n"
	p, _, err := f.Client.Preview(ctxT(t), f.King.Key, []byte(xml))
	if err != nil {
		t.Fatalf("server preview of the console's XML: %v\n%s", err, xml)
	}
	if got != fmt.Sprint(p.Recipients["sms"]) {
		t.Fatalf("console shows %s SMS recipients, server counts %d", got, p.Recipients["sms"])
	}
	b.waitText(t, "#preview-texts", "WEA text in the preview", 5*time.Second, func(s string) bool { return strings.Contains(s, "wea · en · 87/90 characters") })
	if !strings.Contains(xml, "Seattle Public Utilities") || !strings.Contains(xml, "<language>es</language>") || !strings.Contains(xml, "<valueName>CMAMtext</valueName>") {
		t.Fatalf("the XML lacks the filled field or the Spanish info:\n%s", xml)
	}
	b.waitText(t, "#preview-webhook", "hospital count", 5*time.Second, func(s string) bool { return s == "1" })
	b.screenshot(t, "console-compose")

	b.run(t, "send", chromedp.Click(chromedp.ID("send")), chromedp.WaitVisible(chromedp.ID("confirm")))
	if c := b.text(t, "#confirm-text"); !strings.Contains(c, "texts 24 residents in 2 languages, notifies 1 hospital, posts to 1 account") {
		t.Fatalf("confirmation says %q", c)
	}
	b.run(t, "confirm", chromedp.Click(chromedp.ID("confirm")))
	id := b.waitText(t, "#alert-id", "alert id", 10*time.Second, func(s string) bool { return s != "" })
	b.waitText(t, "#alert-state", "dashboard reaches done", 60*time.Second, func(s string) bool { return s == "done" })
	b.waitText(t, "#progress-sms td:nth-child(3)", "SMS sent on the dashboard", 10*time.Second, func(s string) bool { return s == "24" })
	b.waitText(t, "#progress-webhook td:nth-child(5)", "hospital delivered on the dashboard", 10*time.Second, func(s string) bool { return s == "1" })
	b.waitText(t, "#ack-"+hospitalID, "the hospital's acknowledgement on the dashboard", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "delivered") && strings.Contains(s, "pending")
	})
	b.screenshot(t, "console-alert")
	a, _, err := f.Client.Alert(ctxT(t), id)
	if err != nil || a.State != "done" || a.Originator != f.King.ID {
		t.Fatalf("server: alert %s = %+v, %v", id, a, err)
	}
	if n := len(f.twilio.messages()); n != 24 {
		t.Fatalf("Twilio got %d messages, want 24", n)
	}

	// Cancel from the dashboard.
	b.run(t, "cancel", chromedp.Click(chromedp.ID("cancel")), chromedp.WaitVisible(chromedp.ID("cancel-confirm")),
		chromedp.Click(chromedp.ID("cancel-confirm")))
	b.waitText(t, "#alert-id", "the Cancel's page", 10*time.Second, func(s string) bool { return s != id && s != "" })
	within(t, 20*time.Second, "original cancelled", func() bool {
		a, _, err := f.Client.Alert(ctxT(t), id)
		return err == nil && a.State == "cancelled"
	})

	// The alert list shows both.
	b.run(t, "list", chromedp.Navigate(f.Client.Server+"/console/#alerts"), chromedp.WaitVisible(chromedp.ID("alerts-table")))
	b.waitText(t, "#alerts-table tbody", "alert list", 10*time.Second, func(s string) bool { return strings.Contains(s, "cancelled") })

	// An approver rejects a held alert (Extreme needs approval).
	held, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{severity: cap.SeverityExtreme, polygons: []string{seattlePoly}}))
	if err != nil || held.State != "pending_approval" {
		t.Fatalf("held alert: %+v, %v", held, err)
	}
	ab := newBrowser(t, f.Client.Server)
	ab.signIn(t, f.Approver)
	ab.run(t, "approvals", chromedp.Navigate(f.Client.Server+"/console/#approvals"), chromedp.WaitVisible(chromedp.ID("reject-"+held.ID)))
	ab.screenshot(t, "console-approvals")
	ab.run(t, "reject", set("#reason-"+held.ID, "Wrong area: the main break is in West Seattle"), chromedp.Click(chromedp.ID("reject-"+held.ID)))
	within(t, 10*time.Second, "held alert rejected", func() bool {
		a, _, err := f.Client.Alert(ctxT(t), held.ID)
		return err == nil && a.State == "rejected" && a.RejectedBy == f.Approver.ID && strings.Contains(a.RejectReason, "West Seattle")
	})
	// The Cancel texts everyone once more; the rejected alert nobody.
	within(t, 20*time.Second, "the Cancel's 24 SMS", func() bool { return len(f.twilio.messages()) >= 48 })
	time.Sleep(500 * time.Millisecond)
	if n := len(f.twilio.messages()); n != 48 {
		t.Fatalf("Twilio got %d messages, want 48 (alert and Cancel)", n)
	}

	// Keys stay with the officer; nothing leaves for another origin.
	for _, o := range []officer{f.King, f.Approver} {
		seed, _ := o.Key.Seed()
		for _, r := range append(b.requests(), ab.requests()...) {
			if strings.Contains(r, string(seed)) || strings.Contains(r, string(seed[2:20])) {
				t.Fatalf("a request carries %s's seed: %.200s", o.ID, r)
			}
		}
	}
	u, _ := url.Parse(f.Client.Server)
	for _, r := range append(b.requests(), ab.requests()...) {
		ru, err := url.Parse(strings.SplitN(r, "\n", 2)[0])
		if err != nil || (ru.Scheme != "data" && ru.Host != u.Host) {
			t.Fatalf("the console requested another origin: %.200s", r)
		}
	}
	if n := len(b.requests()); n < 10 {
		t.Fatalf("recorded only %d requests: the check above proves nothing", n)
	}
	b.clean(t)
	ab.clean(t)
}

// TestConsoleMapAndUpdate draws on the console's map (picks a county,
// draws a polygon by clicking) and sends an Update of an alert from its
// dashboard, with its references filled in.
func TestConsoleMapAndUpdate(t *testing.T) {
	f := startDelivering(t, nil)
	f.importResidents(t, []resident{{phone: "+12065550300", lang: "en", lat: 47.55, lon: -122.31}}, "")
	orig, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	f.waitDone(t, orig.ID)

	b := newBrowser(t, f.Client.Server)
	b.signIn(t, f.King)
	// A visible EXERCISE banner whenever the alert is not Actual.
	banner := func() bool {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!document.getElementById("exercise-banner").hidden`))
		return err == nil && v
	}
	b.run(t, "exercise", set("#status", "Exercise"))
	if !banner() {
		t.Fatal("no EXERCISE banner for an Exercise alert")
	}
	b.run(t, "actual", set("#status", "Actual"))
	if banner() {
		t.Fatal("EXERCISE banner on an Actual alert")
	}

	// Pick King County on the map: it becomes a SAME geocode.
	b.run(t, "pick a county",
		set("#template", "extreme-heat"),
		chromedp.Click(chromedp.ID("mode-pick")),
		chromedp.WaitVisible(chromedp.CSS("path.region-"+king)),
		chromedp.Click(chromedp.CSS("path.region-"+king)),
	)
	b.waitText(t, "#picked", "picked county", 10*time.Second, func(s string) bool { return strings.Contains(s, "King County") })
	b.waitText(t, "#xml", "geocode in the XML", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "<valueName>SAME</valueName>") && strings.Contains(s, "<value>053033</value>")
	})
	b.waitText(t, "#preview-regions", "preview regions", 10*time.Second, func(s string) bool { return strings.Contains(s, "King County") })
	b.waitText(t, "#preview-sms", "county residents", 10*time.Second, func(s string) bool { return s == "1" })

	// Draw a triangle by clicking the map, closing it on its first point.
	b.run(t, "clear and draw", chromedp.Click(chromedp.ID("area-clear")), chromedp.Click(chromedp.ID("mode-polygon")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("map").scrollIntoView({block: "center"})`), chromedp.Sleep(200*time.Millisecond))
	box, err := chromedp.Run(b.ctx, chromedp.Dimensions(chromedp.ID("map")))
	if err != nil {
		t.Fatal(err)
	}
	x0, y0 := box.Content[0], box.Content[1]
	b.run(t, "click vertices",
		chromedp.MouseClickXY(x0+300, y0+150), chromedp.MouseClickXY(x0+420, y0+300), chromedp.MouseClickXY(x0+200, y0+300),
		chromedp.MouseClickXY(x0+300, y0+150))
	coords := b.waitText(t, "#area-coordinates", "drawn polygon", 5*time.Second, func(s string) bool { return s != "" })
	if pts := strings.Fields(coords); len(pts) != 4 || pts[0] != pts[3] {
		t.Fatalf("drawn polygon %q: want 3 points and the closing one", coords)
	}
	b.waitText(t, "#xml", "polygon in the XML", 5*time.Second, func(s string) bool { return strings.Contains(s, "<polygon>"+coords+"</polygon>") })

	// Update the first alert from its dashboard.
	b.run(t, "open alert", chromedp.Navigate(f.Client.Server+"/console/#alert/"+orig.ID), chromedp.WaitVisible(chromedp.ID("update")))
	b.waitText(t, "#alert-state", "original done", 10*time.Second, func(s string) bool { return s == "done" })
	b.run(t, "start update", chromedp.Click(chromedp.ID("update")), chromedp.WaitVisible(chromedp.ID("compose-kind")))
	b.run(t, "edit update", set("#text-en-US-headline", "Boil water notice lifted for Beacon Hill"))
	b.waitText(t, "#xml", "update XML", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "<msgType>Update</msgType>") && strings.Contains(s, "<references>"+kingSender+",") && strings.Contains(s, "lifted")
	})
	b.waitText(t, "#preview-sms", "update preview", 10*time.Second, func(s string) bool { return s == "1" })
	b.run(t, "send update", chromedp.Click(chromedp.ID("send")), chromedp.WaitVisible(chromedp.ID("confirm")))
	if c := b.text(t, "#confirm-text"); !strings.HasPrefix(c, "This Update texts 1 resident in 1 language") {
		t.Fatalf("update confirmation %q", c)
	}
	b.run(t, "confirm update", chromedp.Click(chromedp.ID("confirm")))
	id := b.waitText(t, "#alert-id", "update's id", 10*time.Second, func(s string) bool { return s != "" && s != orig.ID })
	within(t, 20*time.Second, "original marked updated", func() bool {
		a, _, err := f.Client.Alert(ctxT(t), orig.ID)
		return err == nil && a.UpdatedBy == id
	})
	b.clean(t)
}
