// Package alertlog is Herald's durable record of accepted alerts on
// JetStream: the append-only alert log (stream HERALD_ALERTS, which also
// keeps the per-region feed subjects hospitals replay) and each alert's
// current state (KV bucket HERALD_STATE).
//
// The log is the truth: an alert exists once its message is stored there,
// and CAP sender+identifier uniqueness is enforced by the stream itself, so
// it survives restarts. The state record is a view kept beside it. This
// package does not decide whether an alert is acceptable (intake) or what
// is sent (plan, dispatch).
package alertlog

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/appendonly"
	"github.com/herald-alerts/herald/internal/lifecycle"
)

// JetStream names (documented in docs/architecture.md).
const (
	StreamName    = "HERALD_ALERTS"
	StateBucket   = "HERALD_STATE"
	SubjectLog    = "herald.alerts.log."    // + alert id: the accepted CAP XML
	SubjectRegion = "herald.alerts.region." // + region id: feed copies for hospitals
	// SubjectApproval + alert id records a second officer's approval.
	SubjectApproval = "herald.alerts.approval."
)

// Headers on log and region messages.
const (
	HeaderAlertID    = "Herald-Alert-Id"
	HeaderOriginator = "Herald-Originator"
	HeaderMsgType    = "Cap-Msg-Type"
	HeaderSeverity   = "Cap-Severity"
	HeaderUrgency    = "Cap-Urgency"
	HeaderCertainty  = "Cap-Certainty"
	HeaderStatus     = "Cap-Status"
	// HeaderHANType is the CDC HAN type (Health Alert, Health Advisory,
	// Health Update, Info Service) when the alert carries one.
	HeaderHANType = "Herald-HAN-Type"
	// HeaderRegions lists the overlapped region ids on the log message, so
	// the state record can be rebuilt from the log alone.
	HeaderRegions = "Herald-Regions"
	// HeaderState is the state the alert was accepted in (accepted or
	// pending_approval): a record rebuilt from the log must not skip an
	// approval.
	HeaderState = "Herald-State"
)

// Errors callers branch on.
var (
	ErrDuplicate = errors.New("an alert with this sender and identifier was already accepted")
	ErrNotFound  = errors.New("alert not found")
)

// Record is an alert's state and summary: what GET /v1/alerts/{id} shows.
type Record struct {
	ID         string          `json:"id"`
	State      lifecycle.State `json:"state"`
	Originator string          `json:"originator"`
	Sender     string          `json:"sender"`
	Identifier string          `json:"identifier"`
	MsgType    cap.MsgType     `json:"msg_type"`
	Status     cap.Status      `json:"status"`
	Scope      cap.Scope       `json:"scope"`
	Severity   cap.Severity    `json:"severity"`
	// HANType is the CDC HAN message type the alert carries, if any.
	HANType   cap.HANType   `json:"han_type,omitempty"`
	Urgency   cap.Urgency   `json:"urgency,omitempty"`
	Certainty cap.Certainty `json:"certainty,omitempty"`
	Headline  string        `json:"headline,omitempty"`
	// SenderName is the first info's <senderName>: who people are told
	// the alert is from.
	SenderName string `json:"sender_name,omitempty"`
	// RejectedBy and RejectReason record a second officer's refusal.
	RejectedBy   string `json:"rejected_by,omitempty"`
	RejectReason string `json:"reject_reason,omitempty"`
	// UpdatedBy is the newest planned Update that replaces this alert.
	UpdatedBy  string    `json:"updated_by,omitempty"`
	Regions    []string  `json:"regions"`
	Sent       string    `json:"sent"`
	Expires    string    `json:"expires,omitempty"`
	AcceptedAt time.Time `json:"accepted_at"`
	// References are the ids of the alerts an Update or Cancel refers to.
	References []string `json:"references,omitempty"`
	// Seq is the alert's sequence in the log stream.
	Seq uint64 `json:"seq"`
}

// ExpiresAt is the alert's CAP expiry, zero when it has none.
func (r *Record) ExpiresAt() time.Time {
	t, _ := cap.ParseTime(r.Expires)
	return t
}

// NewRecord summarizes an accepted alert.
func (l *Log) NewRecord(a *cap.Alert, originator string, regions []string, acceptedAt time.Time) *Record {
	var info cap.Info
	if len(a.Info) > 0 {
		info = a.Info[0]
	}
	expires := ""
	for _, in := range a.Info {
		if in.Expires != "" {
			expires = in.Expires
			break
		}
	}
	if regions == nil {
		regions = []string{}
	}
	var refs []string
	if parsed, err := a.ParseReferences(); err == nil {
		for _, r := range parsed {
			refs = append(refs, l.ID(r.Sender, r.Identifier))
		}
	}
	return &Record{
		References: refs,
		ID:         l.ID(a.Sender, a.Identifier), State: lifecycle.Accepted, Originator: originator,
		Sender: a.Sender, Identifier: a.Identifier, MsgType: a.MsgType, Status: a.Status, Scope: a.Scope,
		// Every <info> counts: the most serious values across them.
		Severity: a.MostSevere(), Urgency: a.MostUrgent(), Certainty: a.MostCertain(), Headline: info.Headline, SenderName: info.SenderName,
		Regions: regions, Sent: a.Sent, Expires: expires, AcceptedAt: acceptedAt.UTC(), HANType: hanType(a),
	}
}

// hanType is a's HAN type; intake validated it, so an unknown one is none.
func hanType(a *cap.Alert) cap.HANType {
	t, _ := a.HANType()
	return t
}

// RecordFromLog rebuilds the state record of a log message, for when the
// process that accepted the alert stopped before writing it.
func (l *Log) RecordFromLog(hdr nats.Header, a *cap.Alert, seq uint64, stored time.Time) *Record {
	var regions []string
	if v := hdr.Get(HeaderRegions); v != "" {
		regions = strings.Split(v, ",")
	}
	rec := l.NewRecord(a, hdr.Get(HeaderOriginator), regions, stored)
	rec.Seq = seq
	if st := hdr.Get(HeaderState); st != "" {
		rec.State = lifecycle.State(st)
	}
	return rec
}

// idKeyName is the state bucket's key holding the secret alert ids are
// derived with.
const idKeyName = "config.alert-id-key"

// legacyIDs marks a log started before ids were keyed: its ids stay the
// plain hash, so an upgrade never accepts a stored sender+identifier again
// under a new id.
const legacyIDs = "legacy"

// ID derives an alert's id from its CAP sender and identifier: the same
// alert always has the same id (and dedups in JetStream), the id is a
// NATS-token-safe lowercase string, and, being keyed with a secret kept
// in the state bucket, it cannot be computed from the public CAP fields
// (ids of Restricted and Private alerts are not guessable).
func (l *Log) ID(sender, identifier string) string {
	msg := []byte(sender + "\x00" + identifier)
	var sum []byte
	if l.idKey == nil {
		s := sha256.Sum256(msg)
		sum = s[:]
	} else {
		m := hmac.New(sha256.New, l.idKey)
		m.Write(msg)
		sum = m.Sum(nil)
	}
	return "a" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}

// loadIDKey reads the id key, creating it on a new log (every process of a
// cluster reads the same one).
func (l *Log) loadIDKey(ctx context.Context) error {
	for range 3 {
		e, err := l.state.Get(ctx, idKeyName)
		if err == nil {
			if string(e.Value()) != legacyIDs {
				l.idKey = e.Value()
			}
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("read %s: %w", idKeyName, err)
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		info, err := l.stream.Info(ctx, jetstream.WithSubjectFilter(SubjectLog+"*"))
		if err != nil {
			return fmt.Errorf("stream %s: %w", StreamName, err)
		}
		if len(info.State.Subjects) > 0 {
			key = []byte(legacyIDs)
		}
		if _, err := l.state.Create(ctx, idKeyName, key); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("write %s: %w", idKeyName, err)
		}
	}
	return fmt.Errorf("read %s: still absent after creating it", idKeyName)
}

// Log is the alert log and state.
type Log struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	state  jetstream.KeyValue
	idKey  []byte // nil: legacy, unkeyed ids
}

// Config is what Open needs.
type Config struct {
	JS       jetstream.JetStream
	Replicas int // JetStream replicas of the stream or bucket (1 on one server)
}

// Open creates or updates the stream and bucket with the given replicas.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	js, replicas := cfg.JS, cfg.Replicas
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Herald: accepted alerts (log) and regional feed copies",
		Subjects:    []string{SubjectLog + "*", SubjectApproval + "*", SubjectRegion + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    replicas,
		// The log is an audit record: nobody removes what was accepted.
		DenyDelete: true,
		DenyPurge:  true,
		Duplicates: 10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", StreamName, err)
	}
	state, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      StateBucket,
		Description: "Herald: alert state",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		History:     8,
	})
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", StateBucket, err)
	}
	l := &Log{js: js, stream: stream, state: state}
	if err := l.loadIDKey(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Append stores an accepted alert: raw is the CAP XML as submitted, hdr
// extra headers (signature, originator). It fails with ErrDuplicate when
// the id was accepted before. On success rec.Seq is set and the state
// record written; an alert is accepted once Append returns nil.
func (l *Log) Append(ctx context.Context, rec *Record, raw []byte, hdr nats.Header) error {
	// The state record outlives a damaged log: an alert whose log message
	// was lost is still not accepted a second time.
	if _, err := l.state.Get(ctx, "alert."+rec.ID); err == nil {
		return ErrDuplicate
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("store alert %s: %w", rec.ID, err)
	}
	msg := nats.NewMsg(SubjectLog + rec.ID)
	for k, v := range hdr {
		msg.Header[k] = v
	}
	msg.Header.Set(HeaderAlertID, rec.ID)
	msg.Header.Set(HeaderOriginator, rec.Originator)
	msg.Header.Set(HeaderRegions, strings.Join(rec.Regions, ","))
	msg.Header.Set(HeaderState, string(rec.State))
	msg.Data = raw
	// The expected-last-subject-sequence 0 makes the stream itself refuse a
	// second alert with the same id, at any time after the first.
	ack, err := l.js.PublishMsg(ctx, msg, jetstream.WithMsgID(rec.ID), jetstream.WithExpectLastSequencePerSubject(0))
	if err != nil {
		if isWrongRevision(err) {
			return ErrDuplicate
		}
		return fmt.Errorf("store alert %s: %w", rec.ID, err)
	}
	if ack.Duplicate {
		return ErrDuplicate
	}
	rec.Seq = ack.Sequence
	// Create, not Put: the planner may already have rebuilt the record from
	// the log and moved it on; it must not be set back to accepted.
	if _, err := l.Ensure(ctx, rec); err != nil {
		// The alert is stored; the planner rebuilds a missing state record
		// from the log, so this is not a reason to refuse it.
		return fmt.Errorf("%w: %w", errStateLagging, err)
	}
	return nil
}

var errStateLagging = errors.New("alert stored, state record not yet written")

// IsStateLagging reports whether an Append error only means the state
// record is late; the alert itself was stored.
func IsStateLagging(err error) bool { return errors.Is(err, errStateLagging) }

// Headers of approval messages.
const (
	// HeaderApprover names the approving (or rejecting) originator.
	HeaderApprover = "Herald-Approver"
	// HeaderDecision is "rejected" on a refusal; absent on an approval.
	HeaderDecision = "Herald-Decision"
	// HeaderReason is the reason given for a refusal.
	HeaderReason = "Herald-Reason"
	// DecisionRejected is HeaderDecision's value on a refusal.
	DecisionRejected = "rejected"
)

// Reject records in the log that approver refused alert id, held for
// approval, for reason; the state moves with Rejected. The log entry comes
// first so the refusal outlives a crash before the state is written.
func (l *Log) Reject(ctx context.Context, id, approver, reason string) error {
	msg := nats.NewMsg(SubjectApproval + id)
	msg.Header.Set(HeaderAlertID, id)
	msg.Header.Set(HeaderApprover, approver)
	msg.Header.Set(HeaderDecision, DecisionRejected)
	msg.Header.Set(HeaderReason, reason)
	if _, err := l.js.PublishMsg(ctx, msg, jetstream.WithMsgID("rejection."+id)); err != nil {
		return fmt.Errorf("record rejection of %s: %w", id, err)
	}
	return nil
}

// Rejected moves a held alert to rejected, recording who refused it and
// why. ok is false (and rec the current record) when the alert was no
// longer held.
func (l *Log) Rejected(ctx context.Context, id, approver, reason string) (rec *Record, ok bool, err error) {
	return l.modify(ctx, id, func(r *Record) bool {
		next, err := lifecycle.Next(r.State, lifecycle.Reject)
		if err != nil {
			return false
		}
		r.State, r.RejectedBy, r.RejectReason = next, approver, reason
		return true
	})
}

// Approve records in the log that approver released alert id; the planner
// plans the alert when it reads this.
func (l *Log) Approve(ctx context.Context, id, approver string) error {
	msg := nats.NewMsg(SubjectApproval + id)
	msg.Header.Set(HeaderAlertID, id)
	msg.Header.Set(HeaderApprover, approver)
	if _, err := l.js.PublishMsg(ctx, msg, jetstream.WithMsgID("approval."+id)); err != nil {
		return fmt.Errorf("record approval of %s: %w", id, err)
	}
	return nil
}

// PublishRegions puts one copy of the alert on each affected region's
// feed subject, with the contract's headers. Each copy's Nats-Msg-Id is
// derived from the alert and region, so replanning after a crash does not
// publish twice within the dedup window.
func (l *Log) PublishRegions(ctx context.Context, rec *Record, raw []byte) error {
	for _, region := range rec.Regions {
		msg := nats.NewMsg(SubjectRegion + region)
		msg.Data = raw
		msg.Header.Set(HeaderAlertID, rec.ID)
		msg.Header.Set(HeaderMsgType, string(rec.MsgType))
		msg.Header.Set(HeaderStatus, string(rec.Status))
		msg.Header.Set(HeaderSeverity, string(rec.Severity))
		msg.Header.Set(HeaderUrgency, string(rec.Urgency))
		msg.Header.Set(HeaderCertainty, string(rec.Certainty))
		if rec.HANType != "" {
			msg.Header.Set(HeaderHANType, string(rec.HANType))
		}
		if _, err := l.js.PublishMsg(ctx, msg, jetstream.WithMsgID(rec.ID+"."+region)); err != nil {
			return fmt.Errorf("publish %s to region %s: %w", rec.ID, region, err)
		}
	}
	return nil
}

// senderKey is the state bucket's key binding a CAP sender to an agency.
func senderKey(sender string) string {
	sum := sha256.Sum256([]byte(sender))
	return "sender." + hex.EncodeToString(sum[:])
}

// SenderAgency is the agency a CAP sender was bound to by BindSender, ""
// when it is not bound.
func (l *Log) SenderAgency(ctx context.Context, sender string) (string, error) {
	e, err := l.state.Get(ctx, senderKey(sender))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read sender binding: %w", err)
	}
	return string(e.Value()), nil
}

// BindSender binds sender to agency unless it is bound already, atomically
// (across processes), and returns the agency it is bound to.
func (l *Log) BindSender(ctx context.Context, sender, agency string) (string, error) {
	if _, err := l.state.Create(ctx, senderKey(sender), []byte(agency)); err == nil {
		return agency, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return "", fmt.Errorf("bind sender: %w", err)
	}
	return l.SenderAgency(ctx, sender)
}

// Get returns an alert's record.
func (l *Log) Get(ctx context.Context, id string) (*Record, error) {
	rec, _, err := l.get(ctx, id)
	return rec, err
}

func (l *Log) get(ctx context.Context, id string) (*Record, uint64, error) {
	if !validID(id) {
		return nil, 0, ErrNotFound
	}
	e, err := l.state.Get(ctx, "alert."+id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read state %s: %w", id, err)
	}
	var rec Record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return nil, 0, fmt.Errorf("decode state %s: %w", id, err)
	}
	return &rec, e.Revision(), nil
}

// Ensure writes rec unless a record for its id exists; it returns the
// stored record. The planner uses it to repair a state record that Append
// could not write.
func (l *Log) Ensure(ctx context.Context, rec *Record) (*Record, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode state %s: %w", rec.ID, err)
	}
	if _, err := l.state.Create(ctx, "alert."+rec.ID, b); err == nil {
		return rec, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("write state %s: %w", rec.ID, err)
	}
	return l.Get(ctx, rec.ID)
}

// Apply moves an alert by event e, atomically, if the lifecycle table
// allows it from the alert's current state. It returns the updated record,
// or the current one and ok=false when the move is not allowed (the alert
// is already past it, or was cancelled meanwhile).
func (l *Log) Apply(ctx context.Context, id string, e lifecycle.Event) (rec *Record, ok bool, err error) {
	return l.modify(ctx, id, func(r *Record) bool {
		to, err := lifecycle.Next(r.State, e)
		r.State = to
		return err == nil
	})
}

// MarkUpdated records on alert id that Update by replaces it, so that
// readers (the alert's page) find the newest version without a scan.
func (l *Log) MarkUpdated(ctx context.Context, id, by string) error {
	_, _, err := l.modify(ctx, id, func(r *Record) bool {
		if r.UpdatedBy == by {
			return false
		}
		r.UpdatedBy = by
		return true
	})
	return err
}

// modify changes alert id's state record with change, atomically (retrying
// on a concurrent write); change returns false to leave it as it is.
func (l *Log) modify(ctx context.Context, id string, change func(*Record) bool) (rec *Record, ok bool, err error) {
	for attempt := 0; attempt < 10; attempt++ {
		cur, rev, err := l.get(ctx, id)
		if err != nil {
			return nil, false, err
		}
		before := *cur
		if !change(cur) {
			return &before, false, nil
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return nil, false, fmt.Errorf("encode state %s: %w", id, err)
		}
		if _, err := l.state.Update(ctx, "alert."+id, b, rev); err == nil {
			return cur, true, nil
		} else if !isWrongRevision(err) {
			return nil, false, fmt.Errorf("update state %s: %w", id, err)
		}
	}
	return nil, false, fmt.Errorf("update state %s: too much contention", id)
}

func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// List returns every alert's record, in one pass over the state bucket.
func (l *Log) List(ctx context.Context) ([]*Record, error) {
	w, err := l.state.Watch(ctx, "alert.*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer w.Stop()
	var out []*Record
	for {
		select {
		case e := <-w.Updates():
			if e == nil { // the current values are all in
				return out, nil
			}
			var rec Record
			if err := json.Unmarshal(e.Value(), &rec); err == nil {
				out = append(out, &rec)
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("list alerts: %w", ctx.Err())
		}
	}
}

// Raw returns the alert's CAP XML exactly as it was accepted, and the
// headers stored with it.
func (l *Log) Raw(ctx context.Context, id string) ([]byte, nats.Header, error) {
	if !validID(id) {
		return nil, nil, ErrNotFound
	}
	m, err := l.stream.GetLastMsgForSubject(ctx, SubjectLog+id)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read alert %s: %w", id, err)
	}
	return m.Data, m.Header, nil
}

// Intact reports a log that lost messages (a damaged or truncated file):
// an *appendonly.LossError naming the stream.
func (l *Log) Intact(ctx context.Context) error { return appendonly.Intact(ctx, l.stream) }

// Check verifies the log and the state records against each other, for
// `herald check`: the stream is intact, every logged alert parses, has
// the id its sender and identifier give and a state record, and every
// state record has its log message. It returns what is wrong, one line
// each; err is for a check that could not run.
func (l *Log) Check(ctx context.Context) (problems []string, err error) {
	if err := l.Intact(ctx); err != nil {
		var le *appendonly.LossError
		if !errors.As(err, &le) {
			return nil, err
		}
		problems = append(problems, err.Error())
	}
	info, err := l.stream.Info(ctx, jetstream.WithSubjectFilter(SubjectLog+"*"))
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamName, err)
	}
	recs, err := l.List(ctx)
	if err != nil {
		return nil, err
	}
	stored := map[string]bool{}
	for _, rec := range recs {
		stored[rec.ID] = true
		if info.State.Subjects[SubjectLog+rec.ID] == 0 {
			problems = append(problems, fmt.Sprintf("alert %s (%s, %s): state record without its log message (lost from %s)", rec.ID, rec.Sender, rec.Identifier, StreamName))
		}
	}
	for subject, n := range info.State.Subjects {
		id := strings.TrimPrefix(subject, SubjectLog)
		if n != 1 {
			problems = append(problems, fmt.Sprintf("alert %s: %d log messages, want 1", id, n))
		}
		raw, hdr, err := l.Raw(ctx, id)
		if err != nil {
			problems = append(problems, fmt.Sprintf("alert %s: log message unreadable: %v", id, err))
			continue
		}
		a, err := cap.Parse(raw)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("alert %s: log message is not CAP: %v", id, err))
		case l.ID(a.Sender, a.Identifier) != id || hdr.Get(HeaderAlertID) != id:
			problems = append(problems, fmt.Sprintf("alert %s: log message is for another alert (%s, %s)", id, a.Sender, a.Identifier))
		}
		if !stored[id] {
			problems = append(problems, fmt.Sprintf("alert %s: no state record (Herald rebuilds it when the planner next reads the log)", id))
		}
	}
	return problems, nil
}

// Ready reports whether the stream answers and the state bucket takes writes.
func (l *Log) Ready(ctx context.Context) error {
	if _, err := l.stream.Info(ctx); err != nil {
		return fmt.Errorf("stream %s: %w", StreamName, err)
	}
	// Reading can succeed where writing cannot (a cluster without quorum
	// answers info requests): only a write shows Herald could accept now.
	if _, err := l.state.Put(ctx, "ready", []byte(time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
		return fmt.Errorf("bucket %s not writable: %w", StateBucket, err)
	}
	return nil
}

// validID keeps ids that cannot name a subject (wildcards, dots, spaces)
// away from JetStream lookups.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
