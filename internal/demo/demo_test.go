package demo

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRun runs the demo and checks that each channel delivered what the
// demo says: SMS to the four residents inside the area (one in Spanish),
// the hospital's verified webhook, the regional NATS copy and the post.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, &out, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"Imported 6 residents",
		"herald.alerts.region.us-county-53033",
		"signature verified",
		"Hierva el agua",
		"sms      sent 0, logged 4, delivered 0, failed 0, skipped 0, queued 0",
		"webhook  sent 0, logged 0, delivered 1,", // the hospital answered 2xx
		"social   sent 0, logged 2,",              // Mastodon and Bluesky
		"Social thread as it would be posted to bluesky:",
		"reply to the first post, es-US",
		"facets (bytes of the UTF-8 text): http",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
}
