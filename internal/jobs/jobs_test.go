package jobs

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/test/natstest"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in string
		want     Job
		err      string
	}{
		{"batch", `{"alert_id":"a1","channel":"sms","lane":"urgent","recipients":["r1","r2"]}`,
			Job{AlertID: "a1", Channel: channels.SMS, Lane: Urgent, Recipients: []string{"r1", "r2"}}, ""},
		{"job queued before batches", `{"alert_id":"a1","channel":"sms","recipient":"r1"}`,
			Job{AlertID: "a1", Channel: channels.SMS, Lane: Routine, Recipients: []string{"r1"}}, ""},
		{"not json", `{`, Job{}, "decode job"},
		{"no recipient", `{"alert_id":"a1","channel":"sms","recipients":[]}`, Job{}, "missing field"},
		{"empty recipient", `{"alert_id":"a1","channel":"sms","recipients":["r1",""]}`, Job{}, "empty recipient"},
		{"missing channel", `{"alert_id":"a1","recipients":["r1"]}`, Job{}, "missing field"},
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
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestKeyAndSubject(t *testing.T) {
	d := Delivery{AlertID: "a1", Channel: channels.Webhook, Recipient: "wh_1"}
	if got := d.Key(); got != "a1.webhook.wh_1" {
		t.Errorf("Key = %q", got)
	}
	if back, err := ParseKey(d.Key()); err != nil || back != d {
		t.Errorf("ParseKey(%q) = %+v, %v", d.Key(), back, err)
	}
	for _, bad := range []string{"", "a1", "a1.sms", "a1.sms.", ".sms.r1", "a1.fax.r1"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if got := Subject(channels.SMS, Urgent); got != "herald.jobs.sms.urgent" {
		t.Errorf("Subject = %q", got)
	}
	a, b := Job{AlertID: "a1", Channel: channels.SMS, Recipients: []string{"ab", "c"}}, Job{AlertID: "a1", Channel: channels.SMS, Recipients: []string{"a", "bc"}}
	if a.ID() == b.ID() {
		t.Errorf("different batches share the id %s", a.ID())
	}
}

// TestLaneOf is the documented mapping from urgency and severity to lanes.
func TestLaneOf(t *testing.T) {
	tests := []struct {
		infos [][2]string // urgency, severity
		want  Lane
	}{
		{[][2]string{{"Immediate", "Extreme"}}, Urgent},
		{[][2]string{{"Future", "Extreme"}}, Urgent},
		{[][2]string{{"Immediate", "Severe"}}, Urgent},
		{[][2]string{{"Expected", "Severe"}}, Prompt},
		{[][2]string{{"Immediate", "Moderate"}}, Prompt},
		{[][2]string{{"Expected", "Minor"}}, Prompt},
		{[][2]string{{"Future", "Severe"}}, Prompt},
		{[][2]string{{"Future", "Moderate"}}, Routine},
		{[][2]string{{"Past", "Minor"}}, Routine},
		{[][2]string{{"Unknown", "Unknown"}}, Routine},
		{nil, Routine},
		// The most pressing info decides.
		{[][2]string{{"Future", "Minor"}, {"Immediate", "Extreme"}}, Urgent},
		{[][2]string{{"Future", "Minor"}, {"Expected", "Moderate"}}, Prompt},
	}
	for _, tt := range tests {
		a := &cap.Alert{}
		for _, in := range tt.infos {
			a.Info = append(a.Info, cap.Info{Urgency: cap.Urgency(in[0]), Severity: cap.Severity(in[1])})
		}
		if got := LaneOf(a); got != tt.want {
			t.Errorf("LaneOf(%v) = %s, want %s", tt.infos, got, tt.want)
		}
	}
}

// TestPublishBatchesAndDedups stores recipients in jobs of BatchSize,
// then the same again: the stream holds each job once (a replanned alert
// whose batches come out the same adds nothing).
func TestPublishBatchesAndDedups(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	stream, err := Open(ctx, Config{JS: js, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := BatchSize[channels.SMS]*window + 10
	for range 2 {
		p := NewPublisher(js, "a1", Prompt, false)
		for i := range n {
			if err := p.Add(ctx, channels.SMS, fmt.Sprintf("r%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Add(ctx, channels.Webhook, "h1"); err != nil {
			t.Fatal(err)
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(SubjectPrefix+">"))
	if err != nil {
		t.Fatal(err)
	}
	wantSMS := uint64(window + 1) // full jobs, then one of 10
	if info.State.Msgs != wantSMS+1 {
		t.Errorf("stream holds %d jobs, want %d", info.State.Msgs, wantSMS+1)
	}
	if got := info.State.Subjects[Subject(channels.SMS, Prompt)]; got != wantSMS {
		t.Errorf("%d SMS jobs on %s, want %d (subjects %v)", got, Subject(channels.SMS, Prompt), wantSMS, info.State.Subjects)
	}
}
