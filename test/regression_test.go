package test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/app"
	"github.com/herald-alerts/herald/internal/plan"
	"github.com/nats-io/nats.go/jetstream"
)

// marshal is a's CAP XML.
func marshal(t *testing.T, a *cap.Alert) []byte {
	t.Helper()
	b, err := cap.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publishStatus publishes body as King and returns the HTTP status and,
// on success, the alert id.
func publishStatus(t *testing.T, f *fakes, body []byte) (int, string, error) {
	t.Helper()
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, body)
	return statusOf(t, err), acc.ID, err
}

// realAlertDelivered publishes an ordinary alert to the resident at
// +12065550999 and waits until its SMS went out: whatever was tried before,
// Herald still plans and delivers.
func realAlertDelivered(t *testing.T, f *fakes) {
	t.Helper()
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatalf("a real alert after the attack: %v", err)
	}
	within(t, 20*time.Second, "the real alert's SMS", func() bool {
		return sentTo(f.twilio.messages(), acc.ID)["+12065550999"] != ""
	})
}

// TestAttacks is the regression table of issue 10: each row is an attack
// that once stopped, read or forged an alert, with the refusal it must now
// get. After the rows, a real alert is still planned and delivered.
// (The NATS account attacks are TestNATSAttacks; the flood, corruption and
// lock rows, which need a Herald of their own, follow this test.)
func TestAttacks(t *testing.T) {
	f := startDelivering(t, func(c *config.Config) {
		c.Approval.RequiredFor.Severity = []string{"Extreme"}
	})
	f.importResidents(t, []resident{{"+12065550999", "en", 47.555, -122.31}}, "")
	rx := newReceiver(t)
	raw, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/webhooks", map[string]any{"url": rx.URL + "/severe-only", "regions": []string{king}, "min_severity": "Severe"})
	if err != nil {
		t.Fatal(err)
	}
	var wh struct{ Secret string }
	if err := jsonUnmarshal(raw, &wh); err != nil {
		t.Fatal(err)
	}
	rx.mu.Lock()
	rx.secret = wh.Secret
	rx.mu.Unlock()

	original := baseAlert(t)
	origBody := marshal(t, original)
	if code, _, err := publishStatus(t, f, origBody); code != http.StatusAccepted {
		t.Fatalf("original: %d %v", code, err)
	}
	ref := original.Sender + "," + original.Identifier + "," + original.Sent

	rows := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"Extreme in the second info needs approval", func(t *testing.T) {
			a := baseAlert(t)
			second := a.Info[0]
			second.Language, second.Severity = "es-US", cap.SeverityExtreme
			a.Info = append(a.Info, second)
			acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, marshal(t, a))
			if err != nil || acc.State != "pending_approval" {
				t.Fatalf("state %q (%v), want pending_approval", acc.State, err)
			}
		}},
		{"Minor first info with Severe second reaches a Severe-minimum hospital", func(t *testing.T) {
			a := baseAlert(t)
			a.Info[0].Severity = cap.SeverityMinor
			second := a.Info[0]
			second.Language, second.Severity = "es-US", cap.SeveritySevere
			a.Info = append(a.Info, second)
			code, id, err := publishStatus(t, f, marshal(t, a))
			if code != http.StatusAccepted {
				t.Fatalf("%d %v", code, err)
			}
			within(t, 10*time.Second, "the webhook", func() bool {
				d, _, _ := rx.got()
				for _, x := range d {
					if x.Payload["alert_id"] == id {
						return x.Payload["severity"] == "Severe"
					}
				}
				return false
			})
		}},
		{"Ack without area is stored, never broadcast", func(t *testing.T) {
			a := baseAlert(t)
			a.MsgType, a.References = cap.MsgAck, ref
			a.Info = nil
			code, id, err := publishStatus(t, f, marshal(t, a))
			if code != http.StatusAccepted {
				t.Fatalf("%d %v", code, err)
			}
			time.Sleep(500 * time.Millisecond)
			if got := sentTo(f.twilio.messages(), id); len(got) != 0 {
				t.Errorf("an Ack was texted: %v", got)
			}
			for _, p := range f.mastodon.posts() {
				if strings.Contains(p.Text, id) {
					t.Errorf("an Ack was posted: %q", p.Text)
				}
			}
			feed, _ := f.Client.Get(ctxT(t), "/v1/feeds/"+king+".atom")
			if bytes.Contains(feed, []byte(id)) {
				t.Error("an Ack is listed in the feed")
			}
		}},
		{"Error referencing another agency's alert", func(t *testing.T) {
			a := baseAlert(t)
			a.Sender = pierceSender
			a.MsgType, a.References = cap.MsgError, ref
			a.Info = nil
			_, _, err := f.Client.Publish(ctxT(t), f.Pierce.Key, marshal(t, a))
			if statusOf(t, err) != http.StatusForbidden {
				t.Fatalf("%v, want 403", err)
			}
		}},
		{"Alert without area", func(t *testing.T) {
			a := baseAlert(t)
			a.Info[0].Area = nil
			if code, _, err := publishStatus(t, f, marshal(t, a)); code != http.StatusBadRequest {
				t.Fatalf("%d %v, want 400", code, err)
			}
		}},
		{"another agency's sender", func(t *testing.T) {
			a := baseAlert(t) // King's sender
			a.Info[0].Area[0].Polygon = []string{tacomaPoly}
			_, _, err := f.Client.Publish(ctxT(t), f.Pierce.Key, marshal(t, a))
			if statusOf(t, err) != http.StatusForbidden || !strings.Contains(err.Error(), "belongs to agency") {
				t.Fatalf("%v, want 403 naming the sender's agency", err)
			}
		}},
		{"already expired on arrival", func(t *testing.T) {
			a := baseAlert(t)
			a.Info[0].Expires = time.Now().Add(-time.Minute).Format("2006-01-02T15:04:05-07:00")
			code, _, err := publishStatus(t, f, marshal(t, a))
			if code != http.StatusBadRequest || !strings.Contains(err.Error(), "alert/info[0]/expires") {
				t.Fatalf("%d %v, want 400 naming expires", code, err)
			}
		}},
		{"Cancel of a cancelled alert", func(t *testing.T) {
			body := newAlert(t, alertSpec{})
			if code, _, err := publishStatus(t, f, body); code != http.StatusAccepted {
				t.Fatal(code, err)
			}
			if code, _, err := publishStatus(t, f, cancelFor(t, body)); code != http.StatusAccepted {
				t.Fatal(code, err)
			}
			a, _ := cap.Parse(body)
			within(t, 10*time.Second, "cancelled", func() bool {
				v, _, err := f.Client.Alert(ctxT(t), f.AlertID(a.Sender, a.Identifier))
				return err == nil && v.State == "cancelled"
			})
			again := cap.CancelOf(a, time.Now().Add(time.Second))
			again.Identifier += "-again"
			if code, _, err := publishStatus(t, f, marshal(t, again)); code != http.StatusConflict {
				t.Fatalf("%d %v, want 409", code, err)
			}
		}},
		{"body between the NATS payload limit and the parser's", func(t *testing.T) {
			a := baseAlert(t)
			a.Info[0].Description = strings.Repeat("x", cap.MaxSize-6<<10)
			code, _, err := publishStatus(t, f, marshal(t, a))
			if code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d %v, want 413", code, err)
			}
		}},
		{"deeply nested XML", func(t *testing.T) {
			a := baseAlert(t)
			body := marshal(t, a)
			deep := strings.Repeat(`<x xmlns="urn:example">`, 200) + strings.Repeat("</x>", 200)
			body = bytes.Replace(body, []byte("</alert>"), []byte(deep+"</alert>"), 1)
			code, _, err := publishStatus(t, f, body)
			if code != http.StatusBadRequest || !strings.Contains(err.Error(), "nested deeper") {
				t.Fatalf("%d %v, want 400 naming the nesting", code, err)
			}
		}},
		{"ISO-8859-1 alert is stored and served as UTF-8", func(t *testing.T) {
			a := baseAlert(t)
			a.Info[0].Headline = "Exposición"
			utf8 := marshal(t, a)
			latin1 := bytes.Replace(utf8, []byte("Exposición"), []byte("Exposici\xf3n"), 1)
			latin1 = append([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?>`+"\n"), bytes.TrimPrefix(latin1, []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"))...)
			code, id, err := publishStatus(t, f, latin1)
			if code != http.StatusAccepted {
				t.Fatalf("%d %v", code, err)
			}
			got, err := f.Client.CAP(ctxT(t), id)
			if err != nil || !bytes.Contains(got, []byte(`encoding="UTF-8"`)) || !bytes.Contains(got, []byte("Exposición")) {
				t.Fatalf("served %q (%v), want UTF-8 with a matching declaration", got[:min(len(got), 120)], err)
			}
		}},
		{"deliveries answer the same for absent and existing alerts", func(t *testing.T) {
			anon := http.Client{Timeout: 5 * time.Second}
			var codes []int
			for _, id := range []string{f.AlertID(original.Sender, original.Identifier), "anever"} {
				resp, err := anon.Get(f.HTTPURL() + "/v1/alerts/" + id + "/deliveries")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				codes = append(codes, resp.StatusCode)
			}
			if codes[0] != codes[1] {
				t.Fatalf("existing %d, absent %d: the answer tells which ids exist", codes[0], codes[1])
			}
		}},
		{"alert ids are not the public hash of sender and identifier", func(t *testing.T) {
			id := f.AlertID(original.Sender, original.Identifier)
			if id == unkeyedID(original.Sender, original.Identifier) {
				t.Fatal("the id is computable from the CAP fields")
			}
		}},
		{"preview signature replayed", func(t *testing.T) {
			body := newAlert(t, alertSpec{})
			hdr, err := signing.Sign(f.King.Key, signing.ActionPreview, time.Now(), body)
			if err != nil {
				t.Fatal(err)
			}
			post := func() int {
				req, _ := http.NewRequest(http.MethodPost, f.HTTPURL()+"/v1/alerts/preview", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/cap+xml")
				hdr.Set(req.Header.Set)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if first, second := post(), post(); first != http.StatusOK || second != http.StatusUnauthorized {
				t.Fatalf("preview %d then %d, want 200 then 401", first, second)
			}
		}},
		{"inbound message replayed by MessageSid", func(t *testing.T) {
			code, first := f.textSID(t, "SMreplayed0000000000000000000000", "+12065550999", "HELP", validSig)
			if code != http.StatusOK || !strings.Contains(first, "<Message>") {
				t.Fatalf("first delivery: %d %q", code, first)
			}
			code, second := f.textSID(t, "SMreplayed0000000000000000000000", "+12065550999", "HELP", validSig)
			if code != http.StatusOK || strings.Contains(second, "<Message>") {
				t.Fatalf("replay: %d %q, want 200 and no second reply", code, second)
			}
		}},
		{"inbound message from a non-E.164 sender", func(t *testing.T) {
			code, reply := f.text(t, "72345", "JOIN 98101", validSig)
			if code != http.StatusOK || !strings.Contains(reply, "<Message>") {
				t.Fatalf("%d %q, want 200 with a reply", code, reply)
			}
		}},
		{"a mention in the alert text does not mention anyone", func(t *testing.T) {
			a := baseAlert(t)
			a.Info[0].Instruction = "Questions: @someone@mastodon.example or https://phish.example"
			code, _, err := publishStatus(t, f, marshal(t, a))
			if code != http.StatusAccepted {
				t.Fatal(code, err)
			}
			within(t, 10*time.Second, "the post", func() bool {
				for _, p := range f.mastodon.posts() {
					if strings.Contains(p.Text, "Questions:") {
						if strings.Contains(p.Text, "@someone") || strings.Contains(p.Text, "https://phish") {
							t.Fatalf("the post keeps an active mention or link: %q", p.Text)
						}
						return true
					}
				}
				return false
			})
		}},
	}
	for _, r := range rows {
		t.Run(r.name, r.check)
	}
	realAlertDelivered(t, f)
}

// unkeyedID is how alert ids were derived before they were keyed: from
// the public CAP fields alone.
func unkeyedID(sender, identifier string) string {
	sum := sha256.Sum256([]byte(sender + "\x00" + identifier))
	return "a" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}

// jsOf is JetStream over Herald's own connection (its account), as an
// operator with Herald's credentials would use it.
func jsOf(t *testing.T, h *herald) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(h.Conn())
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// dirSize is the bytes under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// grepLines is the lines of b containing s.
func grepLines(b []byte, s string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestPlannerConsumerDeleted: an operator's mistake deletes the planner's
// durable consumer; Herald notices, recreates it, counts and logs it, and
// the next alert is planned and delivered.
func TestPlannerConsumerDeleted(t *testing.T) {
	f := startDelivering(t, nil)
	f.importResidents(t, []resident{{"+12065550999", "en", 47.555, -122.31}}, "")
	js := jsOf(t, f.herald)
	if err := js.DeleteConsumer(ctxT(t), alertlog.StreamName, plan.ConsumerName); err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "the planner consumer recreated", func() bool {
		_, err := js.Consumer(ctxT(t), alertlog.StreamName, plan.ConsumerName)
		return err == nil
	})
	metrics, _ := f.Client.Get(ctxT(t), "/metrics")
	if !bytes.Contains(metrics, []byte(`herald_jetstream_repairs_total{object="herald-planner"} 1`)) {
		t.Errorf("the repair is not counted:\n%s", grepLines(metrics, "herald_jetstream"))
	}
	realAlertDelivered(t, f)
}

// TestFlood: 100,000 unsigned and forged submissions from one address cost
// under 1 MB of data_dir, are counted, and a real signed alert sent right
// after is accepted within a second.
func TestFlood(t *testing.T) {
	f := startDelivering(t, nil)
	f.importResidents(t, []resident{{"+12065550999", "en", 47.555, -122.31}}, "")
	before := dirSize(t, f.Dir)
	const total = 100_000
	body := newAlert(t, alertSpec{})
	forged, err := signing.Sign(f.Pierce.Key, signing.ActionSubmit, time.Now(), []byte("another body"))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var sent, limited atomic.Int64
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent.Add(1) <= total {
				req, _ := http.NewRequest(http.MethodPost, f.HTTPURL()+"/v1/alerts", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/cap+xml")
				if w%2 == 1 {
					forged.Set(req.Header.Set)
				}
				resp, err := hc.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					limited.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	start := time.Now()
	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatalf("real alert after the flood: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("real alert accepted %s after the flood, want within 1 s", d)
	}
	grown := dirSize(t, f.Dir) - before
	t.Logf("flood: %d requests, %d answered 429; data_dir grew %d bytes", total, limited.Load(), grown)
	if grown > 1<<20 {
		t.Errorf("data_dir grew %d bytes, want under 1 MB", grown)
	}
	if limited.Load() == 0 {
		t.Error("no request was rate-limited")
	}
	metrics, _ := f.Client.Get(ctxT(t), "/metrics")
	if !bytes.Contains(metrics, []byte(`herald_alerts_rejected_total{reason="rate_limited"}`)) {
		t.Errorf("refusals not counted:\n%s", grepLines(metrics, "herald_alerts_rejected_total"))
	}
	within(t, 20*time.Second, "the real alert's SMS", func() bool {
		return sentTo(f.twilio.messages(), acc.ID)["+12065550999"] != ""
	})
}

// TestDamagedAlertLog truncates the alert log's block file: Herald refuses
// to start, naming the stream, and `herald check` says what was lost.
func TestDamagedAlertLog(t *testing.T) {
	dir := t.TempDir()
	h := startHerald(t, setup{dataDir: dir})
	for range 5 {
		if _, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{})); err != nil {
			t.Fatal(err)
		}
	}
	h.stop()
	blocks, _ := filepath.Glob(filepath.Join(dir, "jetstream", "jetstream", app.HeraldAccount, "streams", alertlog.StreamName, "msgs", "*.blk"))
	if len(blocks) == 0 {
		t.Fatal("no block file of the alert log")
	}
	fi, err := os.Stat(blocks[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(blocks[0], fi.Size()/3); err != nil {
		t.Fatal(err)
	}

	cfg := config.Default()
	cfg.DataDir, cfg.OriginatorsFile = dir, filepath.Join(dir, "originators.yaml")
	var out bytes.Buffer
	ok, err := app.Check(ctxT(t), cfg, &out)
	if err != nil || ok || !strings.Contains(out.String(), "FAIL  alert log "+alertlog.StreamName) || !strings.Contains(out.String(), "lost") {
		t.Fatalf("herald check = %v, %v:\n%s", ok, err, out.String())
	}
	t.Logf("herald check:\n%s", out.String())

	cfg.HTTP.Addr, cfg.NATS.Listen = "127.0.0.1:0", ""
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.Start(ctx, cfg, app.Options{Regions: sharedRegions(t)})
	if err == nil {
		a.Stop(ctx)
		t.Fatal("Herald started on a damaged alert log")
	}
	if !strings.Contains(err.Error(), alertlog.StreamName) || !strings.Contains(err.Error(), "herald check") {
		t.Fatalf("start error %q does not name the stream and the remedy", err)
	}
}

// TestDataDirLocked: a second Herald on the same data_dir stops at once,
// naming the lock; the first keeps working.
func TestDataDirLocked(t *testing.T) {
	h := startHerald(t, setup{})
	cfg := *h.Cfg
	cfg.HTTP.Addr = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := app.Start(ctx, &cfg, app.Options{Regions: sharedRegions(t)})
	if err == nil {
		a.Stop(ctx)
		t.Fatal("a second Herald started on the same data_dir")
	}
	if !errors.Is(err, app.ErrDataDirLocked) || !strings.Contains(err.Error(), "herald.lock") {
		t.Fatalf("error %q does not name the lock", err)
	}
	if _, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{})); err != nil {
		t.Fatalf("the first Herald after the attempt: %v", err)
	}
}

// TestSlowBody: a client that sends headers and then dribbles its body is
// cut off at the body deadline instead of holding the connection.
func TestSlowBody(t *testing.T) {
	h := startHerald(t, setup{})
	u, _ := url.Parse(h.HTTPURL())
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/alerts HTTP/1.1\r\nHost: %s\r\nContent-Type: application/cap+xml\r\nContent-Length: 100000\r\n\r\n<alert", u.Host)
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, _ = io.ReadAll(conn) // returns when the server gives up on the body
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("a slow body held the connection %s", d)
	}
}

// TestMetricsFromStart: /metrics says which Herald runs and has every
// known channel and outcome at 0 before the first event.
func TestMetricsFromStart(t *testing.T) {
	h := startHerald(t, setup{})
	raw, err := h.Client.Get(ctxT(t), "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`herald_build_info{goversion="go`,
		`herald_deliveries_total{channel="sms",state="sent"} 0`,
		`herald_deliveries_total{channel="webhook",state="failed"} 0`,
		`herald_delivery_retries_total{channel="social"} 0`,
		`herald_alerts_accepted_total{msg_type="Alert",status="Actual"} 0`,
		`herald_alerts_rejected_total{reason="unauthorized"} 0`,
		`herald_jetstream_repairs_total{object="herald-planner"} 0`,
		`herald_alerts_unplanned 0`,
	} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
