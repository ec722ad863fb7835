// Package intake accepts signed CAP submissions: it verifies the signature,
// validates the CAP, authorizes the originator (role, jurisdiction) and
// persists the alert in the alert log. An alert is accepted only once
// JetStream has stored it.
//
// Intake is transport-neutral: the HTTP API and the NATS request/reply
// subject both call Submit. It does not plan or send anything.
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/area"
	"github.com/herald-alerts/herald/internal/audit"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/internal/originators"
	"github.com/herald-alerts/herald/internal/replay"
)

// Replay remembers signatures (package replay).
type Replay interface {
	Use(ctx context.Context, signature string) error
}

// Submission is what an originator sent: the exact body and its signature.
type Submission struct {
	Body      []byte
	Signature signing.Headers
}

// Config is what the intake pipeline needs.
type Config struct {
	Log         *alertlog.Log
	Originators *originators.Store
	Regions     *geo.Registry
	Logger      *slog.Logger
	// Replay, when set, refuses a signature seen before.
	Replay Replay
	// Approval holds matching alerts for a second officer.
	Approval ApprovalPolicy
	// Recipients counts recipients for the min_recipients rule.
	Recipients Counter
	// Audit, when set, records every submission and approval.
	Audit Auditor
	// ToleranceM is how far an area may reach outside the jurisdiction.
	ToleranceM float64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Metrics, when set, registers the intake metrics.
	Metrics prometheus.Registerer
	// Writable, when set, says why the store cannot take an alert now (a
	// full disk); the submission is then refused with 503 and the reason.
	Writable func() error
	// MaxBody is the largest submission accepted (0: cap.MaxSize). The
	// composition root keeps it below what NATS can carry, so a body that
	// passes every check is never refused by the store for its size.
	MaxBody int
}

// Service is the intake pipeline.
type Service struct {
	Config
	accepted *prometheus.CounterVec
	rejected *prometheus.CounterVec
	latency  prometheus.Histogram

	// unsigned counts, by reason, the refusals that came before a valid
	// signature since the last summary (FlushRefusals).
	mu       sync.Mutex
	unsigned map[string]int
}

// New builds an intake service and registers its metrics.
func New(cfg Config) *Service {
	s := &Service{
		Config: cfg,
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_alerts_accepted_total", Help: "Alerts accepted, by CAP status and msgType.",
		}, []string{"status", "msg_type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_alerts_rejected_total", Help: "Submissions refused, by reason.",
		}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "herald_intake_duration_seconds", Help: "Time from receiving a submission to accepting or refusing it.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if cfg.Metrics != nil {
		cfg.Metrics.MustRegister(s.accepted, s.rejected, s.latency)
	}
	// Known label sets start at 0 (a series exists before its first event).
	for _, st := range []cap.Status{cap.StatusActual, cap.StatusExercise, cap.StatusSystem, cap.StatusTest, cap.StatusDraft} {
		for _, mt := range []cap.MsgType{cap.MsgAlert, cap.MsgUpdate, cap.MsgCancel, cap.MsgAck, cap.MsgError} {
			s.accepted.WithLabelValues(string(st), string(mt))
		}
	}
	for k := Invalid; k <= Unavailable; k++ {
		s.rejected.WithLabelValues(k.String())
	}
	s.rejected.WithLabelValues("rate_limited")
	return s
}

func (s *Service) maxBody() int {
	if s.MaxBody > 0 {
		return min(s.MaxBody, cap.MaxSize)
	}
	return cap.MaxSize
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Submit runs a submission through the pipeline and returns the accepted
// alert's record, or an *Error saying why it was refused.
func (s *Service) Submit(ctx context.Context, sub Submission) (*alertlog.Record, error) {
	start := time.Now()
	rec, err := s.submit(ctx, sub)
	s.latency.Observe(time.Since(start).Seconds())
	actor, detail := s.actorOf(sub.Signature.Key)
	entry := audit.Record{Kind: audit.KindSubmission, Actor: actor, Detail: detail}
	if err != nil {
		entry.Outcome, entry.Reason = audit.OutcomeRefused, KindOf(err).String()+": "+err.Error()
	} else {
		entry.Outcome, entry.AlertID = audit.OutcomeAccepted, rec.ID
		entry.Reason = fmt.Sprintf("%s %s %s", rec.Status, rec.MsgType, rec.State)
		if rec.MsgType == cap.MsgCancel {
			entry.Kind = audit.KindCancel
		}
	}
	if err != nil && anonymous(err) {
		// Before a valid signature nobody is identified and anyone can
		// send: count the refusal, and let FlushRefusals summarize, so
		// that a flood costs no storage.
		s.mu.Lock()
		if s.unsigned == nil {
			s.unsigned = map[string]int{}
		}
		s.unsigned[KindOf(err).String()]++
		s.mu.Unlock()
	} else {
		s.Record(ctx, entry)
	}
	if err != nil {
		kind := KindOf(err)
		s.rejected.WithLabelValues(kind.String()).Inc()
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "submission refused", slog.String("reason", kind.String()), slog.String("error", err.Error()))
		return nil, err
	}
	s.accepted.WithLabelValues(string(rec.Status), string(rec.MsgType)).Inc()
	s.Logger.LogAttrs(ctx, slog.LevelInfo, "alert accepted", slog.String("id", rec.ID), slog.String("originator", rec.Originator),
		slog.Any("msg_type", rec.MsgType), slog.Any("status", rec.Status), slog.Any("regions", rec.Regions))
	return rec, nil
}

// Identified reports whether sub carries a valid signature for action by a
// registered originator; it checks nothing else and stores nothing.
func (s *Service) Identified(sub Submission, action string) bool {
	if _, err := signing.Verify(sub.Signature, action, sub.Body, s.now()); err != nil {
		return false
	}
	_, ok := s.Originators.Current().ByKey(sub.Signature.Key)
	return ok
}

// CountRefusal counts a refusal made before intake (by the HTTP edge's
// rate limit, say) with the anonymous ones: metric and summary.
func (s *Service) CountRefusal(reason string) {
	s.rejected.WithLabelValues(reason).Inc()
	s.mu.Lock()
	if s.unsigned == nil {
		s.unsigned = map[string]int{}
	}
	s.unsigned[reason]++
	s.mu.Unlock()
}

// anonymous reports whether a refusal came before the sender was
// identified by a valid, unused signature (or before the body was read).
func anonymous(err error) bool {
	switch KindOf(err) {
	case Unauthorized, TooLarge:
		return true
	}
	return false
}

// FlushRefusals writes one audit record summarizing the refusals counted
// since the last call, if there were any.
func (s *Service) FlushRefusals(ctx context.Context, since time.Duration) {
	s.mu.Lock()
	counts := s.unsigned
	s.unsigned = nil
	s.mu.Unlock()
	if len(counts) == 0 {
		return
	}
	total := 0
	detail := map[string]string{"interval": since.String()}
	for reason, n := range counts {
		total += n
		detail[reason] = strconv.Itoa(n)
	}
	s.Record(ctx, audit.Record{Kind: audit.KindRefusals, Actor: "unknown", Outcome: audit.OutcomeRefused,
		Reason: fmt.Sprintf("%d submissions refused before a valid signature", total), Detail: detail})
}

// Checked is a submission that passed signature, validation and
// authorization: what preview and submit share.
type Checked struct {
	Alert      *cap.Alert
	Originator *originators.Originator
	Area       *area.Resolved // nil for a Cancel without an area
}

func (s *Service) submit(ctx context.Context, sub Submission) (*alertlog.Record, error) {
	c, err := s.Check(ctx, sub, signing.ActionSubmit)
	if err != nil {
		return nil, err
	}
	if err := s.spend(ctx, sub.Signature); err != nil {
		return nil, err
	}
	a := c.Alert
	// An agency without configured senders is bound to the first one it
	// uses, now that the submission is otherwise acceptable.
	if err := s.authorizeSender(ctx, c.Originator, a, true); err != nil {
		return nil, err
	}
	var regions []string
	if c.Area != nil {
		regions = c.Area.RegionIDs()
	}
	rec := s.Log.NewRecord(a, c.Originator.ID, regions, s.now())
	held, err := s.needsApproval(ctx, c, rec)
	if err != nil {
		return nil, refuse(Unavailable, "Recipient count unavailable", err, "%v", err)
	}
	if held != "" {
		rec.State = lifecycle.PendingApproval
		s.Logger.Info("alert held for approval", "id", rec.ID, "rule", held)
	}
	hdr := nats.Header{}
	sub.Signature.Set(hdr.Set)
	if s.Writable != nil {
		if err := s.Writable(); err != nil {
			return nil, refuse(Unavailable, "Storage full", err, "%v", err)
		}
	}
	// Stored and forwarded as UTF-8, whatever the publisher declared.
	body, err := cap.ToUTF8(sub.Body)
	if err != nil {
		return nil, &Error{Kind: Invalid, Title: "Invalid CAP", Detail: err.Error(), Err: err, Problems: cap.Problems{{Path: "alert", Message: err.Error()}}}
	}
	if err := s.Log.Append(ctx, rec, body, hdr); err != nil {
		switch {
		case errors.Is(err, alertlog.ErrDuplicate):
			return nil, refuse(Conflict, "Duplicate identifier", err, "sender %q already issued identifier %q", a.Sender, a.Identifier)
		case alertlog.IsStateLagging(err):
			s.Logger.Warn("alert stored but its state record is late; the planner will write it", "id", rec.ID, "error", err)
		default:
			return nil, refuse(Unavailable, "Alert store unavailable", err, "the alert was not accepted; retry: %v", err)
		}
	}
	return rec, nil
}

// Preview checks a submission signed for preview, and spends its
// signature: a preview reveals recipient counts, so a captured one is not
// replayed either.
func (s *Service) Preview(ctx context.Context, sub Submission) (*Checked, error) {
	c, err := s.Check(ctx, sub, signing.ActionPreview)
	if err != nil {
		return nil, err
	}
	if err := s.spend(ctx, sub.Signature); err != nil {
		return nil, err
	}
	return c, nil
}

// spend records a signature as used. Only a fully checked request spends
// it, so a refused one can be fixed and signed again without waiting for
// the window.
func (s *Service) spend(ctx context.Context, sig signing.Headers) error {
	if s.Replay == nil {
		return nil
	}
	if err := s.Replay.Use(ctx, sig.Signature); err != nil {
		if errors.Is(err, replay.ErrReplay) {
			return refuse(Unauthorized, "Replayed request", err, "this signature was already used; sign the request again")
		}
		return refuse(Unavailable, "Replay store unavailable", err, "the request was not carried out; retry: %v", err)
	}
	return nil
}

// Check verifies, validates and authorizes a submission without storing
// it. action is the signed action (submit or preview).
func (s *Service) Check(ctx context.Context, sub Submission, action string) (*Checked, error) {
	if limit := s.maxBody(); len(sub.Body) > limit {
		return nil, refuse(TooLarge, "Alert too large", cap.ErrTooLarge, "the body is %d bytes; the limit is %d", len(sub.Body), limit)
	}
	// The signature is checked before the body is parsed: strangers do not
	// get to exercise the CAP parser or learn about the jurisdictions.
	if _, err := signing.Verify(sub.Signature, action, sub.Body, s.now()); err != nil {
		return nil, refuse(Unauthorized, "Bad signature", err, "%v", err)
	}
	o, ok := s.Originators.Current().ByKey(sub.Signature.Key)
	if !ok {
		return nil, refuse(Unauthorized, "Unknown key", nil, "key %s is not a registered originator", sub.Signature.Key)
	}
	// The schema's rules (order, cardinality, markup, padding: an alert
	// that breaks them reads differently to different consumers) and the
	// rules CAP adds.
	a, probs, err := cap.Check(sub.Body)
	if err != nil {
		return nil, &Error{Kind: Invalid, Title: "Invalid CAP", Detail: err.Error(), Err: err, Problems: cap.Problems{{Path: "alert", Message: err.Error()}}}
	}
	if len(probs) > 0 {
		return nil, &Error{Kind: Invalid, Title: "Invalid CAP", Detail: fmt.Sprintf("%d problem(s)", len(probs)), Problems: probs, Err: probs}
	}
	if err := s.notExpired(a); err != nil {
		return nil, err
	}
	if err := s.authorizeSender(ctx, o, a, false); err != nil {
		return nil, err
	}
	if err := authorizeRole(o, a); err != nil {
		return nil, err
	}
	if err := s.authorizeReferences(ctx, o, a); err != nil {
		return nil, err
	}
	c := &Checked{Alert: a, Originator: o}
	res, probs, err := area.Resolve(s.Regions, a)
	switch {
	case errors.Is(err, area.ErrNoArea) && (a.MsgType == cap.MsgCancel || a.MsgType == cap.MsgAck || a.MsgType == cap.MsgError):
		return c, nil
	case err != nil:
		return nil, &Error{Kind: Invalid, Title: "Invalid area", Detail: err.Error(), Err: err, Problems: cap.Problems{{Path: "alert/info", Message: err.Error()}}}
	case len(probs) > 0:
		return nil, &Error{Kind: Invalid, Title: "Invalid area", Detail: fmt.Sprintf("%d problem(s)", len(probs)), Problems: probs, Err: probs}
	}
	if len(res.Regions) == 0 {
		msg := "the area overlaps no known region"
		if s.Regions.LikelySwapped(res.Area) {
			msg += ", but it would with latitude and longitude swapped: CAP writes each point as lat,lon"
		}
		return nil, &Error{Kind: Invalid, Title: "Area outside every region", Detail: msg, Problems: cap.Problems{{Path: "alert/info", Message: msg}}}
	}
	if err := s.authorizeArea(o, res); err != nil {
		return nil, err
	}
	c.Area = res
	return c, nil
}

// authorizeRole applies the roles of the contract.
func authorizeRole(o *originators.Originator, a *cap.Alert) error {
	switch {
	case o.Has(originators.RoleIssuer):
		return nil
	case o.Has(originators.RoleExerciseOnly):
		if a.Status == cap.StatusActual {
			return refuse(Forbidden, "Role does not allow this alert", nil, "originator %s is exercise_only and cannot send status=Actual", o.ID)
		}
		return nil
	case o.Has(originators.RoleApprover) && (a.MsgType == cap.MsgUpdate || a.MsgType == cap.MsgCancel):
		return nil
	}
	return refuse(Forbidden, "Role does not allow this alert", nil, "originator %s has roles %v; issuing needs issuer or exercise_only", o.ID, o.Roles)
}

// authorizeSender ties the CAP <sender> to the originator's agency: a
// sender configured for another agency, or (when the agency configured
// its senders) one it did not list, is refused; so is a sender another
// agency was bound to by first use. bind records the first use.
func (s *Service) authorizeSender(ctx context.Context, o *originators.Originator, a *cap.Alert, bind bool) error {
	set := s.Originators.Current()
	if agency, ok := set.SenderAgency(a.Sender); ok {
		if agency != o.Agency {
			return refuse(Forbidden, "Sender of another agency", nil, "sender %q belongs to agency %s, not %s (originators file, senders)", a.Sender, agency, o.Agency)
		}
		return nil
	}
	if set.HasSenders(o.Agency) {
		return refuse(Forbidden, "Sender not configured", nil, "sender %q is not one of agency %s's senders (originators file, senders)", a.Sender, o.Agency)
	}
	owner, err := s.Log.SenderAgency(ctx, a.Sender)
	if err == nil && owner == "" && bind {
		owner, err = s.Log.BindSender(ctx, a.Sender, o.Agency)
	}
	switch {
	case err != nil:
		return refuse(Unavailable, "Alert store unavailable", err, "%v", err)
	case owner != "" && owner != o.Agency:
		return refuse(Forbidden, "Sender of another agency", nil, "sender %q was first used by agency %s and is bound to it; list your agency's senders in the originators file", a.Sender, owner)
	}
	return nil
}

// notExpired refuses a message whose <expires> has already passed: it
// would be stored and never sent.
func (s *Service) notExpired(a *cap.Alert) error {
	now := s.now()
	for i := range a.Info {
		if t, err := a.Info[i].ExpiresTime(); err == nil && lifecycle.PastExpiry(t, now) {
			path := fmt.Sprintf("alert/info[%d]/expires", i)
			msg := fmt.Sprintf("%s is already past (now %s): the alert would never be sent", a.Info[i].Expires, now.UTC().Format(time.RFC3339))
			return &Error{Kind: Invalid, Title: "Alert already expired", Detail: path + ": " + msg, Problems: cap.Problems{{Path: path, Message: msg}}}
		}
	}
	return nil
}

// authorizeReferences lets Updates and Cancels through only for alerts that
// exist and are still in force, from their originator or an approver of
// the same agency; Acks and Errors only for alerts of the sender's own
// agency.
func (s *Service) authorizeReferences(ctx context.Context, o *originators.Originator, a *cap.Alert) error {
	if !a.MsgType.References() {
		return nil
	}
	refs, err := a.ParseReferences()
	if err != nil {
		return &Error{Kind: Invalid, Title: "Invalid references", Detail: err.Error(), Err: err, Problems: cap.Problems{{Path: "alert/references", Message: err.Error()}}}
	}
	set := s.Originators.Current()
	for _, r := range refs {
		id := s.Log.ID(r.Sender, r.Identifier)
		rec, err := s.Log.Get(ctx, id)
		if errors.Is(err, alertlog.ErrNotFound) {
			return refuse(NotFound, "Referenced alert not found", err, "%s references %s,%s, which Herald never accepted", a.MsgType, r.Sender, r.Identifier)
		}
		if err != nil {
			return refuse(Unavailable, "Alert store unavailable", err, "%v", err)
		}
		issuer, known := set.ByID(rec.Originator)
		sameAgency := rec.Originator == o.ID || known && issuer.Agency == o.Agency
		if a.MsgType == cap.MsgAck || a.MsgType == cap.MsgError {
			if !sameAgency {
				return refuse(Forbidden, "Not your agency's alert", nil, "alert %s was issued by %s, of another agency; an %s may only reference your agency's alerts",
					id, rec.Originator, a.MsgType)
			}
			continue
		}
		if st := lifecycle.Shown(rec.State, rec.ExpiresAt(), s.now()); st == lifecycle.Cancelled || st == lifecycle.Expired || st == lifecycle.Rejected {
			return refuse(Conflict, "Referenced alert no longer in force", nil, "alert %s is %s; an %s of it would reach nobody usefully", id, st, a.MsgType)
		}
		if rec.Originator == o.ID {
			continue
		}
		if o.Has(originators.RoleApprover) && known && issuer.Agency == o.Agency {
			continue
		}
		return refuse(Forbidden, "Not your alert", nil, "alert %s was issued by %s; only its originator or an approver of the same agency may %s it",
			id, rec.Originator, strings.ToLower(string(a.MsgType)))
	}
	return nil
}

// authorizeArea refuses an area that reaches land outside the
// originator's jurisdiction (its regions and/or GeoJSON area) by more than
// the tolerance, naming the <area> and the land. Water that belongs to no
// region is not "outside": coastal alerts routinely include sea.
func (s *Service) authorizeArea(o *originators.Originator, res *area.Resolved) error {
	j := geo.Jurisdiction{Regions: o.Jurisdiction.Regions, Area: o.Jurisdiction.Area}
	var outside []string
	for _, part := range res.Parts {
		reaches, err := s.Regions.Reaches(part.Shape, j, s.ToleranceM)
		for _, r := range reaches {
			outside = append(outside, fmt.Sprintf("%s (%q) reaches %s", part.Path, part.Desc, r))
		}
		if errors.Is(err, geo.ErrTooComplex) {
			outside = append(outside, fmt.Sprintf("%s (%q) follows the jurisdiction's edge too closely to check; draw it further inside", part.Path, part.Desc))
		} else if err != nil {
			return refuse(Forbidden, "Area outside jurisdiction", err, "%s: %v", part.Path, err)
		}
	}
	if len(outside) > 0 {
		return refuse(Forbidden, "Area outside jurisdiction", nil, "%s; the jurisdiction of %s allows %.0f m beyond its edge", strings.Join(outside, "; "), o.ID, s.ToleranceM)
	}
	return nil
}
