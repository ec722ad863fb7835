package lifecycle

import (
	"errors"
	"testing"
	"time"
)

var allStates = []State{PendingApproval, Accepted, Dispatching, Done, Cancelled, Expired, Rejected}

// TestNext lists every (state, event) pair: the allowed moves and, by
// omission, that everything else is refused.
func TestNext(t *testing.T) {
	allowed := map[State]map[Event]State{
		PendingApproval: {Approve: Accepted, Reject: Rejected, Expire: Expired, Cancel: Cancelled},
		Accepted:        {StartDispatch: Dispatching, Cancel: Cancelled},
		Dispatching:     {Finish: Done, Cancel: Cancelled},
		Done:            {Cancel: Cancelled},
		Cancelled:       {},
		Expired:         {},
		Rejected:        {},
	}
	events := []Event{Accept, Hold, Approve, Reject, Expire, StartDispatch, Finish, Cancel}
	for _, from := range allStates {
		for _, e := range events {
			want, ok := allowed[from][e]
			t.Run(string(from)+"/"+string(e), func(t *testing.T) {
				got, err := Next(from, e)
				if ok {
					if err != nil || got != want {
						t.Fatalf("Next(%s, %s) = %s, %v; want %s", from, e, got, err, want)
					}
					return
				}
				var me *MoveError
				if !errors.As(err, &me) || me.From != from || me.Event != e || got != from {
					t.Fatalf("Next(%s, %s) = %s, %v; want a MoveError and the state unchanged", from, e, got, err)
				}
			})
		}
	}
}

func TestInitial(t *testing.T) {
	for _, tt := range []struct {
		e    Event
		want State
		ok   bool
	}{
		{Accept, Accepted, true},
		{Hold, PendingApproval, true},
		{Approve, "", false},
		{Cancel, "", false},
		{"bogus", "", false},
	} {
		got, err := Initial(tt.e)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Initial(%s) = %q, %v; want %q ok=%v", tt.e, got, err, tt.want, tt.ok)
		}
	}
}

func TestApprovalLapsed(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		now     time.Time
		want    bool
	}{
		{"within the window", time.Hour, at.Add(59 * time.Minute), false},
		{"exactly at the limit", time.Hour, at.Add(time.Hour), false},
		{"past the window", time.Hour, at.Add(time.Hour + time.Second), true},
		{"no timeout never lapses", 0, at.Add(1000 * time.Hour), false},
	} {
		if got := ApprovalLapsed(at, tt.timeout, tt.now); got != tt.want {
			t.Errorf("%s: got %v", tt.name, got)
		}
	}
}

func TestShown(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	for _, tt := range []struct {
		state   State
		expires time.Time
		want    State
	}{
		{Dispatching, past, Expired},
		{Accepted, past, Expired},
		{PendingApproval, past, Expired},
		{Dispatching, future, Dispatching},
		{Dispatching, time.Time{}, Dispatching},
		{Done, past, Done},
		{Cancelled, past, Cancelled},
		{Expired, future, Expired},
	} {
		if got := Shown(tt.state, tt.expires, now); got != tt.want {
			t.Errorf("Shown(%s, %v) = %s, want %s", tt.state, tt.expires, got, tt.want)
		}
	}
}
