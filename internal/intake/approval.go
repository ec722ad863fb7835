package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/area"
	"github.com/herald-alerts/herald/internal/audit"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/internal/originators"
	"github.com/herald-alerts/herald/internal/replay"
)

// ApprovalPolicy says which alerts wait for a second officer (config keys
// approval.*). Only Actual Alerts and Updates are held: a Cancel must never
// wait, and exercises reach only participants.
type ApprovalPolicy struct {
	Severities    []cap.Severity
	MinRecipients int     // 0: off
	MinAreaKm2    float64 // 0: off
	Timeout       time.Duration
}

// Counter counts an alert's recipients (the planner's recipients stage).
type Counter interface {
	Count(ctx context.Context, rec *alertlog.Record, a *cap.Alert) (deliveries.Plan, error)
}

// needsApproval applies the policy; the reason names the rule that matched.
func (s *Service) needsApproval(ctx context.Context, c *Checked, rec *alertlog.Record) (string, error) {
	p := s.Approval
	a := c.Alert
	if a.Status != cap.StatusActual || (a.MsgType != cap.MsgAlert && a.MsgType != cap.MsgUpdate) {
		return "", nil
	}
	if slices.Contains(p.Severities, rec.Severity) {
		return "severity " + string(rec.Severity), nil
	}
	if p.MinAreaKm2 > 0 && c.Area != nil {
		if km2 := c.Area.Shape.AreaKm2(); km2 >= p.MinAreaKm2 {
			return fmt.Sprintf("area %.0f km² ≥ %.0f km²", km2, p.MinAreaKm2), nil
		}
	}
	if p.MinRecipients > 0 && s.Recipients != nil {
		plan, err := s.Recipients.Count(ctx, rec, a)
		if err != nil {
			return "", err
		}
		if n := plan[channels.SMS]; n >= p.MinRecipients {
			return fmt.Sprintf("%d residents ≥ %d", n, p.MinRecipients), nil
		}
	}
	return "", nil
}

// Approve releases an alert held for approval. The approver signs the
// action "approve:<id>" over an empty body; they must hold the approver
// role, differ from the issuer and have the alert's regions in their
// jurisdiction, and the approval timeout must not have passed.
func (s *Service) Approve(ctx context.Context, id string, sig signing.Headers) (*alertlog.Record, error) {
	rec, err := s.approve(ctx, id, sig)
	s.recordDecision(ctx, id, sig, audit.OutcomeApproved, "", err)
	return rec, err
}

// Reject refuses an alert held for approval, with a reason the issuer
// sees. The approver signs the action "reject:<id>" over the JSON body
// {"reason": "..."}; the same rules as for Approve decide who may.
func (s *Service) Reject(ctx context.Context, id string, body []byte, sig signing.Headers) (*alertlog.Record, error) {
	rec, reason, err := s.reject(ctx, id, body, sig)
	s.recordDecision(ctx, id, sig, audit.OutcomeRejected, reason, err)
	return rec, err
}

// recordDecision writes an approval or rejection, or its refusal, to the
// audit trail.
func (s *Service) recordDecision(ctx context.Context, id string, sig signing.Headers, outcome, reason string, err error) {
	actor, detail := s.actorOf(sig.Key)
	entry := audit.Record{Kind: audit.KindApproval, Actor: actor, AlertID: id, Detail: detail, Outcome: outcome, Reason: reason}
	if err != nil {
		entry.Outcome, entry.Reason = audit.OutcomeRefused, KindOf(err).String()+": "+err.Error()
	}
	s.Record(ctx, entry)
}

// MaxReasonLength bounds a rejection's reason, in characters.
const MaxReasonLength = 1000

func (s *Service) reject(ctx context.Context, id string, body []byte, sig signing.Headers) (*alertlog.Record, string, error) {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, "", refuse(Invalid, "Invalid rejection", err, "the body must be JSON {\"reason\": \"...\"}: %v", err)
	}
	reason := strings.TrimSpace(in.Reason)
	switch {
	case reason == "":
		return nil, "", refuse(Invalid, "Reason required", nil, "say why the alert is rejected: the issuer reads it")
	case utf8.RuneCountInString(reason) > MaxReasonLength:
		return nil, "", refuse(Invalid, "Reason too long", nil, "at most %d characters", MaxReasonLength)
	case !utf8.ValidString(reason):
		return nil, "", refuse(Invalid, "Invalid rejection", nil, "the reason is not UTF-8")
	}
	o, _, err := s.decision(ctx, id, signing.ActionReject(id), body, sig)
	if err != nil {
		return nil, reason, err
	}
	if err := s.Log.Reject(ctx, id, o.ID, reason); err != nil {
		return nil, reason, refuse(Unavailable, "Alert store unavailable", err, "the rejection was not recorded; retry: %v", err)
	}
	moved, ok, err := s.Log.Rejected(ctx, id, o.ID, reason)
	if err != nil {
		return nil, reason, refuse(Unavailable, "Alert store unavailable", err, "%v", err)
	}
	// Not moved: an approval (or the planner reading one) got there first,
	// or the planner already applied this rejection from the log.
	if !ok && (moved.State != lifecycle.Rejected || moved.RejectedBy != o.ID) {
		return nil, reason, refuse(Conflict, "Not awaiting approval", nil, "alert %s is %s", id, moved.State)
	}
	s.Logger.Info("alert rejected", "id", id, "approver", o.ID)
	return moved, reason, nil
}

// decision runs the checks shared by approval and rejection: a valid
// signature for action by a registered approver other than the issuer,
// whose jurisdiction holds the alert's area, on an alert still held and
// within its approval window, with a signature not used before.
func (s *Service) decision(ctx context.Context, id, action string, body []byte, sig signing.Headers) (*originators.Originator, *alertlog.Record, error) {
	if _, err := signing.Verify(sig, action, body, s.now()); err != nil {
		return nil, nil, refuse(Unauthorized, "Bad signature", err, "%v", err)
	}
	o, ok := s.Originators.Current().ByKey(sig.Key)
	if !ok {
		return nil, nil, refuse(Unauthorized, "Unknown key", nil, "key %s is not a registered originator", sig.Key)
	}
	rec, err := s.Log.Get(ctx, id)
	if errors.Is(err, alertlog.ErrNotFound) {
		return nil, nil, refuse(NotFound, "Alert not found", err, "no alert with id %s", id)
	}
	if err != nil {
		return nil, nil, refuse(Unavailable, "Alert store unavailable", err, "%v", err)
	}
	switch {
	case !o.Has(originators.RoleApprover):
		return nil, nil, refuse(Forbidden, "Not an approver", nil, "originator %s does not have the approver role", o.ID)
	case rec.Originator == o.ID:
		return nil, nil, refuse(Forbidden, "Cannot decide on own alert", nil, "alert %s was issued by %s; a second officer must approve or reject it", id, o.ID)
	}
	// The approver answers for the whole area: it must lie in their
	// jurisdiction as it had to lie in the issuer's.
	raw, _, err := s.Log.Raw(ctx, id)
	if err != nil {
		return nil, nil, refuse(Unavailable, "Alert store unavailable", err, "%v", err)
	}
	if a, err := cap.Parse(raw); err == nil {
		if res, _, err := area.Resolve(s.Regions, a); err == nil && res != nil {
			if err := s.authorizeArea(o, res); err != nil {
				return nil, nil, err
			}
		}
	}
	if rec.State != lifecycle.PendingApproval {
		return nil, nil, refuse(Conflict, "Not awaiting approval", nil, "alert %s is %s", id, rec.State)
	}
	if lifecycle.ApprovalLapsed(rec.AcceptedAt, s.Approval.Timeout, s.now()) {
		_, _, _ = s.Log.Apply(ctx, id, lifecycle.Expire)
		return nil, nil, refuse(Conflict, "Approval window passed", nil, "alert %s waited more than %s and expired unsent", id, s.Approval.Timeout)
	}
	if s.Replay != nil {
		if err := s.Replay.Use(ctx, sig.Signature); errors.Is(err, replay.ErrReplay) {
			return nil, nil, refuse(Unauthorized, "Replayed signature", err, "this signature was already used")
		} else if err != nil {
			return nil, nil, refuse(Unavailable, "Replay store unavailable", err, "%v", err)
		}
	}
	return o, rec, nil
}

func (s *Service) approve(ctx context.Context, id string, sig signing.Headers) (*alertlog.Record, error) {
	o, _, err := s.decision(ctx, id, signing.ActionApprove(id), nil, sig)
	if err != nil {
		return nil, err
	}
	// The approval is recorded in the alert log first: the planner acts on
	// it even if this process stops before the state changes.
	if err := s.Log.Approve(ctx, id, o.ID); err != nil {
		return nil, refuse(Unavailable, "Alert store unavailable", err, "the approval was not recorded; retry: %v", err)
	}
	moved, ok, err := s.Log.Apply(ctx, id, lifecycle.Approve)
	if err != nil {
		return nil, refuse(Unavailable, "Alert store unavailable", err, "%v", err)
	}
	// Not moved because the planner, reading the approval from the log,
	// got there first: that is success too.
	if !ok && !slices.Contains([]lifecycle.State{lifecycle.Accepted, lifecycle.Dispatching, lifecycle.Done}, moved.State) {
		return nil, refuse(Conflict, "Not awaiting approval", nil, "alert %s is %s", id, moved.State)
	}
	s.Logger.Info("alert approved", "id", id, "approver", o.ID)
	return moved, nil
}
