package loadtest

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestQuick runs the quick load test and checks that it prints every
// figure with its target verdict. The figures themselves depend on the
// machine and are not checked.
func TestQuick(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	err := Run(ctx, &buf, Quick(), slog.New(slog.DiscardHandler))
	out := buf.String()
	t.Logf("herald bench --quick (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("bench --quick: %v", err)
	}
	num := `[0-9][0-9,]*(\.[0-9]+)?`
	for _, want := range []string{
		`Import +20,000 residents .* = ` + num + ` rows/s`,
		`Planning +` + num + ` recipients \(20,000 SMS \+ 50 webhook\) in ` + num + ` jobs, all queued ` + num + ` m?s after the 202 = ` + num + ` recipients/s`,
		`target: 1M planned in <= 1.5s .* (PASS|MISS)`,
		`SMS +` + num + ` Twilio API calls in ` + num + ` m?s = ` + num + ` calls/s`,
		`target: >= 2,000 calls/s +(PASS|MISS)`,
		`SMS floor +the NATS work of one SMS done bare .* = ` + num + `/s`,
		`Herald's SMS rate above = ` + num + ` of it; target: >= 0.7 +(PASS|MISS)`,
		`CPU ` + num + ` µs a call \(the process`,
		`CPU ` + num + ` µs an SMS's NATS work \(` + num + `% of [0-9]+ cores\); the SMS phase used ` + num + ` µs a call`,
		`Latency +50 alerts .* p50 ` + num + ` ms, p99 ` + num + ` ms`,
		`p50 <= 5.0 ms +(PASS|MISS); p99 <= 25.0 ms +(PASS|MISS)`,
		`through Herald .* = ` + num + ` webhooks/s`,
		`bare net/http loop .* = ` + num + ` posts/s`,
		`ratio ` + num + `%; target: >= 80% of the bare loop +(PASS|MISS)`,
		`memory after import: Go heap in use ` + num + ` MB, RSS ` + num + ` MB`,
		`Storage +residents: KV_HERALD_SUBSCRIBERS holds ` + num + ` MB in 20,001 messages = ` + num + ` B a resident; the data dir ` + num + ` MB`,
		`Storage +deliveries: KV_HERALD_DELIVERIES holds ` + num + ` MB in ` + num + ` messages = ` + num + ` B a delivery`,
		`Peak RSS of the whole run \(Herald, NATS server, fakes\): ` + num + ` MB`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The reads phase is measured only when the fan-out outlasts its
	// windows (on a slow machine, or under -race); then it has a verdict.
	want := 6
	switch {
	case regexp.MustCompile(`Reads +during the fan-out: .* = ` + num + ` of the rate without`).MatchString(out):
		want++
	case !regexp.MustCompile(`Reads +not measured: ` + num + ` SMS left of the fan-out`).MatchString(out):
		t.Errorf("output says nothing of the reads phase")
	}
	if n := strings.Count(out, "PASS") + strings.Count(out, "MISS"); n != want {
		t.Errorf("%d verdicts, want %d", n, want)
	}
}
