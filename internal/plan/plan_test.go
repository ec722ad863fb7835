package plan

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/test/natstest"
)

// recordingStage remembers which alerts it planned.
type recordingStage struct {
	mu      sync.Mutex
	planned []string
}

func (s *recordingStage) Plan(_ context.Context, rec *alertlog.Record, _ *cap.Alert, _ []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.planned = append(s.planned, rec.ID)
	return nil
}

func (s *recordingStage) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.planned {
		if p == id {
			n++
		}
	}
	return n
}

func alert(identifier string, scope cap.Scope, msgType cap.MsgType, refs string) *cap.Alert {
	return &cap.Alert{
		Identifier: identifier, Sender: "alerts@health.example", Sent: time.Now().Format("2006-01-02T15:04:05-07:00"),
		Status: cap.StatusActual, MsgType: msgType, Scope: scope, References: refs,
		Info: []cap.Info{{Language: "en-US", Category: []string{"Health"}, Event: "Boil Water Advisory",
			Urgency: cap.UrgencyImmediate, Severity: cap.SeveritySevere, Certainty: cap.CertaintyObserved, Headline: "Boil water"}},
	}
}

type fixture struct {
	js    jetstream.JetStream
	log   *alertlog.Log
	stage *recordingStage
}

func start(t *testing.T, approvalTimeout time.Duration) *fixture {
	t.Helper()
	ctx := context.Background()
	js := natstest.JetStream(t)
	log, err := alertlog.Open(ctx, alertlog.Config{JS: js, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{js: js, log: log, stage: &recordingStage{}}
	p := New(Config{JS: js, Log: log, Stages: []Stage{f.stage}, ApprovalTimeout: approvalTimeout, Logger: slog.New(slog.DiscardHandler)})
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return f
}

func (f *fixture) append(t *testing.T, a *cap.Alert, held bool) *alertlog.Record {
	t.Helper()
	raw, err := cap.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	rec := f.log.NewRecord(a, "wa", []string{"r1", "r2"}, time.Now())
	if held {
		rec.State = lifecycle.PendingApproval
	}
	if err := f.log.Append(context.Background(), rec, raw, nil); err != nil {
		t.Fatal(err)
	}
	return rec
}

func (f *fixture) waitState(t *testing.T, id string, want lifecycle.State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, err := f.log.Get(context.Background(), id)
		if err == nil && rec.State == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert %s is %v (%v), want %s", id, rec, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// regionCopies counts the feed copies of an alert on a region subject.
func (f *fixture) regionCopies(t *testing.T, region string) int {
	t.Helper()
	stream, err := f.js.Stream(context.Background(), alertlog.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(context.Background(), jetstream.WithSubjectFilter(alertlog.SubjectRegion+region))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for subj, c := range info.State.Subjects {
		if subj == alertlog.SubjectRegion+region {
			n = int(c)
		}
	}
	return n
}

func TestPlansAcceptedAlerts(t *testing.T) {
	f := start(t, time.Hour)
	pub := f.append(t, alert("PUB-1", cap.ScopePublic, cap.MsgAlert, ""), false)
	priv := f.append(t, alert("PRIV-1", cap.ScopePrivate, cap.MsgAlert, ""), false)
	f.waitState(t, pub.ID, lifecycle.Dispatching)
	f.waitState(t, priv.ID, lifecycle.Dispatching)
	if f.stage.count(pub.ID) != 1 || f.stage.count(priv.ID) != 1 {
		t.Errorf("stage planned %v, want each alert once", f.stage.planned)
	}
	// One copy per region for the Public alert; the Private one stays off
	// the feeds every hospital of the region reads.
	for _, region := range []string{"r1", "r2"} {
		if n := f.regionCopies(t, region); n != 1 {
			t.Errorf("region %s has %d copies, want 1 (the Public alert only)", region, n)
		}
	}
}

func TestCancelMarksReferenced(t *testing.T) {
	f := start(t, time.Hour)
	orig := alert("ORIG-1", cap.ScopePublic, cap.MsgAlert, "")
	rec := f.append(t, orig, false)
	f.waitState(t, rec.ID, lifecycle.Dispatching)
	cancel := f.append(t, alert("CANCEL-1", cap.ScopePublic, cap.MsgCancel, orig.Sender+","+orig.Identifier+","+orig.Sent), false)
	f.waitState(t, rec.ID, lifecycle.Cancelled)
	f.waitState(t, cancel.ID, lifecycle.Dispatching)
}

func TestApprovals(t *testing.T) {
	t.Run("approved in time is planned", func(t *testing.T) {
		f := start(t, time.Hour)
		rec := f.append(t, alert("HELD-1", cap.ScopePublic, cap.MsgAlert, ""), true)
		time.Sleep(200 * time.Millisecond)
		if f.stage.count(rec.ID) != 0 {
			t.Fatal("a held alert was planned before its approval")
		}
		if err := f.log.Approve(context.Background(), rec.ID, "approver"); err != nil {
			t.Fatal(err)
		}
		f.waitState(t, rec.ID, lifecycle.Dispatching)
	})
	t.Run("approved too late expires", func(t *testing.T) {
		f := start(t, time.Millisecond)
		rec := f.append(t, alert("HELD-2", cap.ScopePublic, cap.MsgAlert, ""), true)
		time.Sleep(10 * time.Millisecond)
		if err := f.log.Approve(context.Background(), rec.ID, "approver"); err != nil {
			t.Fatal(err)
		}
		f.waitState(t, rec.ID, lifecycle.Expired)
		if f.stage.count(rec.ID) != 0 {
			t.Fatal("an alert approved after the timeout was planned")
		}
	})
}

// TestUpdateMarksReplaced: a planned Update is recorded on the alert it
// replaces, which is how the alert's page links the newest version.
func TestUpdateMarksReplaced(t *testing.T) {
	f := start(t, time.Hour)
	orig := alert("ORIG-2", cap.ScopePublic, cap.MsgAlert, "")
	rec := f.append(t, orig, false)
	f.waitState(t, rec.ID, lifecycle.Dispatching)
	upd := f.append(t, alert("UPD-2", cap.ScopePublic, cap.MsgUpdate, orig.Sender+","+orig.Identifier+","+orig.Sent), false)
	f.waitState(t, upd.ID, lifecycle.Dispatching)
	got, err := f.log.Get(context.Background(), rec.ID)
	if err != nil || got.UpdatedBy != upd.ID || got.State != lifecycle.Dispatching {
		t.Fatalf("original after the update: %+v, %v; want UpdatedBy %s and its state unchanged", got, err, upd.ID)
	}
}
