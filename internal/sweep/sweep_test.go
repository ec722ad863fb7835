package sweep

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/lifecycle"
)

// fakeAlerts applies lifecycle events to records in memory.
type fakeAlerts struct {
	mu   sync.Mutex
	recs map[string]*alertlog.Record
}

func (f *fakeAlerts) List(context.Context) ([]*alertlog.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*alertlog.Record
	for _, r := range f.recs {
		c := *r
		out = append(out, &c)
	}
	return out, nil
}

func (f *fakeAlerts) Apply(_ context.Context, id string, e lifecycle.Event) (*alertlog.Record, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.recs[id]
	to, err := lifecycle.Next(r.State, e)
	if err != nil {
		return r, false, nil
	}
	r.State = to
	return r, true, nil
}

func (f *fakeAlerts) state(id string) lifecycle.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.recs[id].State
}

type fakeSummaries struct {
	done  map[string]bool
	calls map[string]int
}

// Summarize: a done alert has nothing queued; any other has SMS queued,
// but "hospital-down", whose residents are settled and whose webhooks are
// still retrying.
func (f *fakeSummaries) Summarize(_ context.Context, id string) (*deliveries.Summary, error) {
	f.calls[id]++
	sum := &deliveries.Summary{AlertID: id, Planned: true, Done: f.done[id], Channels: map[string]deliveries.Counts{
		"sms": {Sent: 10}, "webhook": {Sent: 1}, "social": {Sent: 1},
	}}
	switch {
	case id == "hospital-down":
		sum.Channels["webhook"] = deliveries.Counts{Queued: 3}
	case !f.done[id]:
		sum.Channels["sms"] = deliveries.Counts{Queued: 5, Sent: 5}
	}
	return sum, nil
}

func TestSweep(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	alerts := &fakeAlerts{recs: map[string]*alertlog.Record{
		"held-long":     {ID: "held-long", State: lifecycle.PendingApproval, AcceptedAt: now.Add(-2 * time.Hour)},
		"held-short":    {ID: "held-short", State: lifecycle.PendingApproval, AcceptedAt: now.Add(-time.Minute)},
		"settled":       {ID: "settled", State: lifecycle.Dispatching},
		"sending":       {ID: "sending", State: lifecycle.Dispatching},
		"hospital-down": {ID: "hospital-down", State: lifecycle.Dispatching},
		"cancelled":     {ID: "cancelled", State: lifecycle.Cancelled},
	}}
	sums := &fakeSummaries{done: map[string]bool{"settled": true}, calls: map[string]int{}}
	var expired []string
	clock := now
	s := New(Config{
		Alerts: alerts, Deliveries: sums, ApprovalTimeout: time.Hour, Every: time.Second,
		OnExpired: func(_ context.Context, rec *alertlog.Record) { expired = append(expired, rec.ID) },
		Logger:    slog.New(slog.DiscardHandler),
		Now:       func() time.Time { return clock },
	})
	if err := s.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]lifecycle.State{
		"held-long": lifecycle.Expired, "held-short": lifecycle.PendingApproval,
		"settled": lifecycle.Done, "sending": lifecycle.Dispatching, "cancelled": lifecycle.Cancelled,
		// A hospital that cannot be reached does not hold the alert.
		"hospital-down": lifecycle.Done,
	} {
		if got := alerts.state(id); got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
	if len(expired) != 1 || expired[0] != "held-long" {
		t.Errorf("OnExpired told of %v, want [held-long]", expired)
	}

	// A long fan-out is not summarized on every tick: the checks back off.
	for range 20 {
		clock = clock.Add(time.Second)
		if err := s.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := sums.calls["sending"]; n < 3 || n > 8 {
		t.Errorf("summarized a still-sending alert %d times in 21 sweeps; want backed off (3-8)", n)
	}
	// Once it settles it is seen within maxCheckWait.
	sums.done["sending"] = true
	for i := 0; alerts.state("sending") != lifecycle.Done; i++ {
		if i > int(maxCheckWait/time.Second)+1 {
			t.Fatal("a settled alert was not finished within maxCheckWait")
		}
		clock = clock.Add(time.Second)
		_ = s.Sweep(context.Background())
	}
}

// TestUnplannedAlarm: an alert accepted and not planned within the bound
// raises the alarm (readiness error naming it); an approved alert with an
// old acceptance time gets the bound from when it was first seen.
func TestUnplannedAlarm(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	alerts := &fakeAlerts{recs: map[string]*alertlog.Record{
		"stuck": {ID: "stuck", State: lifecycle.Accepted, AcceptedAt: now.Add(-time.Hour)},
	}}
	clock := now
	s := New(Config{Alerts: alerts, Deliveries: &fakeSummaries{calls: map[string]int{}}, UnplannedAfter: 30 * time.Second,
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock }})
	if err := s.Sweep(context.Background()); err != nil || s.Err() != nil {
		t.Fatalf("first sight of an accepted alert: %v, %v", err, s.Err())
	}
	clock = clock.Add(31 * time.Second)
	_ = s.Sweep(context.Background())
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "stuck") {
		t.Fatalf("Err = %v, want the unplanned alert named", err)
	}
	alerts.recs["stuck"].State = lifecycle.Dispatching
	_ = s.Sweep(context.Background())
	if err := s.Err(); err != nil {
		t.Fatalf("Err after planning = %v", err)
	}
}
