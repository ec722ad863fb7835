package test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/app"
	"github.com/herald-alerts/herald/internal/residents"
)

// lockedBuffer collects Herald's log while its goroutines write to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// e164 is anything in a log line that looks like a phone number.
var e164 = regexp.MustCompile(`\+\d{8,15}`)

// TestPhoneNumbersStayPrivate runs residents' numbers through every path
// that handles them (import, add, send with a retry and a permanent
// failure, status callback, inbound STOP and HELP), then looks for them in
// Herald's debug log and in the raw files of its JetStream store. Only
// the fake Twilio may see them.
func TestPhoneNumbersStayPrivate(t *testing.T) {
	logs := &lockedBuffer{}
	f := &fakes{twilio: newFakeTwilio(t)}
	f.herald = startHerald(t, setup{log: logs, edit: func(c *config.Config) {
		c.HTTP.AdminToken = adminToken
		c.SMS.Provider, c.SMS.RatePerSecond = "twilio", 500
		c.Twilio.AccountSID = "AC00000000000000000000000000000000"
		c.Twilio.AuthToken = "testauthtoken0123"
		c.Twilio.MessagingServiceSID = "MG00000000000000000000000000000000"
		c.Twilio.APIBaseURL = f.twilio.URL
		c.Retry.SMS = config.Retry{Base: 50 * time.Millisecond, Max: 200 * time.Millisecond, MaxAttempts: 5, MaxAge: time.Minute}
	}})
	f.Client.Token = adminToken

	const (
		retried  = "+12065550141" // the first attempt fails with a 500
		refused  = "+12065550142" // the carrier says it sent STOP (21610)
		stopper  = "+12065550143" // texts STOP after the alert
		added    = "+12065550144" // added through the API, in national form
		outside  = "+12065550145" // King County, outside the alert's area
		stranger = "+12065550199" // not a resident; texts HELP
	)
	numbers := []string{retried, refused, stopper, added, outside, stranger}
	f.twilio.fail = func(to string, attempt int) (int, int) {
		switch {
		case to == retried && attempt == 1:
			return http.StatusInternalServerError, 20500
		case to == refused:
			return http.StatusBadRequest, 21610
		}
		return 0, 0
	}
	f.importResidents(t, []resident{
		{retried, "en", 47.55, -122.31},
		{refused, "es-US", 47.56, -122.30},
		{stopper, "en", 47.54, -122.32},
		{outside, "en", 47.62, -122.33},
	}, "")
	if _, err := f.Client.Send(ctxT(t), http.MethodPost, "/v1/subscribers",
		map[string]any{"phone": "(206) 555-0144", "lat": 47.55, "lon": -122.30}); err != nil {
		t.Fatal(err)
	}

	acc, _, err := f.Client.Publish(ctxT(t), f.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	f.waitDone(t, acc.ID)
	got := sentTo(f.twilio.messages(), acc.ID)
	for _, want := range []string{retried, stopper, added} {
		if got[want] == "" {
			t.Errorf("resident %s got no SMS: the stored number did not come back", want[len(want)-4:])
		}
	}

	// Twilio reports a delivery, a resident texts STOP, a stranger HELP.
	var sid, callback string
	for _, m := range f.twilio.messages() {
		if m.To == retried {
			sid, callback = m.SID, m.Callback
		}
	}
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "To": {retried}}
	req, _ := http.NewRequest(http.MethodPost, f.HTTPURL()+strings.TrimPrefix(callback, f.PublicURL()), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", validSig(callback, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status callback: %d", resp.StatusCode)
	}
	for from, body := range map[string]string{stopper: "STOP", stranger: "HELP"} {
		if code, _ := f.text(t, from, body, validSig); code != http.StatusOK {
			t.Fatalf("inbound %s: %d", body, code)
		}
	}

	t.Run("not in the log", func(t *testing.T) {
		log := logs.String()
		for _, want := range []string{"delivery will be retried", "delivery failed permanently"} {
			if !strings.Contains(log, want) {
				t.Fatalf("the log lacks %q; is it captured?\n%s", want, log)
			}
		}
		for _, m := range e164.FindAllString(log, -1) {
			t.Errorf("the log contains a phone number: %s", m)
		}
		for _, n := range numbers {
			if national := n[2:]; strings.Contains(log, national) {
				t.Errorf("the log contains %s in national form", national)
			}
		}
	})

	dataDir := f.Cfg.DataDir
	keyFile := filepath.Join(dataDir, "residents.key")
	t.Run("key file is private", func(t *testing.T) {
		fi, err := os.Stat(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Fatalf("%s has mode %04o, want 0600", keyFile, perm)
		}
	})

	f.stop() // flush and close the store before reading its files
	t.Run("not in JetStream's files", func(t *testing.T) {
		var files, ofResidents int
		err := filepath.WalkDir(filepath.Join(dataDir, "jetstream"), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			if strings.Contains(path, "KV_"+residents.Bucket) {
				ofResidents++
			}
			for _, n := range numbers {
				for _, form := range []string{n, n[1:], n[2:]} { // E.164, digits only, national
					if bytes.Contains(b, []byte(form)) {
						t.Errorf("%s contains %s", path, form)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if ofResidents == 0 {
			t.Fatalf("none of the %d files scanned is the residents bucket's: wrong folder?", files)
		}
	})

	t.Run("a key file others can read stops start-up", func(t *testing.T) {
		if err := os.Chmod(keyFile, 0o640); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.DataDir = dataDir
		cfg.HTTP.Addr, cfg.NATS.Listen = "127.0.0.1:0", "127.0.0.1:0"
		cfg.OriginatorsFile = f.Cfg.OriginatorsFile
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a, err := app.Start(ctx, cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Regions: sharedRegions(t)})
		if err == nil {
			a.Stop(ctx)
			t.Fatal("Herald started with a group-readable residents.key")
		}
		if !strings.Contains(err.Error(), "chmod 600 "+keyFile) {
			t.Fatalf("error %q does not say how to fix it", err)
		}
	})
}
