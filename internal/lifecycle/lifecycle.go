// Package lifecycle owns an alert's life in Herald: its states, the named
// events that move it from one to the next, and the one table of allowed
// moves. It also decides, once, when an alert has expired: when its
// approval window lapsed and when its CAP expiry passed.
//
// It is pure: it stores nothing (package alertlog applies the moves
// atomically to the state record) and does not know who triggers an event
// (intake, the planner, the sweeper).
//
//	          hold                approve              start dispatch         finish
//	(stored) ------> pending_approval ------> accepted ---------------> dispatching ------> done
//	    \                 |  expire              ^                           |               |
//	     \                v                      |                           |               |
//	      \            expired                   |                           |               |
//	       `---------- accept -------------------'                           |               |
//	  cancel: from pending_approval, accepted, dispatching or done -> cancelled
package lifecycle

import (
	"fmt"
	"slices"
	"time"
)

// State is where an alert is in its life, as the API shows it.
type State string

// States.
const (
	// PendingApproval: stored, waiting for a second officer.
	PendingApproval State = "pending_approval"
	// Accepted: stored and cleared to go; the planner has not started it.
	Accepted State = "accepted"
	// Dispatching: region copies published and jobs planned; deliveries
	// are going out.
	Dispatching State = "dispatching"
	// Done: every delivery settled (sent, delivered, failed or skipped).
	Done State = "done"
	// Cancelled: a Cancel referenced it; queued deliveries are skipped.
	Cancelled State = "cancelled"
	// Rejected: a second officer refused a held alert; never sent.
	Rejected State = "rejected"
	// Expired: never sent, because its approval window lapsed; or, as
	// shown to readers only, past its CAP expiry (see Shown).
	Expired State = "expired"
)

// Event is something that happens to an alert.
type Event string

// Events.
const (
	// Accept: intake stored an alert that needs no approval.
	Accept Event = "accept"
	// Hold: intake stored an alert that a second officer must approve.
	Hold Event = "hold"
	// Approve: a second officer released a held alert.
	Approve Event = "approve"
	// Reject: a second officer refused a held alert.
	Reject Event = "reject"
	// Expire: a held alert's approval window lapsed.
	Expire Event = "expire"
	// StartDispatch: the planner published the region copies and is
	// queuing the jobs.
	StartDispatch Event = "start_dispatch"
	// Finish: no delivery of the alert is left queued.
	Finish Event = "finish"
	// Cancel: a Cancel message referencing the alert was accepted.
	Cancel Event = "cancel"
)

// move is one row of the table: the states an event may start from (none
// for the events that create the record) and where it leads.
type move struct {
	from []State
	to   State
}

// moves is the one table of allowed moves.
var moves = map[Event]move{
	Accept:        {to: Accepted},
	Hold:          {to: PendingApproval},
	Approve:       {from: []State{PendingApproval}, to: Accepted},
	Reject:        {from: []State{PendingApproval}, to: Rejected},
	Expire:        {from: []State{PendingApproval}, to: Expired},
	StartDispatch: {from: []State{Accepted}, to: Dispatching},
	Finish:        {from: []State{Dispatching}, to: Done},
	Cancel:        {from: []State{PendingApproval, Accepted, Dispatching, Done}, to: Cancelled},
}

// MoveError is an event that is not allowed in the alert's current state.
type MoveError struct {
	From  State
	Event Event
}

func (e *MoveError) Error() string {
	return fmt.Sprintf("alert is %s: %s is not allowed", e.From, e.Event)
}

// Initial is the state an event that creates the record leads to (Accept
// or Hold); it fails for every other event.
func Initial(e Event) (State, error) {
	m, ok := moves[e]
	if !ok || len(m.from) > 0 {
		return "", fmt.Errorf("%s does not start an alert's life", e)
	}
	return m.to, nil
}

// Next is the state e leads to from s, or a *MoveError when the table has
// no such move.
func Next(s State, e Event) (State, error) {
	m, ok := moves[e]
	if !ok || !slices.Contains(m.from, s) {
		return s, &MoveError{From: s, Event: e}
	}
	return m.to, nil
}

// Ended reports whether nothing more will be sent for an alert in s
// (other than the delivery of a Cancel or Update that references it).
func (s State) Ended() bool {
	return s == Done || s == Cancelled || s == Expired || s == Rejected
}

// Released reports whether an alert stored in s was ever cleared to go
// out: not one still held, refused or lapsed before approval.
func (s State) Released() bool {
	return s != PendingApproval && s != Rejected && s != Expired
}

// Plannable reports whether the planner acts on an alert in s: accepted,
// or dispatching after a crash part-way through planning.
func (s State) Plannable() bool { return s == Accepted || s == Dispatching }

// ApprovalLapsed reports whether an alert held for approval since
// acceptedAt has waited longer than timeout at now (never, for timeout 0).
// Intake, the planner and the sweeper all ask this, so they agree.
func ApprovalLapsed(acceptedAt time.Time, timeout time.Duration, now time.Time) bool {
	return timeout > 0 && now.Sub(acceptedAt) > timeout
}

// PastExpiry reports whether an alert with CAP expiry expires (zero for
// none) has expired at now.
func PastExpiry(expires, now time.Time) bool {
	return !expires.IsZero() && now.After(expires)
}

// Shown is the state a reader sees at now: an alert past its CAP expiry
// shows as expired unless it already ended. It is not stored: expiry by
// time needs no write, and every process computes the same answer.
func Shown(s State, expires, now time.Time) State {
	if !s.Ended() && PastExpiry(expires, now) {
		return Expired
	}
	return s
}
