// Package recipients is the planner stage that decides who receives an
// accepted alert on each channel and queues one delivery job per recipient:
// residents inside the alert's area (SMS), hospital subscriptions for its
// regions (webhooks) and the social account.
//
// Each recipient gets one job per alert however many areas, infos or
// regions overlap. Status rules apply here: Draft and System alerts reach
// no one; Exercise and Test alerts reach only exercise participants;
// only Public alerts go to residents and social media. It does not render
// or send anything.
package recipients

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/alertlog"
	"github.com/herald-alerts/herald/broadcaster/area"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/deliveries"
	"github.com/herald-alerts/herald/broadcaster/hospitals"
	"github.com/herald-alerts/herald/broadcaster/jobs"
	"github.com/herald-alerts/herald/broadcaster/residents"
	"github.com/herald-alerts/herald/geo"
)

// Residents is what the stage needs of the resident directory.
type Residents interface {
	// ByRegion lists residents subscribed to a whole region.
	ByRegion(regionID string) []string
	Get(ctx context.Context, id string) (residents.Resident, error)
}

// Hospitals finds the subscriptions an alert matches.
type Hospitals interface {
	Matching(ctx context.Context, regions []string, severity string, exercise bool) ([]hospitals.Subscription, error)
}

// SocialAccount is the id of the configured social account's recipient.
const SocialAccount = "mastodon"

// Stage plans deliveries; it implements plan.Stage.
type Stage struct {
	JS         jetstream.JetStream
	Regions    *geo.Registry
	Index      *geo.PointIndex
	Residents  Residents
	Hospitals  Hospitals
	Deliveries *deliveries.Store
	// Social is true when a social account is configured.
	Social bool
	// Settle is how long a Cancel waits, after its alert is marked
	// cancelled, for sends already in flight to be recorded, so that
	// everyone the original reached hears of the Cancel.
	Settle time.Duration
	Logger *slog.Logger
}

// Audience is who an alert may reach, from its status and scope.
type Audience struct {
	None      bool // Draft, System: stored, never sent
	Exercise  bool // only exercise participants
	Residents bool // SMS
	Hospitals bool // webhooks
	Social    bool
}

// AudienceOf applies the status and scope rules.
func AudienceOf(a *cap.Alert) Audience {
	switch a.Status {
	case "Draft", "System":
		return Audience{None: true}
	case "Exercise", "Test":
		// Exercises reach participants (residents and hospitals marked for
		// exercises), never the public timeline.
		return Audience{Exercise: true, Residents: a.Scope == "Public", Hospitals: a.Scope != "Private"}
	}
	switch a.Scope {
	case "Public":
		return Audience{Residents: true, Hospitals: true, Social: true}
	case "Restricted":
		// Restricted alerts are for the professionals who subscribed.
		return Audience{Hospitals: true}
	}
	// Private alerts name their own addressees, which Herald does not
	// resolve; they stay on the regional NATS feed and the log.
	return Audience{None: true}
}

// Plan queues the alert's jobs and records how many per channel.
func (s *Stage) Plan(ctx context.Context, rec *alertlog.Record, a *cap.Alert, _ []byte) error {
	list, err := s.jobs(ctx, rec, a, true)
	if err != nil {
		return err
	}
	plan := count(list)
	// The plan is recorded first so the status view never reports "done"
	// while jobs are still being queued.
	if err := s.Deliveries.SetPlan(ctx, rec.ID, plan); err != nil {
		return err
	}
	if err := jobs.Publish(ctx, s.JS, list); err != nil {
		return err
	}
	s.Logger.Info("deliveries planned", "id", rec.ID, "sms", plan[jobs.SMS], "webhook", plan[jobs.Webhook], "social", plan[jobs.Social])
	return nil
}

// Count says how many deliveries Plan would queue per channel, queueing
// nothing (previews).
func (s *Stage) Count(ctx context.Context, rec *alertlog.Record, a *cap.Alert) (deliveries.Plan, error) {
	list, err := s.jobs(ctx, rec, a, false)
	if err != nil {
		return nil, err
	}
	return count(list), nil
}

func count(list []jobs.Job) deliveries.Plan {
	plan := deliveries.Plan{}
	for _, ch := range jobs.Channels {
		plan[ch] = 0
	}
	for _, j := range list {
		plan[j.Channel]++
	}
	return plan
}

func (s *Stage) jobs(ctx context.Context, rec *alertlog.Record, a *cap.Alert, settle bool) ([]jobs.Job, error) {
	aud := AudienceOf(a)
	if aud.None {
		return nil, nil
	}
	if a.MsgType == "Cancel" {
		// A Cancel goes to exactly those the cancelled alerts reached.
		if settle && s.Settle > 0 {
			select {
			case <-time.After(s.Settle):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return s.reached(ctx, rec, aud, nil)
	}
	list, err := s.recipients(ctx, rec, a, aud)
	if err != nil || a.MsgType != "Update" {
		return list, err
	}
	// An Update also reaches whoever got the alert it updates, even if the
	// new area no longer covers them.
	return s.reached(ctx, rec, aud, list)
}

// reached adds to list a job for every recipient the alerts rec references
// reached, on the channels aud allows, each once.
func (s *Stage) reached(ctx context.Context, rec *alertlog.Record, aud Audience, list []jobs.Job) ([]jobs.Job, error) {
	seen := map[string]bool{}
	for _, j := range list {
		seen[j.Key()] = true
	}
	allowed := map[string]bool{jobs.SMS: aud.Residents, jobs.Webhook: aud.Hospitals, jobs.Social: aud.Social && s.Social}
	for _, ref := range rec.References {
		for _, ch := range jobs.Channels {
			if !allowed[ch] {
				continue
			}
			ids, err := s.Deliveries.Reached(ctx, ref, ch)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				j := jobs.Job{AlertID: rec.ID, Channel: ch, Recipient: id}
				if !seen[j.Key()] {
					seen[j.Key()] = true
					list = append(list, j)
				}
			}
		}
	}
	return list, nil
}

func (s *Stage) recipients(ctx context.Context, rec *alertlog.Record, a *cap.Alert, aud Audience) ([]jobs.Job, error) {
	var list []jobs.Job
	if aud.Residents {
		ids, err := s.residentsIn(ctx, rec, a, aud.Exercise)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			list = append(list, jobs.Job{AlertID: rec.ID, Channel: jobs.SMS, Recipient: id})
		}
	}
	if aud.Hospitals && s.Hospitals != nil {
		subs, err := s.Hospitals.Matching(ctx, rec.Regions, rec.Severity, aud.Exercise)
		if err != nil {
			return nil, fmt.Errorf("match webhook subscriptions: %w", err)
		}
		for _, sub := range subs {
			list = append(list, jobs.Job{AlertID: rec.ID, Channel: jobs.Webhook, Recipient: sub.ID})
		}
	}
	if aud.Social && s.Social && a.Status == "Actual" {
		list = append(list, jobs.Job{AlertID: rec.ID, Channel: jobs.Social, Recipient: SocialAccount})
	}
	return list, nil
}

// residentsIn lists the residents inside the alert's area, each once.
func (s *Stage) residentsIn(ctx context.Context, rec *alertlog.Record, a *cap.Alert, exerciseOnly bool) ([]string, error) {
	res, probs, err := area.Resolve(s.Regions, a)
	if errors.Is(err, area.ErrNoArea) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("area of %s no longer resolves: %v", rec.ID, probs)
	}
	seen := map[string]struct{}{}
	var ids []string
	add := func(id string) {
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			ids = append(ids, id)
		}
	}
	s.Index.Within(res.Shape, func(id string) bool { add(id); return true })
	for _, region := range rec.Regions {
		for _, id := range s.Residents.ByRegion(region) {
			add(id)
		}
	}
	if !exerciseOnly {
		return ids, nil
	}
	kept := ids[:0]
	for _, id := range ids {
		r, err := s.Residents.Get(ctx, id)
		if errors.Is(err, residents.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if r.Exercise && !r.OptedOut {
			kept = append(kept, id)
		}
	}
	return kept, nil
}
