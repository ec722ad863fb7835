package intake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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
	actor, detail := s.actorOf(sig.Key)
	entry := audit.Record{Kind: audit.KindApproval, Actor: actor, AlertID: id, Detail: detail, Outcome: audit.OutcomeApproved}
	if err != nil {
		entry.Outcome, entry.Reason = audit.OutcomeRefused, KindOf(err).String()+": "+err.Error()
	}
	s.Record(ctx, entry)
	return rec, err
}

func (s *Service) approve(ctx context.Context, id string, sig signing.Headers) (*alertlog.Record, error) {
	if _, err := signing.Verify(sig, signing.ActionApprove(id), nil, s.now()); err != nil {
		return nil, refuse(Unauthorized, "Bad signature", err, "%v", err)
	}
	o, ok := s.Originators.Current().ByKey(sig.Key)
	if !ok {
		return nil, refuse(Unauthorized, "Unknown key", nil, "key %s is not a registered originator", sig.Key)
	}
	rec, err := s.Log.Get(ctx, id)
	if errors.Is(err, alertlog.ErrNotFound) {
		return nil, refuse(NotFound, "Alert not found", err, "no alert with id %s", id)
	}
	if err != nil {
		return nil, refuse(Unavailable, "Alert store unavailable", err, "%v", err)
	}
	switch {
	case !o.Has(originators.RoleApprover):
		return nil, refuse(Forbidden, "Not an approver", nil, "originator %s does not have the approver role", o.ID)
	case rec.Originator == o.ID:
		return nil, refuse(Forbidden, "Cannot approve own alert", nil, "alert %s was issued by %s; a second officer must approve it", id, o.ID)
	}
	// The approver answers for the whole area: it must lie in their
	// jurisdiction as it had to lie in the issuer's.
	raw, _, err := s.Log.Raw(ctx, id)
	if err != nil {
		return nil, refuse(Unavailable, "Alert store unavailable", err, "%v", err)
	}
	if a, err := cap.Parse(raw); err == nil {
		if res, _, err := area.Resolve(s.Regions, a); err == nil && res != nil {
			if err := s.authorizeArea(o, res); err != nil {
				return nil, err
			}
		}
	}
	if rec.State != lifecycle.PendingApproval {
		return nil, refuse(Conflict, "Not awaiting approval", nil, "alert %s is %s", id, rec.State)
	}
	if lifecycle.ApprovalLapsed(rec.AcceptedAt, s.Approval.Timeout, s.now()) {
		_, _, _ = s.Log.Apply(ctx, id, lifecycle.Expire)
		return nil, refuse(Conflict, "Approval window passed", nil, "alert %s waited more than %s and expired unsent", id, s.Approval.Timeout)
	}
	if s.Replay != nil {
		if err := s.Replay.Use(ctx, sig.Signature); errors.Is(err, replay.ErrReplay) {
			return nil, refuse(Unauthorized, "Replayed approval", err, "this signature was already used")
		} else if err != nil {
			return nil, refuse(Unavailable, "Replay store unavailable", err, "%v", err)
		}
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
