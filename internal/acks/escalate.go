package acks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/channels/phone"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/internal/recipients"
)

// Stage is the planner stage that asks for acknowledgements: for an alert
// that requires one, a record and a timer per hospital it reaches. It runs
// before the recipients stage, so every webhook finds its record and
// carries the acknowledgement link.
type Stage struct {
	Store     *Store
	Policy    Policy
	Hospitals interface {
		Matching(ctx context.Context, regions []string, severity cap.Severity, han cap.HANType, exercise bool) ([]hospitals.Subscription, error)
	}
}

// Plan implements plan.Stage.
func (st *Stage) Plan(ctx context.Context, rec *alertlog.Record, a *cap.Alert, _ []byte) error {
	aud := recipients.AudienceOf(a)
	if aud.None || !aud.Hospitals || !st.Policy.Required(a) {
		return nil
	}
	subs, err := st.Hospitals.Matching(ctx, rec.Regions, rec.Severity, rec.HANType, aud.Exercise)
	if err != nil {
		return fmt.Errorf("acknowledgements: match hospitals: %w", err)
	}
	return st.Store.Start(ctx, rec.ID, subs)
}

// EscalatorConfig is what the escalator needs.
type EscalatorConfig struct {
	Store         *Store
	JS            jetstream.JetStream
	Subscriptions interface {
		Get(ctx context.Context, id string) (hospitals.Subscription, error)
	}
	Alerts interface {
		Get(ctx context.Context, id string) (*alertlog.Record, error)
	}
	// SMS texts the escalation contacts (the SMS adapter itself: these
	// few messages do not queue behind a fan-out).
	SMS       channels.Notifier
	PublicURL string
	Logger    *slog.Logger
}

// Escalator consumes the timers: when a tier's time is up and no answer
// came, it texts the next tier, or records the hospital as unacknowledged
// after the last.
type Escalator struct {
	cfg    EscalatorConfig
	cc     jetstream.ConsumeContext
	cancel context.CancelFunc
}

// NewEscalator builds an escalator; Start begins work.
func NewEscalator(cfg EscalatorConfig) *Escalator { return &Escalator{cfg: cfg} }

// Start binds the durable consumer shared by every Herald process.
func (e *Escalator) Start(ctx context.Context) error {
	cons, err := e.cfg.JS.CreateOrUpdateConsumer(ctx, TimerStream, jetstream.ConsumerConfig{
		Durable: ConsumerName, Description: "Herald: acknowledgement timers and escalations",
		// A timer held by a process that died comes back after AckWait: it
		// bounds how late a crash can make an escalation.
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 20 * time.Second, MaxAckPending: 1024,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("acknowledgement consumer: %w", err)
	}
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	if e.cc, err = cons.Consume(func(m jetstream.Msg) { e.handle(work, m) }); err != nil {
		cancel()
		return fmt.Errorf("acknowledgement consume: %w", err)
	}
	return nil
}

// Restart binds the consumer again (the watchdog calls it when the
// consumer went missing).
func (e *Escalator) Restart(ctx context.Context) error {
	e.Stop()
	return e.Start(ctx)
}

// Stop stops consuming after the timer in hand.
func (e *Escalator) Stop() {
	if e.cc != nil {
		e.cc.Drain()
		<-e.cc.Closed()
	}
	if e.cancel != nil {
		e.cancel()
	}
}

// retryDelay is how soon a failed step is tried again.
const retryDelay = 15 * time.Second

func (e *Escalator) handle(ctx context.Context, m jetstream.Msg) {
	alertID, sub, _ := strings.Cut(strings.TrimPrefix(m.Subject(), TimerSubject), ".")
	next, err := e.step(ctx, alertID, sub)
	if err != nil {
		e.cfg.Logger.Warn("acknowledgement step failed; will retry", "alert", alertID, "subscription", sub, "error", err)
		next = retryDelay
	}
	if next <= 0 {
		_ = m.Ack()
		return
	}
	_ = m.NakWithDelay(next)
}

// step does what is due for one hospital and says when to look again (0:
// never, the matter is settled).
func (e *Escalator) step(ctx context.Context, alertID, subID string) (time.Duration, error) {
	s := e.cfg.Store
	rec, err := s.Get(ctx, alertID, subID)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if rec.State != Pending {
		return 0, nil
	}
	// A tier whose texts did not all go out (a crash, Twilio down) is
	// finished before its time counts.
	unfinished := len(rec.Steps) > 0 && !rec.Steps[len(rec.Steps)-1].Done
	now := s.now()
	if !unfinished && now.Before(rec.Due) {
		return rec.Due.Sub(now), nil
	}
	sub, err := e.cfg.Subscriptions.Get(ctx, subID)
	if err != nil && !errors.Is(err, hospitals.ErrNotFound) {
		return 0, err
	}
	if unfinished && err == nil {
		if err := e.text(ctx, rec, sub); err != nil {
			return 0, err
		}
		// Look again when the tier's time is up; never 0, which would
		// settle a pending hospital.
		return max(time.Until(rec.Due), time.Second), nil
	}
	tier := rec.Tier + 1
	if errors.Is(err, hospitals.ErrNotFound) || tier > len(sub.Escalation) {
		_, changed, err := s.update(ctx, alertID, subID, func(r *Record) bool {
			if r.State != Pending || r.Tier != rec.Tier {
				return false
			}
			r.State = Unacknowledged
			return true
		})
		if changed {
			s.outcomes.WithLabelValues(Unacknowledged, "").Inc()
			e.cfg.Logger.Warn("hospital did not acknowledge", "alert", alertID, "subscription", subID, "tiers", rec.Tier)
		}
		return 0, err
	}
	// Move to the next tier first (compare-and-set: an acknowledgement
	// that arrived meanwhile wins), then text it.
	rec, changed, err := s.update(ctx, alertID, subID, func(r *Record) bool {
		if r.State != Pending || r.Tier != tier-1 {
			return false
		}
		r.Tier, r.Due = tier, now.Add(s.timeout)
		r.Steps = append(r.Steps, Step{Tier: tier, At: now, Contacts: len(sub.Escalation[tier-1])})
		return true
	})
	if err != nil || !changed {
		return retryDelay, err
	}
	s.escalations.WithLabelValues(fmt.Sprint(tier)).Inc()
	e.cfg.Logger.Info("acknowledgement escalated", "alert", alertID, "subscription", subID, "tier", tier)
	if err := e.text(ctx, rec, sub); err != nil {
		return 0, err
	}
	return s.timeout, nil
}

// text sends the current tier's escalation SMS to the contacts sub lists
// (none when it was removed) and records how it went.
func (e *Escalator) text(ctx context.Context, rec Record, sub hospitals.Subscription) error {
	if rec.Tier < 1 || rec.Tier > len(sub.Escalation) {
		return nil
	}
	alert, err := e.cfg.Alerts.Get(ctx, rec.AlertID)
	if err != nil {
		return err
	}
	body := fmt.Sprintf("HERALD: %s has not confirmed alert %q. Reply ACK %s to confirm receipt. %s/a/%s",
		rec.Hospital, truncate(alert.Headline, 80), rec.Code, e.cfg.PublicURL, rec.AlertID)
	var sent int
	var problems []string
	retry := false
	for _, to := range sub.Escalation[rec.Tier-1] {
		if _, err := e.cfg.SMS.Send(ctx, channels.Message{To: to, Text: body, Key: "ack." + rec.AlertID + "." + rec.Subscription + "." + fmt.Sprint(rec.Tier) + "." + to}); err != nil {
			problems = append(problems, phone.Redact(to)+": "+err.Error())
			var ce *channels.Error
			retry = retry || !errors.As(err, &ce) || !ce.Permanent
			continue
		}
		sent++
	}
	_, _, err = e.cfg.Store.update(ctx, rec.AlertID, rec.Subscription, func(r *Record) bool {
		n := len(r.Steps)
		if n == 0 || r.Tier != rec.Tier {
			return false
		}
		st := &r.Steps[n-1]
		st.Sent, st.Error = max(st.Sent, sent), strings.Join(problems, "; ")
		// Permanent failures (a bad number) are not retried; the tier's
		// time runs and the next tier is asked.
		st.Done = !retry
		return true
	})
	if err != nil {
		return err
	}
	if retry {
		return fmt.Errorf("escalation texts: %s", strings.Join(problems, "; "))
	}
	if len(problems) > 0 {
		e.cfg.Logger.Warn("escalation texts refused; not retried", "alert", rec.AlertID, "subscription", rec.Subscription, "tier", rec.Tier, "problems", strings.Join(problems, "; "))
	}
	return nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// registerMetrics adds the acknowledgement metrics to reg (nil: none).
func (s *Store) registerMetrics(reg prometheus.Registerer) {
	s.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_acks_total", Help: "Hospitals' acknowledgements settled, by outcome (acknowledged, unacknowledged) and path (link, token, sms).",
	}, []string{"outcome", "path"})
	s.escalations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "herald_ack_escalations_total", Help: "Escalations of unacknowledged alerts, by the tier asked.",
	}, []string{"tier"})
	if reg != nil {
		reg.MustRegister(s.outcomes, s.escalations)
	}
}
