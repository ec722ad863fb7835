package deliveries

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/test/natstest"
)

// openStore opens a Store on a fresh, real in-process nats-server.
func openStore(t testing.TB) *Store {
	t.Helper()
	js := natstest.JetStream(t)
	s, err := Open(context.Background(), Config{JS: js, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func job(alert string, channel channels.Channel, recipient string) jobs.Delivery {
	return jobs.Delivery{AlertID: alert, Channel: channel, Recipient: recipient}
}

// settle records and counts an outcome, as the dispatcher does.
func settle(t *testing.T, s *Store, d jobs.Delivery, r Record) {
	t.Helper()
	ctx := context.Background()
	if r.Final() {
		r.Outcome = r.State
	}
	if err := s.Put(ctx, d, r); err != nil {
		t.Fatal(err)
	}
	if !r.Final() {
		return
	}
	f, err := s.Count(d, r.State)
	if err != nil {
		t.Fatal(err)
	}
	if err := Wait(ctx, []jetstream.PubAckFuture{f}); err != nil {
		t.Fatal(err)
	}
}

func TestPutGet(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

	tests := []struct {
		name string
		job  jobs.Delivery
		put  []Record // in order; the last one is read back
	}{
		{"sent", job("a1", channels.SMS, "r1"), []Record{{State: Sent, ProviderID: "SM1", Attempts: 1, At: at}}},
		{"failed with reason", job("a1", channels.Webhook, "h1"), []Record{{State: Failed, Reason: "http 410", Attempts: 3, At: at}}},
		{"overwritten", job("a1", channels.Social, "mastodon"), []Record{{State: Queued, At: at}, {State: Skipped, Reason: "alert cancelled", At: at}}},
		{"same recipient, other alert", job("a2", channels.SMS, "r1"), []Record{{State: Failed, Reason: "other alert", At: at}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range tc.put {
				if err := s.Put(ctx, tc.job, r); err != nil {
					t.Fatalf("Put: %v", err)
				}
			}
			got, err := s.Get(ctx, tc.job)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if want := tc.put[len(tc.put)-1]; !got.At.Equal(want.At) || got.State != want.State || got.Reason != want.Reason || got.ProviderID != want.ProviderID || got.Attempts != want.Attempts {
				t.Errorf("Get = %+v, want %+v", got, want)
			}
		})
	}
	// The other alert's record did not overwrite a1's.
	if got, _ := s.Get(ctx, job("a1", channels.SMS, "r1")); got.State != Sent {
		t.Errorf("a1/sms/r1 = %+v after a2/sms/r1 was written", got)
	}

	t.Run("unknown delivery", func(t *testing.T) {
		if _, err := s.Get(ctx, job("a1", channels.SMS, "nobody")); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get = %v, want ErrNotFound", err)
		}
	})
	t.Run("zero time is set", func(t *testing.T) {
		before := time.Now()
		j := job("a3", channels.SMS, "r1")
		if err := s.Put(ctx, j, Record{State: Sent}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		if got.At.Before(before.Add(-time.Second)) || got.At.After(time.Now().Add(time.Second)) {
			t.Errorf("At = %v, want about now", got.At)
		}
	})
}

func TestRecordFinal(t *testing.T) {
	for _, tc := range []struct {
		state string
		final bool
	}{
		{"", false}, {Queued, false}, {Sent, true}, {Delivered, true}, {Failed, true}, {Skipped, true},
	} {
		t.Run("state "+tc.state, func(t *testing.T) {
			if got := (Record{State: tc.state}).Final(); got != tc.final {
				t.Errorf("Final() = %v, want %v", got, tc.final)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)

	const alert = "a1"
	if err := s.SetPlan(ctx, alert, Plan{channels.SMS: 4, channels.Webhook: 2, channels.Social: 1}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Deliveries of other alerts (one whose id extends a1's) must not count.
	for _, other := range []string{"a10", "a2"} {
		if err := s.SetPlan(ctx, other, Plan{channels.SMS: 1}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		settle(t, s, job(other, channels.SMS, "r1"), Record{State: Failed, Reason: "not a1"})
	}

	// A put settles a delivery as the dispatcher does (record, then count),
	// or with report, applies a provider's report to it.
	type put struct {
		job    jobs.Delivery
		rec    Record
		report bool
	}
	// Steps run in order; each adds records, then the summary is checked.
	steps := []struct {
		name     string
		puts     []put
		want     map[channels.Channel]Counts
		done     bool
		failures []Failure
	}{
		{
			name: "nothing recorded yet",
			want: map[channels.Channel]Counts{channels.SMS: {Queued: 4}, channels.Webhook: {Queued: 2}, channels.Social: {Queued: 1}},
		},
		{
			name: "some final, a queued record is not",
			puts: []put{
				{job(alert, channels.SMS, "r1"), Record{State: Sent, ProviderID: "SM1"}, false},
				{job(alert, channels.SMS, "r2"), Record{State: Failed, Reason: "invalid number"}, false},
				{job(alert, channels.SMS, "r3"), Record{State: Queued}, false},
				{job(alert, channels.Webhook, "h1"), Record{State: Skipped, Reason: "subscription disabled"}, false},
			},
			want:     map[channels.Channel]Counts{channels.SMS: {Queued: 2, Sent: 1, Failed: 1}, channels.Webhook: {Queued: 1, Skipped: 1}, channels.Social: {Queued: 1}},
			failures: []Failure{{Channel: string(channels.SMS), Recipient: "r2", State: Failed, Reason: "invalid number"}, {Channel: string(channels.Webhook), Recipient: "h1", State: Skipped, Reason: "subscription disabled"}},
		},
		{
			name: "all but one final; a delivery settled twice counts once",
			puts: []put{
				{job(alert, channels.SMS, "r1"), Record{State: Delivered, ProviderID: "SM1"}, true},
				{job(alert, channels.SMS, "r1"), Record{State: Delivered, ProviderID: "SM1"}, true},
				{job(alert, channels.SMS, "r3"), Record{State: Sent}, false},
				{job(alert, channels.SMS, "r4"), Record{State: Sent}, false},
				{job(alert, channels.SMS, "r4"), Record{State: Sent}, false},
				{job(alert, channels.Webhook, "h2"), Record{State: Sent}, false},
			},
			want:     map[channels.Channel]Counts{channels.SMS: {Sent: 2, Delivered: 1, Failed: 1}, channels.Webhook: {Sent: 1, Skipped: 1}, channels.Social: {Queued: 1}},
			failures: []Failure{{Channel: string(channels.SMS), Recipient: "r2", State: Failed, Reason: "invalid number"}, {Channel: string(channels.Webhook), Recipient: "h1", State: Skipped, Reason: "subscription disabled"}},
		},
		{
			name: "every planned job final",
			puts: []put{
				{job(alert, channels.Social, "mastodon"), Record{State: Failed, Reason: "http 422"}, false},
			},
			want:     map[channels.Channel]Counts{channels.SMS: {Sent: 2, Delivered: 1, Failed: 1}, channels.Webhook: {Sent: 1, Skipped: 1}, channels.Social: {Failed: 1}},
			done:     true,
			failures: []Failure{{Channel: string(channels.SMS), Recipient: "r2", State: Failed, Reason: "invalid number"}, {Channel: string(channels.Social), Recipient: "mastodon", State: Failed, Reason: "http 422"}, {Channel: string(channels.Webhook), Recipient: "h1", State: Skipped, Reason: "subscription disabled"}},
		},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			for _, p := range step.puts {
				if p.report {
					if err := s.ProviderReportFor(ctx, p.job, p.rec.ProviderID, p.rec.State, ""); err != nil {
						t.Fatal(err)
					}
					continue
				}
				settle(t, s, p.job, p.rec)
			}
			sum, err := s.Summarize(ctx, alert)
			if err != nil {
				t.Fatalf("Summarize: %v", err)
			}
			if sum.AlertID != alert || !sum.Planned {
				t.Errorf("AlertID = %q, Planned = %v", sum.AlertID, sum.Planned)
			}
			if sum.Done != step.done {
				t.Errorf("Done = %v, want %v", sum.Done, step.done)
			}
			for _, ch := range channels.All {
				if sum.Channels[string(ch)] != step.want[ch] {
					t.Errorf("%s = %+v, want %+v", ch, sum.Channels[string(ch)], step.want[ch])
				}
			}
			got := slices.Clone(sum.Failures)
			byKey := func(a, b Failure) int {
				return strings.Compare(a.Channel+"/"+a.Recipient, b.Channel+"/"+b.Recipient)
			}
			slices.SortFunc(got, byKey)
			want := slices.Clone(step.failures)
			slices.SortFunc(want, byKey)
			if !slices.Equal(got, want) {
				t.Errorf("Failures = %+v, want %+v", got, want)
			}
		})
	}

	t.Run("alert without a plan", func(t *testing.T) {
		// Records alone (no plan yet) do not make a summary.
		if err := s.Put(ctx, job("a9", channels.SMS, "r1"), Record{State: Sent}); err != nil {
			t.Fatal(err)
		}
		sum, err := s.Summarize(ctx, "a9")
		if err != nil {
			t.Fatalf("Summarize: %v", err)
		}
		if sum.Planned || sum.Done {
			t.Errorf("Planned = %v, Done = %v; want both false", sum.Planned, sum.Done)
		}
		for _, ch := range channels.All {
			if c, ok := sum.Channels[string(ch)]; !ok || c != (Counts{}) {
				t.Errorf("channel %s = %+v, %v; want present and zero", ch, c, ok)
			}
		}
		if sum.Failures == nil || len(sum.Failures) != 0 {
			t.Errorf("Failures = %#v, want an empty list", sum.Failures)
		}
	})

	t.Run("empty plan is done at once", func(t *testing.T) {
		if err := s.SetPlan(ctx, "a8", Plan{channels.SMS: 0, channels.Webhook: 0, channels.Social: 0}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		sum, err := s.Summarize(ctx, "a8")
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Planned || !sum.Done {
			t.Errorf("Planned = %v, Done = %v; want both true", sum.Planned, sum.Done)
		}
	})
}

// TestProviderReport: a report for a delivery recorded by Herald before
// per-message callback keys finds it through the provider-id index.
func TestProviderReport(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	// legacy writes what Herald before callback keys wrote for a sent one.
	legacy := func(d jobs.Delivery, r Record) {
		if err := s.Put(ctx, d, r); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(providerEntry{AlertID: d.AlertID, Channel: d.Channel, Recipient: d.Recipient})
		if _, err := s.kv.Put(ctx, providerKey(d.Channel, r.ProviderID), b); err != nil {
			t.Fatal(err)
		}
	}
	sent := job("a1", channels.SMS, "r1")
	legacy(sent, Record{State: Sent, ProviderID: "SM0123456789abcdef", Attempts: 1})
	// A provider id with characters a KV key cannot hold still finds its job.
	odd := job("a1", channels.SMS, "r2")
	legacy(odd, Record{State: Sent, ProviderID: "109/status.42@x", Attempts: 2})
	// A failed delivery with a provider id is not indexed.
	failed := job("a1", channels.SMS, "r3")
	if err := s.Put(ctx, failed, Record{State: Failed, ProviderID: "SMfailed", Reason: "21211"}); err != nil {
		t.Fatal(err)
	}

	// Steps run in order.
	steps := []struct {
		name       string
		channel    channels.Channel
		providerID string
		state      string
		reason     string
		wantErr    error
		wantJob    jobs.Delivery
		wantState  string // stored state of wantJob afterwards
		wantReason string
	}{
		{name: "sent to delivered", channel: channels.SMS, providerID: "SM0123456789abcdef", state: Delivered, wantJob: sent, wantState: Delivered},
		{name: "late sent does not undo delivered", channel: channels.SMS, providerID: "SM0123456789abcdef", state: Sent, wantJob: sent, wantState: Delivered},
		{name: "repeated delivered", channel: channels.SMS, providerID: "SM0123456789abcdef", state: Delivered, wantJob: sent, wantState: Delivered},
		{name: "failed after delivered is kept", channel: channels.SMS, providerID: "SM0123456789abcdef", state: Failed, reason: "30005", wantJob: sent, wantState: Failed, wantReason: "30005"},
		{name: "odd provider id", channel: channels.SMS, providerID: "109/status.42@x", state: Delivered, wantJob: odd, wantState: Delivered},
		{name: "unknown id", channel: channels.SMS, providerID: "SMnever", state: Delivered, wantErr: ErrNotFound},
		{name: "known id on another channel", channel: channels.Social, providerID: "SM0123456789abcdef", state: Delivered, wantErr: ErrNotFound},
		{name: "id of a failed delivery", channel: channels.SMS, providerID: "SMfailed", state: Delivered, wantErr: ErrNotFound, wantJob: failed, wantState: Failed, wantReason: "21211"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			j, err := s.ProviderReport(ctx, step.channel, step.providerID, step.state, step.reason)
			if !errors.Is(err, step.wantErr) {
				t.Fatalf("ProviderReport error = %v, want %v", err, step.wantErr)
			}
			if step.wantErr == nil && j != step.wantJob {
				t.Errorf("ProviderReport job = %+v, want %+v", j, step.wantJob)
			}
			if step.wantJob == (jobs.Delivery{}) {
				return
			}
			r, err := s.Get(ctx, step.wantJob)
			if err != nil {
				t.Fatal(err)
			}
			if r.State != step.wantState || r.Reason != step.wantReason {
				t.Errorf("record = %+v, want state %s reason %q", r, step.wantState, step.wantReason)
			}
			if r.ProviderID != step.providerID || r.Attempts == 0 && step.wantJob != failed {
				t.Errorf("record lost its provider id or attempts: %+v", r)
			}
		})
	}
}

// TestSummarizeRebuild: an alert whose deliveries were recorded by a
// Herald without counters is counted from its records; once none is
// queued, the counts are stored and later summaries read them.
func TestSummarizeRebuild(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if err := s.SetPlan(ctx, "old", Plan{channels.SMS: 3}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	put := func(r string, rec Record) {
		if err := s.Put(ctx, job("old", channels.SMS, r), rec); err != nil {
			t.Fatal(err)
		}
	}
	put("r1", Record{State: Sent})
	put("r2", Record{State: Delivered})
	sum, err := s.Summarize(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if c := sum.Channels["sms"]; sum.Done || c != (Counts{Queued: 1, Sent: 1, Delivered: 1}) {
		t.Fatalf("partial summary %+v, done %v", c, sum.Done)
	}
	put("r3", Record{State: Failed, Reason: "21211"})
	for range 2 { // the second reads the stored counters
		sum, err = s.Summarize(ctx, "old")
		if err != nil {
			t.Fatal(err)
		}
		if c := sum.Channels["sms"]; !sum.Done || c != (Counts{Sent: 1, Delivered: 1, Failed: 1}) {
			t.Fatalf("summary %+v, done %v", c, sum.Done)
		}
	}
	counted, err := s.readCounters(ctx, "old", &Summary{Channels: map[string]Counts{}})
	if err != nil || !counted {
		t.Errorf("counters stored after the rebuild: %v, %v", counted, err)
	}
}

// TestRecordBeforeItsCount: a dispatcher publishes a delivery's record and
// its count without waiting, so a summary may see every record stored and
// no count yet. It must not count the records itself (the counts on their
// way would count them again).
func TestRecordBeforeItsCount(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if err := s.SetPlan(ctx, "new", Plan{channels.SMS: 1}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	d := job("new", channels.SMS, "r1")
	if err := s.Put(ctx, d, Record{State: Sent, Outcome: Sent, ProviderID: "SM1", Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	if sum, err := s.Summarize(ctx, "new"); err != nil || sum.Done {
		t.Fatalf("summary before the count: %+v, %v; want not done yet", sum, err)
	}
	f, err := s.Count(d, Sent)
	if err != nil || Wait(ctx, []jetstream.PubAckFuture{f}) != nil {
		t.Fatal(err)
	}
	sum, err := s.Summarize(ctx, "new")
	if err != nil {
		t.Fatal(err)
	}
	if c := sum.Channels["sms"]; !sum.Done || c != (Counts{Sent: 1}) {
		t.Fatalf("summary %+v, done %v; want 1 sent, counted once", c, sum.Done)
	}
}

// BenchmarkSummarize is the status view of an alert a million deliveries
// into its fan-out (counters at a million, a thousand failures listed):
// its cost does not grow with the fan-out.
func BenchmarkSummarize(b *testing.B) {
	ctx := context.Background()
	s := openStore(b)
	const alert = "abig"
	if err := s.SetPlan(ctx, alert, Plan{channels.SMS: 2_000_000, channels.Webhook: 200}, time.Time{}); err != nil {
		b.Fatal(err)
	}
	var fs []jetstream.PubAckFuture
	for state, n := range map[string]int{Sent: 990_000, Delivered: 9_000, Failed: 1_000} {
		f, err := s.incr(counterSubject(alert, channels.SMS, state), n, "bench."+state)
		if err != nil {
			b.Fatal(err)
		}
		fs = append(fs, f)
	}
	if err := Wait(ctx, fs); err != nil {
		b.Fatal(err)
	}
	for i := range 1_000 {
		if err := s.Put(ctx, job(alert, channels.SMS, fmt.Sprintf("r%d", i)), Record{State: Failed, Reason: "21211"}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		sum, err := s.Summarize(ctx, alert)
		if err != nil {
			b.Fatal(err)
		}
		if c := sum.Channels["sms"]; c.Sent != 990_000 || c.Queued != 1_000_000 || len(sum.Failures) != 1_000 {
			b.Fatalf("summary %+v with %d failures", c, len(sum.Failures))
		}
	}
}

// TestProviderReportFor: a report names its delivery (the callback key);
// it applies only to a delivery sent with that provider id, and moves the
// counters once however often it is repeated.
func TestProviderReportFor(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if err := s.SetPlan(ctx, "a1", Plan{channels.SMS: 2}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	sent, failed := job("a1", channels.SMS, "r1"), job("a1", channels.SMS, "r2")
	settle(t, s, sent, Record{State: Sent, Outcome: Sent, ProviderID: "SM1", Attempts: 1})
	settle(t, s, failed, Record{State: Failed, Outcome: Failed, ProviderID: "SM2", Reason: "21211"})

	for _, tc := range []struct {
		name    string
		d       jobs.Delivery
		sid     string
		state   string
		wantErr error
		wantSum Counts
		wantRec string
	}{
		{"other provider id", sent, "SM9", Delivered, ErrNotFound, Counts{Sent: 1, Failed: 1}, Sent},
		{"delivery not sent", failed, "SM2", Delivered, ErrNotFound, Counts{Sent: 1, Failed: 1}, Failed},
		{"unknown delivery", job("a1", channels.SMS, "r9"), "SM1", Delivered, ErrNotFound, Counts{Sent: 1, Failed: 1}, ""},
		{"delivered", sent, "SM1", Delivered, nil, Counts{Delivered: 1, Failed: 1}, Delivered},
		{"delivered again", sent, "SM1", Delivered, nil, Counts{Delivered: 1, Failed: 1}, Delivered},
		{"late sent", sent, "SM1", Sent, nil, Counts{Delivered: 1, Failed: 1}, Delivered},
		{"undelivered after all", sent, "SM1", Failed, nil, Counts{Failed: 2}, Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.ProviderReportFor(ctx, tc.d, tc.sid, tc.state, ""); !errors.Is(err, tc.wantErr) {
				t.Fatalf("ProviderReportFor = %v, want %v", err, tc.wantErr)
			}
			sum, err := s.Summarize(ctx, "a1")
			if err != nil {
				t.Fatal(err)
			}
			if got := sum.Channels["sms"]; got != tc.wantSum {
				t.Errorf("counts %+v, want %+v", got, tc.wantSum)
			}
			if tc.wantRec != "" {
				if r, err := s.Get(ctx, tc.d); err != nil || r.State != tc.wantRec {
					t.Errorf("record %+v, %v; want state %s", r, err, tc.wantRec)
				}
			}
		})
	}
}

// TestRetention: records, failure lists and plans expire Retention after
// their alert does (here 1 s, and an alert that expired already); one of
// an alert still running is kept.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{JS: natstest.JetStream(t), Replicas: 1, Retention: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	old, running := job("aold", channels.SMS, "r1"), job("anew", channels.SMS, "r1")
	if err := s.Put(ctx, old, Record{State: Failed, Reason: "21211", Expires: past}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, running, Record{State: Sent, Expires: future}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPlan(ctx, "aold", Plan{channels.SMS: 1}, past); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, old); err != nil {
		t.Fatalf("fresh record: %v", err)
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := s.Get(ctx, old); !errors.Is(err, ErrNotFound) {
		t.Errorf("record of an expired alert after its retention: %v, want ErrNotFound", err)
	}
	if sum, err := s.Summarize(ctx, "aold"); err != nil || sum.Planned || len(sum.Failures) != 0 {
		t.Errorf("summary after retention: %+v, %v; want no plan, no failures", sum, err)
	}
	if _, err := s.Get(ctx, running); err != nil {
		t.Errorf("record of a running alert: %v", err)
	}
}

// TestOpenUpgradesBucket: a bucket made by Herald before retention (no
// per-entry TTLs) is updated in place on start.
func TestOpenUpgradesBucket(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, Storage: jetstream.FileStorage, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "d.a1.sms.r1", []byte(`{"state":"sent"}`)); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Config{JS: js, Replicas: 1, Retention: time.Hour})
	if err != nil {
		t.Fatalf("Open on an old bucket: %v", err)
	}
	if r, err := s.Get(ctx, job("a1", channels.SMS, "r1")); err != nil || r.State != Sent {
		t.Errorf("old record after the upgrade: %+v, %v", r, err)
	}
	if err := s.Put(ctx, job("a1", channels.SMS, "r2"), Record{State: Sent}); err != nil {
		t.Errorf("Put with a TTL after the upgrade: %v", err)
	}
}
