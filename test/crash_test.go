package test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/app"
)

// crashBound is the most duplicates one crash can cause: the SMS
// dispatcher's sends in flight per process, each sent but unrecorded.
var crashBound = app.Concurrency(channels.SMS)

// TestCrashMidFanOutLosesNothing runs herald as its own process, kills it
// with SIGKILL in the middle of a 20,000-resident fan-out, restarts it on
// the same data dir and checks that every resident got the SMS, with
// duplicates within the documented bound.
func TestCrashMidFanOutLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs herald; skipped with -short")
	}
	const residents = 20000
	twilio := newFakeTwilio(t)
	dir := t.TempDir()
	officer := newOfficer(t, "king-health")
	orig := filepath.Join(dir, "originators.yaml")
	if err := os.WriteFile(orig, []byte(fmt.Sprintf("originators:\n  - id: king-health\n    name: King\n    public_key: %s\n    roles: [issuer]\n    jurisdiction: {regions: [%s]}\n", officer.Pub, king)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"HERALD_DATA_DIR=" + filepath.Join(dir, "data"), "HERALD_ORIGINATORS_FILE=" + orig,
		"HERALD_HTTP_ADDR=127.0.0.1:0", "HERALD_NATS_LISTEN=", "HERALD_HTTP_ADMIN_TOKEN=" + adminToken,
		"HERALD_SMS_PROVIDER=twilio", "HERALD_SMS_RATE_PER_SECOND=100000",
		"HERALD_TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000", "HERALD_TWILIO_AUTH_TOKEN=testauthtoken0123",
		"HERALD_TWILIO_MESSAGING_SERVICE_SID=MG00000000000000000000000000000000", "HERALD_TWILIO_API_BASE_URL=" + twilio.URL,
	}
	p := startServe(t, env...)
	c := client.New(client.Config{Server: p.URL, Token: adminToken})

	var csv strings.Builder
	csv.WriteString("phone,lat,lon\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range residents {
		fmt.Fprintf(&csv, "+1206%07d,%.5f,%.5f\n", 2000000+i, 47.535+rng.Float64()*0.04, -122.325+rng.Float64()*0.03)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := c.Upload(ctx, "/v1/subscribers/import", "text/csv", []byte(csv.String())); err != nil {
		t.Fatalf("import: %v", err)
	}
	body := newAlert(t, alertSpec{})
	if _, _, err := c.Publish(ctx, officer.Key, body); err != nil {
		t.Fatalf("publish: %v", err)
	}
	within(t, 60*time.Second, "fan-out under way", func() bool { return len(twilio.messages()) >= residents/4 })
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	atKill := len(twilio.messages())
	time.Sleep(200 * time.Millisecond) // let requests already on the wire land
	afterKill := len(twilio.messages())

	restarted := startServe(t, env...)
	defer func() {
		// A stall has been seen twice in CI and never here: keep what the
		// restarted process said for whoever looks next.
		if t.Failed() {
			log := restarted.logs.String()
			t.Logf("%d of %d residents reached; the restarted herald's last log lines:\n%s",
				uniqueRecipients(twilio.messages()), residents, log[max(0, len(log)-16<<10):])
		}
	}()
	// Jobs the killed process held come back after the dispatchers' AckWait
	// (30 s); under -race on a loaded CI machine the rest can take minutes.
	within(t, 240*time.Second, "every resident reached", func() bool { return uniqueRecipients(twilio.messages()) == residents })
	time.Sleep(500 * time.Millisecond) // nothing more may arrive
	msgs := twilio.messages()
	dups := len(msgs) - uniqueRecipients(msgs)
	t.Logf("residents %d; SMS at kill %d (%d incl. in flight); total %d; unique %d; duplicates %d (bound %d)",
		residents, atKill, afterKill, len(msgs), uniqueRecipients(msgs), dups, crashBound)
	if dups > crashBound {
		t.Fatalf("%d duplicates, more than the bound of %d sends in flight", dups, crashBound)
	}
}

func uniqueRecipients(msgs []twilioMsg) int {
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.To] = true
	}
	return len(seen)
}
