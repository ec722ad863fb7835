package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/test/natstest"
)

func TestBackoff(t *testing.T) {
	r := Retry{Base: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		name       string
		n          int
		retryAfter time.Duration
		// The delay must lie in [lo, hi]; jitter means lo < hi unless the
		// provider's Retry-After decides.
		lo, hi time.Duration
	}{
		{"first retry", 1, 0, 50 * time.Millisecond, 100 * time.Millisecond},
		{"second retry doubles", 2, 0, 100 * time.Millisecond, 200 * time.Millisecond},
		{"third retry doubles again", 3, 0, 200 * time.Millisecond, 400 * time.Millisecond},
		{"fourth retry", 4, 0, 400 * time.Millisecond, 800 * time.Millisecond},
		{"capped at Max", 5, 0, 500 * time.Millisecond, time.Second},
		{"still capped much later", 200, 0, 500 * time.Millisecond, time.Second},
		{"short Retry-After loses to backoff", 1, 10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond},
		{"Retry-After wins when longer", 1, 5 * time.Second, 5 * time.Second, 5 * time.Second},
		{"Retry-After above Max", 200, 3 * time.Second, 3 * time.Second, 3 * time.Second},
		{"Retry-After inside the jitter range is a floor", 5, 900 * time.Millisecond, 900 * time.Millisecond, time.Second},
	}
	const samples = 2000
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lowest, highest := time.Duration(1<<62), time.Duration(0)
			for i := range samples {
				d := r.Backoff(tc.n, tc.retryAfter, float64(i)/samples)
				if d < tc.lo || d > tc.hi {
					t.Fatalf("Backoff(%d, %v) = %v, want within [%v, %v]", tc.n, tc.retryAfter, d, tc.lo, tc.hi)
				}
				lowest, highest = min(lowest, d), max(highest, d)
			}
			// Jitter spreads retries over the range: over many samples
			// both ends of it are reached (each quarter has probability
			// 1/4 per sample).
			if span := tc.hi - tc.lo; span > 0 {
				if lowest > tc.lo+span/4 || highest < tc.hi-span/4 {
					t.Errorf("Backoff(%d) ranged over [%v, %v] in %d samples; want jitter across [%v, %v]", tc.n, lowest, highest, samples, tc.lo, tc.hi)
				}
			}
		})
	}
}

// TestDecide is the retry decision, rule by rule.
func TestDecide(t *testing.T) {
	r := Retry{Base: time.Second, Max: 8 * time.Second, MaxAttempts: 4, MaxAge: time.Hour}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	transient := channels.Retryable("http 503", 0, errors.New("down"))
	tests := []struct {
		name      string
		a         Attempt
		state     string
		reason    string // substring
		delay     time.Duration
		permanent bool
	}{
		{name: "accepted", a: Attempt{N: 1}, state: deliveries.Sent},
		{name: "permanent fails at once", a: Attempt{N: 1, Err: channels.Permanent("21211", errors.New("invalid number"))},
			state: deliveries.Failed, reason: "invalid number", permanent: true},
		{name: "opted out is permanent", a: Attempt{N: 2, Err: channels.Permanent("21610", channels.ErrOptedOut)},
			state: deliveries.Failed, reason: "opted out", permanent: true},
		{name: "transient is retried after backoff", a: Attempt{N: 1, Err: transient, Now: now},
			state: deliveries.Queued, reason: "http 503", delay: 500 * time.Millisecond},
		{name: "unclassified errors are retried", a: Attempt{N: 2, Err: errors.New("eof"), Now: now},
			state: deliveries.Queued, delay: time.Second},
		{name: "Retry-After lengthens the delay", a: Attempt{N: 1, Err: channels.Retryable("http 429", 30*time.Second, errors.New("slow down")), Now: now},
			state: deliveries.Queued, delay: 30 * time.Second},
		{name: "last attempt gives up", a: Attempt{N: 4, Err: transient, Now: now},
			state: deliveries.Failed, reason: "gave up after 4 attempts"},
		{name: "too old gives up", a: Attempt{N: 2, Err: transient, Age: time.Hour - time.Millisecond, Now: now},
			state: deliveries.Failed, reason: "gave up after 1h0m0s"},
		{name: "alert expires before the retry", a: Attempt{N: 1, Err: transient, Now: now, Until: now.Add(100 * time.Millisecond)},
			state: deliveries.Failed, reason: "alert expires before the next attempt"},
		{name: "alert expires after the retry", a: Attempt{N: 1, Err: transient, Now: now, Until: now.Add(time.Minute)},
			state: deliveries.Queued, delay: 500 * time.Millisecond},
		{name: "full jitter doubles the floor", a: Attempt{N: 1, Err: transient, Now: now, Jitter: 0.999999},
			state: deliveries.Queued, delay: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := r.Decide(tc.a)
			if v.State != tc.state || !strings.Contains(v.Reason, tc.reason) || v.Permanent != tc.permanent {
				t.Fatalf("Decide = %+v; want state %s, reason ~%q, permanent %v", v, tc.state, tc.reason, tc.permanent)
			}
			if tc.delay != 0 && (v.Delay < tc.delay-time.Millisecond || v.Delay > tc.delay+time.Millisecond) {
				t.Errorf("delay %v, want %v", v.Delay, tc.delay)
			}
		})
	}
}

// fakeNotifier answers each recipient (Message.To) from a script of
// errors, then succeeds; it records when it was called.
type fakeNotifier struct {
	mu     sync.Mutex
	script map[string][]error
	calls  map[string][]time.Time
	keys   map[string]string
}

func (f *fakeNotifier) Send(_ context.Context, m channels.Message) (channels.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[m.To] = append(f.calls[m.To], time.Now())
	f.keys[m.To] = m.Key
	if s := f.script[m.To]; len(s) > 0 {
		f.script[m.To] = s[1:]
		if s[0] != nil {
			return channels.Receipt{}, s[0]
		}
	}
	return channels.Receipt{ProviderID: "P-" + m.To}, nil
}

func (f *fakeNotifier) callTimes(to string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls[to]...)
}

// fakeComposer addresses a job to its recipient, or skips it.
type fakeComposer struct{ skip map[string]string }

func (c fakeComposer) Compose(_ context.Context, j jobs.Delivery) (channels.Message, string, error) {
	if reason := c.skip[j.Recipient]; reason != "" {
		return channels.Message{}, reason, nil
	}
	return channels.Message{To: j.Recipient, Text: "Boil water"}, "", nil
}

// fakeAlerts says which alerts may still be delivered.
type fakeAlerts struct {
	skip  map[string]string
	until map[string]time.Time
}

func (a fakeAlerts) Deliverable(_ context.Context, id string) (string, time.Time, error) {
	return a.skip[id], a.until[id], nil
}

type permanentCall struct {
	job      jobs.Delivery
	optedOut bool
}

// publish queues deliveries as jobs, one publisher per alert.
func publish(t *testing.T, js jetstream.JetStream, list []jobs.Delivery, lane jobs.Lane, replanned bool) {
	t.Helper()
	ctx := context.Background()
	pubs := map[string]*jobs.Publisher{}
	for _, d := range list {
		p := pubs[d.AlertID]
		if p == nil {
			p = jobs.NewPublisher(js, d.AlertID, lane, replanned)
			pubs[d.AlertID] = p
		}
		if err := p.Add(ctx, d.Channel, d.Recipient); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pubs {
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDispatcher(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	stream, err := jobs.Open(ctx, jobs.Config{JS: js, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	store, err := deliveries.Open(ctx, deliveries.Config{JS: js, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}

	const (
		retryAfter  = 300 * time.Millisecond
		maxAttempts = 3
	)
	boom := errors.New("boom")
	type want struct {
		state      string
		reason     string // substring of the recorded reason
		providerID string
		attempts   int
		calls      int
	}
	tests := []struct {
		name      string
		alert     string
		recipient string
		script    []error            // notifier answers, then success
		prior     *deliveries.Record // written before the job is published
		want      want
	}{
		{name: "success", alert: "a1", recipient: "ok",
			want: want{state: deliveries.Sent, providerID: "P-ok", attempts: 1, calls: 1}},
		{name: "permanent error", alert: "a1", recipient: "optedout-number",
			script: []error{channels.Permanent("21610", fmt.Errorf("%w: %w", channels.ErrOptedOut, boom))},
			want:   want{state: deliveries.Failed, reason: "21610", attempts: 1, calls: 1}},
		{name: "unclassified error is retried", alert: "a1", recipient: "blip",
			script: []error{boom},
			want:   want{state: deliveries.Sent, providerID: "P-blip", attempts: 2, calls: 2}},
		{name: "retryable error until MaxAttempts", alert: "a1", recipient: "down",
			script: []error{channels.Retryable("http 503", 0, boom), channels.Retryable("http 503", 0, boom), channels.Retryable("http 503", 0, boom), channels.Retryable("http 503", 0, boom)},
			want:   want{state: deliveries.Failed, reason: "gave up after 3 attempts", attempts: maxAttempts, calls: maxAttempts}},
		{name: "Retry-After respected", alert: "a1", recipient: "throttled",
			script: []error{channels.Retryable("http 429", retryAfter, boom)},
			want:   want{state: deliveries.Sent, providerID: "P-throttled", attempts: 2, calls: 2}},
		{name: "already final is not sent again", alert: "a1", recipient: "done-before",
			prior: &deliveries.Record{State: deliveries.Sent, ProviderID: "earlier", Attempts: 1},
			want:  want{state: deliveries.Sent, providerID: "earlier", attempts: 1, calls: 0}},
		{name: "queued record is sent", alert: "a1", recipient: "queued-before",
			prior: &deliveries.Record{State: deliveries.Queued},
			want:  want{state: deliveries.Sent, providerID: "P-queued-before", attempts: 1, calls: 1}},
		{name: "cancelled alert is skipped", alert: "acancelled", recipient: "resident",
			want: want{state: deliveries.Skipped, reason: "alert cancelled", calls: 0}},
		{name: "composer skip", alert: "a1", recipient: "unsubscribed",
			want: want{state: deliveries.Skipped, reason: "recipient opted out", calls: 0}},
		{name: "alert expires before the retry", alert: "aexpired", recipient: "late",
			script: []error{channels.Retryable("http 503", 0, boom)},
			want:   want{state: deliveries.Failed, reason: "alert expires before the next attempt", attempts: 1, calls: 1}},
	}

	notifier := &fakeNotifier{script: map[string][]error{}, calls: map[string][]time.Time{}, keys: map[string]string{}}
	var (
		permMu    sync.Mutex
		permCalls []permanentCall
	)
	reg := prometheus.NewRegistry()
	var list []jobs.Delivery
	for _, tc := range tests {
		j := jobs.Delivery{AlertID: tc.alert, Channel: channels.SMS, Recipient: tc.recipient}
		list = append(list, j)
		notifier.script[tc.recipient] = tc.script
		if tc.prior != nil {
			if err := store.Put(ctx, j, *tc.prior); err != nil {
				t.Fatal(err)
			}
		}
	}
	d := New(Config{
		JS:       js,
		Channel:  channels.SMS,
		Notifier: notifier,
		Composer: fakeComposer{skip: map[string]string{"unsubscribed": "recipient opted out"}},
		Alerts: fakeAlerts{
			skip:  map[string]string{"acancelled": "alert cancelled"},
			until: map[string]time.Time{"aexpired": time.Now().Add(-time.Minute)},
		},
		Store:       store,
		Concurrency: 4,
		SendTimeout: 5 * time.Second,
		Retry:       Retry{Base: 2 * time.Millisecond, Max: 10 * time.Millisecond, MaxAttempts: maxAttempts},
		OnPermanent: func(_ context.Context, j jobs.Delivery, err error) error {
			permMu.Lock()
			defer permMu.Unlock()
			permCalls = append(permCalls, permanentCall{j, errors.Is(err, channels.ErrOptedOut)})
			return nil
		},
		Logger:  slog.New(slog.DiscardHandler),
		Metrics: NewMetrics(reg),
	})
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Stop(sctx)
	})
	// Planned again: records written before (prior) must be read.
	publish(t, js, list, jobs.Routine, true)

	// Every job ends acked: the work queue is empty once all are handled.
	deadline := time.Now().Add(8 * time.Second)
	for {
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs still in the stream", info.State.Msgs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Leave time for a wrongly repeated send to show.
	time.Sleep(100 * time.Millisecond)

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := jobs.Delivery{AlertID: tc.alert, Channel: channels.SMS, Recipient: tc.recipient}
			rec, err := store.Get(ctx, j)
			if err != nil {
				t.Fatalf("delivery record: %v", err)
			}
			w := tc.want
			if rec.State != w.state || rec.ProviderID != w.providerID || rec.Attempts != w.attempts {
				t.Errorf("record = %+v, want state %s provider %q attempts %d", rec, w.state, w.providerID, w.attempts)
			}
			if !strings.Contains(rec.Reason, w.reason) {
				t.Errorf("reason = %q, want it to contain %q", rec.Reason, w.reason)
			}
			if w.reason == "" && rec.Reason != "" {
				t.Errorf("reason = %q, want none", rec.Reason)
			}
			if n := len(notifier.callTimes(tc.recipient)); n != w.calls {
				t.Errorf("notifier called %d times, want %d", n, w.calls)
			}
		})
	}

	t.Run("message key is the job key", func(t *testing.T) {
		notifier.mu.Lock()
		defer notifier.mu.Unlock()
		if got, want := notifier.keys["ok"], (jobs.Delivery{AlertID: "a1", Channel: channels.SMS, Recipient: "ok"}).Key(); got != want {
			t.Errorf("Message.Key = %q, want %q", got, want)
		}
	})

	t.Run("Retry-After delays the second attempt", func(t *testing.T) {
		calls := notifier.callTimes("throttled")
		if len(calls) != 2 {
			t.Fatalf("%d calls, want 2", len(calls))
		}
		if gap := calls[1].Sub(calls[0]); gap < retryAfter {
			t.Errorf("second attempt %v after the first, want at least %v", gap, retryAfter)
		}
	})

	t.Run("OnPermanent called once with the error", func(t *testing.T) {
		permMu.Lock()
		defer permMu.Unlock()
		want := []permanentCall{{jobs.Delivery{AlertID: "a1", Channel: channels.SMS, Recipient: "optedout-number"}, true}}
		if len(permCalls) != 1 || permCalls[0] != want[0] {
			t.Errorf("OnPermanent calls = %+v, want %+v", permCalls, want)
		}
	})

	t.Run("metrics count outcomes", func(t *testing.T) {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				key := f.GetName()
				for _, l := range m.GetLabel() {
					key += "," + l.GetName() + "=" + l.GetValue()
				}
				if c := m.GetCounter(); c != nil {
					got[key] = c.GetValue()
				}
			}
		}
		wantCounts := map[string]float64{
			"herald_deliveries_total,channel=sms,state=sent":    4, // ok, blip, throttled, queued-before
			"herald_deliveries_total,channel=sms,state=failed":  3, // optedout-number, down, late
			"herald_deliveries_total,channel=sms,state=skipped": 2, // acancelled, unsubscribed
			"herald_delivery_retries_total,channel=sms":         4, // blip 1, down 2, throttled 1
		}
		for k, v := range wantCounts {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
	})
}

// TestLanes: an urgent job published while a large routine job is being
// sent at a limited rate overtakes it within the sends already waiting
// for the limiter; the routine job then resumes and finishes; nothing is
// sent twice, and the counters add up to the plan.
func TestLanes(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	if _, err := jobs.Open(ctx, jobs.Config{JS: js, Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	store, err := deliveries.Open(ctx, deliveries.Config{JS: js, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	notifier := &orderNotifier{}
	const concurrency, routine = 4, 300
	d := New(Config{
		JS: js, Channel: channels.SMS, Notifier: notifier, Composer: fakeComposer{},
		Alerts: fakeAlerts{}, Store: store, Concurrency: concurrency, SendTimeout: 5 * time.Second,
		Limiter: rate.NewLimiter(200, 1), Retry: Retry{MaxAttempts: 1},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop(context.Background()) })

	var big []jobs.Delivery
	for i := range routine {
		big = append(big, jobs.Delivery{AlertID: "big", Channel: channels.SMS, Recipient: fmt.Sprintf("r%03d", i)})
	}
	publish(t, js, big, jobs.Routine, false)
	for notifier.count() < 40 {
		time.Sleep(time.Millisecond)
	}
	before := notifier.count()
	publish(t, js, []jobs.Delivery{{AlertID: "now", Channel: channels.SMS, Recipient: "urgent-1"}}, jobs.Urgent, false)
	for notifier.count() < routine+1 {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a wrongly repeated send would show

	order := notifier.order()
	if len(order) != routine+1 {
		t.Fatalf("%d sends, want %d", len(order), routine+1)
	}
	seen := map[string]bool{}
	at := -1
	for i, to := range order {
		if seen[to] {
			t.Errorf("%s sent twice", to)
		}
		seen[to] = true
		if to == "urgent-1" {
			at = i
		}
	}
	// Sends already holding a worker when the urgent job came may go
	// first: at most one per worker, plus the one in the limiter.
	if at < 0 || at > before+concurrency+1 {
		t.Errorf("urgent send was number %d; %d routine sends had gone when it was queued, so it should be by %d", at, before, before+concurrency+1)
	}
	if at >= routine {
		t.Errorf("urgent send came last (%d): the routine job was not overtaken", at)
	}

	for alert, n := range map[string]int{"big": routine, "now": 1} {
		if err := store.SetPlan(ctx, alert, deliveries.Plan{channels.SMS: n}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		var sum *deliveries.Summary
		for range 100 {
			if sum, err = store.Summarize(ctx, alert); err != nil {
				t.Fatal(err)
			}
			if sum.Done {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if c := sum.Channels[string(channels.SMS)]; !sum.Done || c.Sent != n || c.Queued != 0 {
			t.Errorf("%s summary %+v, want %d sent and done", alert, sum, n)
		}
	}
}

// orderNotifier records the order of sends.
type orderNotifier struct {
	mu   sync.Mutex
	sent []string
}

func (o *orderNotifier) Send(_ context.Context, m channels.Message) (channels.Receipt, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m.To)
	return channels.Receipt{ProviderID: "P" + m.To}, nil
}

func (o *orderNotifier) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.sent)
}

func (o *orderNotifier) order() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.sent...)
}
