// Package recipients is the planner stage that decides who receives an
// accepted alert on each channel and queues its deliveries, many recipients
// per job, in the alert's priority lane:
// residents inside the alert's area (SMS), hospital subscriptions for its
// regions (webhooks) and the social accounts.
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

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/area"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/internal/residents"
)

// Residents is what the stage needs of the resident directory.
type Residents interface {
	// ByRegion lists residents subscribed to a whole region.
	ByRegion(regionID string) []string
	Get(ctx context.Context, id string) (residents.Resident, error)
}

// Hospitals finds the subscriptions an alert matches.
type Hospitals interface {
	Matching(ctx context.Context, regions []string, severity cap.Severity, han cap.HANType, exercise bool) ([]hospitals.Subscription, error)
}

// Config is what the stage needs.
type Config struct {
	JS         jetstream.JetStream
	Regions    *geo.Registry
	Index      *geo.PointIndex
	Residents  Residents
	Hospitals  Hospitals
	Deliveries *deliveries.Store
	// SocialAccounts are the configured social accounts (recipient ids:
	// "mastodon", "bluesky").
	SocialAccounts []string
	// Ready, when set, closes once the index holds every resident: Plan
	// waits for it, and Count refuses with ErrIndexLoading before.
	Ready <-chan struct{}
	// Settle is how long a Cancel waits, after its alert is marked
	// cancelled, for sends already in flight to be recorded, so that
	// everyone the original reached hears of the Cancel.
	Settle time.Duration
	Logger *slog.Logger
}

// Stage plans deliveries; it implements plan.Stage.
type Stage struct {
	Config
}

// New builds the stage.
func New(cfg Config) *Stage { return &Stage{Config: cfg} }

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
	// Acks and Errors answer another message; they are kept in the log,
	// never broadcast.
	if a.MsgType == cap.MsgAck || a.MsgType == cap.MsgError {
		return Audience{None: true}
	}
	switch a.Status {
	case cap.StatusDraft, cap.StatusSystem:
		return Audience{None: true}
	case cap.StatusExercise, cap.StatusTest:
		// Exercises reach participants (residents and hospitals marked for
		// exercises), never the public timeline.
		return Audience{Exercise: true, Residents: a.Scope == cap.ScopePublic, Hospitals: a.Scope != cap.ScopePrivate}
	}
	switch a.Scope {
	case cap.ScopePublic:
		return Audience{Residents: true, Hospitals: true, Social: true}
	case cap.ScopeRestricted:
		// Restricted alerts are for the professionals who subscribed.
		return Audience{Hospitals: true}
	}
	// Private alerts name their own addressees, which Herald does not
	// resolve; they stay on the regional NATS feed and the log.
	return Audience{None: true}
}

// ErrIndexLoading means the resident index is still loading, so a count
// would miss residents.
var ErrIndexLoading = errors.New("the resident index is still loading; try again shortly")

func (s *Stage) indexLoaded(ctx context.Context, wait bool) error {
	if s.Ready == nil {
		return nil
	}
	if !wait {
		select {
		case <-s.Ready:
			return nil
		default:
			return ErrIndexLoading
		}
	}
	select {
	case <-s.Ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the resident index: %w", ctx.Err())
	}
}

// Plan queues the alert's jobs and records how many per channel. It waits
// for the resident index to be loaded.
func (s *Stage) Plan(ctx context.Context, rec *alertlog.Record, a *cap.Alert, _ []byte) error {
	if err := s.indexLoaded(ctx, true); err != nil {
		return err
	}
	// An alert already dispatching is planned again after a crash: some of
	// its deliveries may have records already.
	replanned := rec.State == lifecycle.Dispatching
	pub := jobs.NewPublisher(s.JS, rec.ID, jobs.LaneOf(a), replanned)
	plan := emptyPlan()
	err := s.each(ctx, rec, a, true, func(d jobs.Delivery) error {
		plan[d.Channel]++
		return pub.Add(ctx, d.Channel, d.Recipient)
	})
	if err == nil {
		err = pub.Flush(ctx)
	}
	if err != nil {
		return err
	}
	// The plan is recorded once every job is stored: until then the status
	// view cannot call the alert done.
	if err := s.Deliveries.SetPlan(ctx, rec.ID, plan, rec.ExpiresAt()); err != nil {
		return err
	}
	s.Logger.Info("deliveries planned", "id", rec.ID, "lane", jobs.LaneOf(a), "sms", plan[channels.SMS], "webhook", plan[channels.Webhook], "social", plan[channels.Social])
	return nil
}

// Count says how many deliveries Plan would queue per channel, queueing
// nothing (previews).
func (s *Stage) Count(ctx context.Context, rec *alertlog.Record, a *cap.Alert) (deliveries.Plan, error) {
	if err := s.indexLoaded(ctx, false); err != nil {
		return nil, err
	}
	plan := emptyPlan()
	count := func(j jobs.Delivery) error {
		plan[j.Channel]++
		return nil
	}
	aud := AudienceOf(a)
	if a.MsgType != cap.MsgAlert || !aud.Residents || aud.Exercise {
		return plan, s.each(ctx, rec, a, false, count)
	}
	// A new public alert: count residents in the index without visiting
	// each one, so a console can preview a national-scale area at once.
	n, err := s.countResidents(rec, a)
	if err != nil {
		return nil, err
	}
	plan[channels.SMS] = n
	aud.Residents = false
	return plan, s.recipients(ctx, rec, a, aud, count)
}

// countResidents is how many residents residentsIn would visit, for a
// non-exercise alert.
func (s *Stage) countResidents(rec *alertlog.Record, a *cap.Alert) (int, error) {
	res, probs, err := area.Resolve(s.Regions, a)
	if errors.Is(err, area.ErrNoArea) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(probs) > 0 {
		return 0, fmt.Errorf("area of %s does not resolve: %v", rec.ID, probs)
	}
	n := s.Index.Count(res.Shape)
	seen := map[string]bool{}
	for _, region := range rec.Regions {
		for _, id := range s.Residents.ByRegion(region) {
			seen[id] = true
		}
	}
	return n + len(seen), nil
}

func emptyPlan() deliveries.Plan {
	plan := deliveries.Plan{}
	for _, ch := range channels.All {
		plan[ch] = 0
	}
	return plan
}

// each calls fn with every job of the alert, each recipient once per
// channel, without holding them all in memory (a fan-out may reach
// millions).
func (s *Stage) each(ctx context.Context, rec *alertlog.Record, a *cap.Alert, settle bool, fn func(jobs.Delivery) error) error {
	aud := AudienceOf(a)
	if aud.None {
		return nil
	}
	if a.MsgType == cap.MsgCancel {
		// A Cancel goes to exactly those the cancelled alerts reached.
		if settle && s.Settle > 0 {
			select {
			case <-time.After(s.Settle):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		_, err := s.reached(ctx, rec, aud, fn)
		return err
	}
	var seen map[string]bool
	if a.MsgType == cap.MsgUpdate {
		// An Update also reaches whoever got the alert it updates, even if
		// the new area no longer covers them.
		var err error
		if seen, err = s.reached(ctx, rec, aud, fn); err != nil {
			return err
		}
	}
	return s.recipients(ctx, rec, a, aud, func(j jobs.Delivery) error {
		if seen[j.Key()] {
			return nil
		}
		return fn(j)
	})
}

// reached emits a job for every recipient the alerts rec references
// reached, on the channels aud allows, each once; it returns their keys.
func (s *Stage) reached(ctx context.Context, rec *alertlog.Record, aud Audience, fn func(jobs.Delivery) error) (map[string]bool, error) {
	seen := map[string]bool{}
	allowed := map[channels.Channel]bool{channels.SMS: aud.Residents, channels.Webhook: aud.Hospitals, channels.Social: aud.Social && len(s.SocialAccounts) > 0}
	for _, ref := range rec.References {
		for _, ch := range channels.All {
			if !allowed[ch] {
				continue
			}
			ids, err := s.Deliveries.Reached(ctx, ref, ch)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				j := jobs.Delivery{AlertID: rec.ID, Channel: ch, Recipient: id}
				if seen[j.Key()] {
					continue
				}
				seen[j.Key()] = true
				if err := fn(j); err != nil {
					return nil, err
				}
			}
		}
	}
	return seen, nil
}

func (s *Stage) recipients(ctx context.Context, rec *alertlog.Record, a *cap.Alert, aud Audience, fn func(jobs.Delivery) error) error {
	if aud.Residents {
		err := s.residentsIn(ctx, rec, a, aud.Exercise, func(id string) error {
			return fn(jobs.Delivery{AlertID: rec.ID, Channel: channels.SMS, Recipient: id})
		})
		if err != nil {
			return err
		}
	}
	if aud.Hospitals && s.Hospitals != nil {
		subs, err := s.Hospitals.Matching(ctx, rec.Regions, rec.Severity, rec.HANType, aud.Exercise)
		if err != nil {
			return fmt.Errorf("match webhook subscriptions: %w", err)
		}
		for _, sub := range subs {
			if err := fn(jobs.Delivery{AlertID: rec.ID, Channel: channels.Webhook, Recipient: sub.ID}); err != nil {
				return err
			}
		}
	}
	if aud.Social && a.Status == cap.StatusActual {
		for _, account := range s.SocialAccounts {
			if err := fn(jobs.Delivery{AlertID: rec.ID, Channel: channels.Social, Recipient: account}); err != nil {
				return err
			}
		}
	}
	return nil
}

// residentsIn calls fn with each resident inside the alert's area, once:
// the index holds each resident with a point once, and residents
// subscribed to whole regions (no point) are kept apart and deduplicated
// here, so no set of every recipient is needed.
func (s *Stage) residentsIn(ctx context.Context, rec *alertlog.Record, a *cap.Alert, exerciseOnly bool, fn func(id string) error) error {
	res, probs, err := area.Resolve(s.Regions, a)
	if errors.Is(err, area.ErrNoArea) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		return fmt.Errorf("area of %s no longer resolves: %v", rec.ID, probs)
	}
	emit := fn
	if exerciseOnly {
		emit = func(id string) error {
			r, err := s.Residents.Get(ctx, id)
			if errors.Is(err, residents.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if r.Exercise && !r.OptedOut {
				return fn(id)
			}
			return nil
		}
	}
	var ferr error
	s.Index.Within(res.Shape, func(id string) bool {
		ferr = emit(id)
		return ferr == nil
	})
	if ferr != nil {
		return ferr
	}
	seen := map[string]bool{}
	for _, region := range rec.Regions {
		for _, id := range s.Residents.ByRegion(region) {
			if !seen[id] {
				seen[id] = true
				if err := emit(id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
