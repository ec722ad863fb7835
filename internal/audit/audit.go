// Package audit is Herald's tamper-evident audit trail: an append-only,
// hash-chained log, on the JetStream stream HERALD_AUDIT, of every
// submission (accepted or refused, with the reason), approval, cancel and
// configuration reload.
//
// # Tamper evidence
//
// The stream denies delete and purge, so nobody can remove a record through
// the JetStream API. Every other kind of tampering (editing the store files,
// rebuilding the stream from an altered copy, reordering or dropping
// records) is detected by [Log.Verify]: each record carries the SHA-256 of
// its own canonical bytes (Hash) and its predecessor's Hash (Prev), and its
// stream sequence (Seq) is inside the hash. A hash chain cannot show that
// records were cut off its end; to detect that, keep the latest (Seq, Hash)
// somewhere else (a backup, a ticket) and compare.
//
// # Canonical bytes
//
// A record is stored as one message whose body is its canonical JSON: the
// encoding/json form of [Record], with no insignificant whitespace, keys in
// the fixed order seq, time, kind, actor, alert_id, outcome, reason, detail,
// prev, hash (alert_id, reason and detail left out when empty), detail keys
// sorted, time in RFC 3339 UTC with at most millisecond precision. The
// canonical bytes of a record are that body with the value of the final
// "hash" emptied, so a tool in any language can verify the chain without
// re-encoding: replace the trailing `"hash":"<64 hex digits>"}` of each body
// with `"hash":""}`, take the SHA-256, compare it with hash, and compare prev
// with the previous record's hash ("" for the first record, seq 1).
//
// # No phone numbers
//
// Audit records are kept forever, so they must never hold a resident's
// phone number: [Log.Append] refuses, with [ErrPhoneNumber], any record with
// a field, detail key or detail value that looks like an E.164 number
// (+12065550101, +44 20 7946 0958) or a NANP number ((206) 555-0101,
// 1-206-555-0101). Callers pass ids (originator, alert, subscriber), never
// numbers.
//
// # Several writers
//
// Several Herald processes may append to one stream at once. Each append is
// published on the condition that the stream's last sequence is still the
// one the record was chained to, so the chain can never fork; a writer that
// loses the race re-reads the end of the stream and tries again.
//
// This package does not decide what is audited (intake, approval and config
// do), authorize readers, or format records for people (the CLI does).
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream names.
const (
	StreamName    = "HERALD_AUDIT"
	SubjectPrefix = "herald.audit." // + Record.Kind
)

// Kinds of audited event. Any token matching [a-z][a-z0-9_]* is allowed;
// these are the ones Herald writes.
const (
	KindSubmission   = "submission"
	KindApproval     = "approval"
	KindCancel       = "cancel"
	KindConfigReload = "config_reload"
	// KindSession is an officer's console sign-in.
	KindSession = "session"
	// KindRefusals summarizes the submissions refused before a valid
	// signature over an interval: counted, not stored one by one.
	KindRefusals = "refusals"
)

// Outcomes Herald records.
const (
	OutcomeAccepted = "accepted"
	OutcomeRefused  = "refused"
	OutcomeApproved = "approved"
	OutcomeRejected = "rejected"
	OutcomeExpired  = "expired"
	OutcomeReloaded = "reloaded"
)

// Actors that are not originators.
const (
	ActorSystem = "system"
	ActorAdmin  = "admin"
)

// Errors callers branch on. Append wraps them with the offending field.
var (
	// ErrInvalidRecord: a required field is missing, Kind is not a subject
	// token, or a string is not valid UTF-8.
	ErrInvalidRecord = errors.New("invalid audit record")
	// ErrPhoneNumber: the record contains something that looks like a phone
	// number. It is a caller bug: pass ids, not numbers.
	ErrPhoneNumber = errors.New("audit record contains a phone number")
	// ErrContention: other writers kept appending and Append gave up after
	// its bounded retries; the record was not stored and may be retried.
	ErrContention = errors.New("audit stream too contended")
)

// ChainError names the first record that breaks the chain.
type ChainError struct {
	Seq    uint64 // stream sequence of the broken record
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain broken at seq %d: %s", e.Seq, e.Reason)
}

// Record is one audited event. Append sets Seq, Time, Prev and Hash.
type Record struct {
	// Seq is the record's stream sequence; records are numbered 1, 2, ...
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Kind is what happened: KindSubmission, KindApproval, ...
	Kind string `json:"kind"`
	// Actor is who did it: an originator id, ActorSystem or ActorAdmin.
	Actor   string `json:"actor"`
	AlertID string `json:"alert_id,omitempty"`
	// Outcome is OutcomeAccepted, OutcomeRefused, ...
	Outcome string            `json:"outcome"`
	Reason  string            `json:"reason,omitempty"`
	Detail  map[string]string `json:"detail,omitempty"`
	// Prev is the previous record's Hash, "" for the first record.
	Prev string `json:"prev"`
	// Hash is the hex SHA-256 of this record's canonical bytes (the record
	// encoded with Hash ""). It must stay the last field: see the package
	// documentation.
	Hash string `json:"hash"`
}

// Log is the audit trail. Its methods are safe for concurrent use.
type Log struct {
	js     jetstream.JetStream
	stream jetstream.Stream

	// mu serializes this process's appends, so they don't race each other
	// for the same sequence, and guards the cached end of the chain.
	mu       sync.Mutex
	tailSeq  uint64
	tailHash string
	tailOK   bool // false until read, and after any failed publish
}

// Config is what Open needs.
type Config struct {
	JS       jetstream.JetStream
	Replicas int // JetStream replicas of the stream or bucket (1 on one server)
}

// Open creates or updates the audit stream with the given replicas.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	js, replicas := cfg.JS, cfg.Replicas
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Herald: hash-chained audit trail",
		Subjects:    []string{SubjectPrefix + "*"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    replicas,
		DenyDelete:  true,
		DenyPurge:   true,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", StreamName, err)
	}
	return &Log{js: js, stream: stream}, nil
}

// Retry policy for appends that lose the race for the next sequence. The
// budget is generous because losing is cheap (one request) and giving up
// loses an audit record.
const (
	maxAttempts = 40
	maxBackoff  = 20 * time.Millisecond
)

// Append chains r to the end of the log and stores it. It sets r.Time to now
// (UTC, millisecond precision), r.Seq, r.Prev and r.Hash and returns the
// stored record. A record is audited once Append returns nil. If Append
// fails for any reason other than validation, the record may still have been
// stored (the reply can be lost after the write), so a caller's retry can
// audit an event twice, never zero times.
func (l *Log) Append(ctx context.Context, r Record) (Record, error) {
	if err := validate(r); err != nil {
		return Record{}, err
	}
	subject := SubjectPrefix + r.Kind

	l.mu.Lock()
	defer l.mu.Unlock()
	// Stamped under the lock so one process's records are in time order.
	r.Time = time.Now().UTC().Truncate(time.Millisecond)
	for attempt := 1; ; attempt++ {
		if !l.tailOK {
			if err := l.readTail(ctx); err != nil {
				return Record{}, err
			}
		}
		r.Seq, r.Prev = l.tailSeq+1, l.tailHash
		body, err := seal(&r)
		if err != nil {
			return Record{}, err
		}
		ack, err := l.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: body},
			jetstream.WithExpectStream(StreamName), jetstream.WithExpectLastSequence(l.tailSeq))
		if err == nil && ack.Sequence == r.Seq {
			l.tailSeq, l.tailHash = r.Seq, r.Hash
			return r, nil
		}
		l.tailOK = false
		if err == nil {
			// The expected-last-sequence check makes this impossible; if a
			// server ever ignored it, say so rather than hide a broken chain.
			return Record{}, fmt.Errorf("audit %s record stored at seq %d, chained for seq %d", r.Kind, ack.Sequence, r.Seq)
		}
		if !isWrongLastSeq(err) {
			return Record{}, fmt.Errorf("audit %s record: %w", r.Kind, err)
		}
		if attempt == maxAttempts {
			return Record{}, fmt.Errorf("audit %s record after %d attempts: %w", r.Kind, attempt, ErrContention)
		}
		// Jitter so that writers that collided don't collide again in step.
		backoff := min(time.Millisecond<<min(attempt, 10), maxBackoff)
		if err := sleep(ctx, rand.N(backoff)+1); err != nil {
			return Record{}, fmt.Errorf("audit %s record: %w", r.Kind, err)
		}
	}
}

// readTail loads the end of the chain into the cache. l.mu must be held.
func (l *Log) readTail(ctx context.Context) error {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("read audit stream info: %w", err)
	}
	seq, hash := info.State.LastSeq, ""
	if seq > 0 {
		msg, err := l.stream.GetMsg(ctx, seq)
		if err != nil {
			return fmt.Errorf("read audit record %d: %w", seq, err)
		}
		var last Record
		if err := json.Unmarshal(msg.Data, &last); err != nil || last.Hash == "" {
			// Chaining onto something that is not a record would hide the
			// damage; refuse until someone looks (Verify names the record).
			return &ChainError{Seq: seq, Reason: "last message is not an audit record"}
		}
		hash = last.Hash
	}
	l.tailSeq, l.tailHash, l.tailOK = seq, hash, true
	return nil
}

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	// Replicated streams (R>1) report the same conflict with another code.
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// seal sets r.Hash from r's canonical bytes and returns the body to store.
func seal(r *Record) ([]byte, error) {
	r.Hash = ""
	canon, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	r.Hash = hashOf(canon)
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	return body, nil
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var kindRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// phoneREs match what looks like a phone number. They are deliberately
// tighter than "a run of digits and separators": such a rule would refuse
// dates (2024-05-01), CAP identifiers and timestamps, and a refused audit
// record is a lost one.
var phoneREs = []*regexp.Regexp{
	// E.164, perhaps written with separators: +12065550101, +1 (206) 555-0101.
	regexp.MustCompile(`\+[1-9](?:[\s().-]{0,2}\d){7,14}`),
	// NANP without "+": (206) 555-0101, 206.555.0101, 1-206-555-0101. The
	// non-digit guards keep digits inside longer numbers from matching.
	regexp.MustCompile(`(?:^|\D)(?:1[\s.-]?)?\(?[2-9]\d{2}\)?[\s.-]?[2-9]\d{2}[\s.-]?\d{4}(?:\D|$)`),
}

func looksLikePhone(s string) bool {
	for _, re := range phoneREs {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func validate(r Record) error {
	switch {
	case !kindRE.MatchString(r.Kind):
		// The value is not echoed: it might be the very number being kept out.
		return fmt.Errorf("%w: kind must match [a-z][a-z0-9_]*", ErrInvalidRecord)
	case r.Actor == "":
		return fmt.Errorf("%w: actor is empty", ErrInvalidRecord)
	case r.Outcome == "":
		return fmt.Errorf("%w: outcome is empty", ErrInvalidRecord)
	}
	check := func(field, s string) error {
		if !utf8.ValidString(s) {
			// encoding/json would replace the bad bytes, and the stored
			// record would no longer be the one that was hashed.
			return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidRecord, field)
		}
		if looksLikePhone(s) {
			return fmt.Errorf("%w: in %s", ErrPhoneNumber, field)
		}
		return nil
	}
	fields := []struct{ name, value string }{
		{"kind", r.Kind}, {"actor", r.Actor}, {"alert_id", r.AlertID}, {"outcome", r.Outcome}, {"reason", r.Reason},
	}
	for _, f := range fields {
		if err := check(f.name, f.value); err != nil {
			return err
		}
	}
	for k, v := range r.Detail {
		if err := check("detail key", k); err != nil {
			return err
		}
		if err := check("detail "+k, v); err != nil {
			return err
		}
	}
	return nil
}
