package jobs

import (
	"context"
	"strings"
	"testing"

	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/test/natstest"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in string
		want     Job
		err      string
	}{
		{"whole job", `{"alert_id":"a1","channel":"sms","recipient":"r1"}`, Job{AlertID: "a1", Channel: channels.SMS, Recipient: "r1"}, ""},
		{"not json", `{`, Job{}, "decode job"},
		{"missing recipient", `{"alert_id":"a1","channel":"sms"}`, Job{}, "missing field"},
		{"missing channel", `{"alert_id":"a1","recipient":"r1"}`, Job{}, "missing field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Decode = %v, want error containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Decode = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestKeyAndSubject(t *testing.T) {
	j := Job{AlertID: "a1", Channel: channels.Webhook, Recipient: "wh_1"}
	if got := j.Key(); got != "a1.webhook.wh_1" {
		t.Errorf("Key = %q", got)
	}
	if got := Subject(channels.SMS); got != "herald.jobs.sms" {
		t.Errorf("Subject = %q", got)
	}
}

// TestPublishDedups stores jobs past the publish window, then the same
// jobs again: the stream holds each once (a replanned alert adds nothing).
func TestPublishDedups(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	stream, err := Open(ctx, Config{JS: js, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	var list []Job
	for i := range window + 10 {
		list = append(list, Job{AlertID: "a1", Channel: channels.SMS, Recipient: "r" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)})
	}
	for range 2 {
		if err := Publish(ctx, js, list); err != nil {
			t.Fatal(err)
		}
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(len(list)) {
		t.Errorf("stream holds %d jobs, want %d", info.State.Msgs, len(list))
	}
}
