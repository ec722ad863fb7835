package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/test/natstest"
)

func openLog(t testing.TB, js jetstream.JetStream) *Log {
	t.Helper()
	l, err := Open(t.Context(), Config{JS: js, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, r Record) Record {
	t.Helper()
	got, err := l.Append(t.Context(), r)
	if err != nil {
		t.Fatalf("Append(%+v): %v", r, err)
	}
	return got
}

func submission(i int) Record {
	return Record{
		Kind: KindSubmission, Actor: "wa-doh-1", AlertID: fmt.Sprintf("a%d", i), Outcome: OutcomeAccepted,
		Detail: map[string]string{"status": "Actual", "regions": "us-county-53033"},
	}
}

func TestAppendChainsAndVerifies(t *testing.T) {
	l := openLog(t, natstest.JetStream(t))
	if n, err := l.Verify(t.Context()); n != 0 || err != nil {
		t.Fatalf("Verify(empty) = %d, %v; want 0, nil", n, err)
	}
	in := []Record{
		submission(1),
		{Kind: KindSubmission, Actor: "wa-doh-2", Outcome: OutcomeRefused, Reason: "area leaves jurisdiction by 512 m"},
		{Kind: KindApproval, Actor: "wa-doh-9", AlertID: "a1", Outcome: OutcomeApproved},
		{Kind: KindConfigReload, Actor: ActorSystem, Outcome: OutcomeReloaded, Detail: map[string]string{"file": "originators.yaml"}},
		{Kind: KindCancel, Actor: ActorAdmin, AlertID: "a1", Outcome: OutcomeAccepted, Reason: `quotes " and <html> & ünïcode`},
	}
	var prev string
	for i, r := range in {
		got := mustAppend(t, l, r)
		if got.Seq != uint64(i+1) || got.Prev != prev || len(got.Hash) != 64 {
			t.Fatalf("record %d: seq %d prev %q hash %q; want seq %d prev %q", i, got.Seq, got.Prev, got.Hash, i+1, prev)
		}
		if got.Time.Location() != time.UTC || got.Time.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("record %d: time %v not UTC ms", i, got.Time)
		}
		prev = got.Hash
	}
	if n, err := l.Verify(t.Context()); n != len(in) || err != nil {
		t.Fatalf("Verify = %d, %v; want %d, nil", n, err, len(in))
	}
}

// The documented way for other tools to verify: empty the trailing hash
// value of each body and SHA-256 it.
func TestCanonicalBytesAreDocumented(t *testing.T) {
	l := openLog(t, natstest.JetStream(t))
	r := mustAppend(t, l, submission(1))
	msg, err := l.stream.GetMsg(t.Context(), r.Seq)
	if err != nil {
		t.Fatal(err)
	}
	suffix := `"hash":"` + r.Hash + `"}`
	body := string(msg.Data)
	if !strings.HasSuffix(body, suffix) {
		t.Fatalf("body %s does not end with %s", body, suffix)
	}
	if got := hashOf([]byte(strings.TrimSuffix(body, suffix) + `"hash":""}`)); got != r.Hash {
		t.Errorf("hash of canonical bytes = %s, want %s", got, r.Hash)
	}
	if msg.Subject != SubjectPrefix+KindSubmission {
		t.Errorf("subject %s", msg.Subject)
	}
}

func TestStreamDeniesDeleteAndPurge(t *testing.T) {
	l := openLog(t, natstest.JetStream(t))
	r := mustAppend(t, l, submission(1))
	if err := l.stream.DeleteMsg(t.Context(), r.Seq); err == nil {
		t.Error("DeleteMsg succeeded")
	}
	if err := l.stream.Purge(t.Context()); err == nil {
		t.Error("Purge succeeded")
	}
}

// A Log whose cached end of the chain is stale (another process appended)
// must re-read it rather than fork.
func TestAppendAfterAnotherWriter(t *testing.T) {
	ns := natstest.Start(t)
	l1, l2 := openLog(t, natstest.Connect(t, ns)), openLog(t, natstest.Connect(t, ns))
	mustAppend(t, l1, submission(1))
	b := mustAppend(t, l2, submission(2))
	c := mustAppend(t, l1, submission(3)) // l1's cache says seq 1
	if c.Seq != 3 || c.Prev != b.Hash {
		t.Fatalf("got seq %d prev %s; want 3 %s", c.Seq, c.Prev, b.Hash)
	}
	if n, err := l1.Verify(t.Context()); n != 3 || err != nil {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}

func TestConcurrentAppendsFromTwoProcessesDoNotFork(t *testing.T) {
	ns := natstest.Start(t)
	logs := []*Log{openLog(t, natstest.Connect(t, ns)), openLog(t, natstest.Connect(t, ns))}
	const perLog = 50
	seqs := make(chan uint64, len(logs)*perLog)
	var wg sync.WaitGroup
	for li, l := range logs {
		for i := range perLog {
			wg.Go(func() {
				r, err := l.Append(t.Context(), submission(li*perLog+i))
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- r.Seq
			})
		}
	}
	wg.Wait()
	close(seqs)
	seen := map[uint64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Errorf("seq %d returned twice", s)
		}
		seen[s] = true
	}
	for s := uint64(1); s <= uint64(len(logs)*perLog); s++ {
		if !seen[s] {
			t.Errorf("seq %d missing", s)
		}
	}
	if n, err := logs[0].Verify(t.Context()); n != len(logs)*perLog || err != nil {
		t.Fatalf("Verify = %d, %v; want %d, nil", n, err, len(logs)*perLog)
	}
}

func TestListSince(t *testing.T) {
	l := openLog(t, natstest.JetStream(t))
	if got, err := l.List(t.Context(), time.Time{}, 0); len(got) != 0 || err != nil {
		t.Fatalf("List(empty) = %v, %v", got, err)
	}
	mustAppend(t, l, submission(1))
	mustAppend(t, l, submission(2))
	time.Sleep(3 * time.Millisecond)
	since := time.Now()
	time.Sleep(3 * time.Millisecond) // Time is truncated to the millisecond
	mustAppend(t, l, submission(3))
	mustAppend(t, l, submission(4))
	mustAppend(t, l, submission(5))

	ids := func(rs []Record) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.AlertID)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		since time.Time
		limit int
		want  string
	}{
		{time.Time{}, 0, "a1,a2,a3,a4,a5"},
		{since, 0, "a3,a4,a5"},
		{since, 2, "a3,a4"},
		{time.Now().Add(time.Hour), 0, ""},
	} {
		got, err := l.List(t.Context(), tc.since, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != tc.want {
			t.Errorf("List(%v, %d) = %s; want %s", tc.since, tc.limit, ids(got), tc.want)
		}
	}
}

func TestAppendValidates(t *testing.T) {
	l := openLog(t, natstest.JetStream(t))
	base := Record{Kind: KindSubmission, Actor: "wa-doh-1", Outcome: OutcomeRefused}
	with := func(f func(*Record)) Record {
		r := base
		f(&r)
		return r
	}
	for _, tc := range []struct {
		name string
		r    Record
		want error // nil: accepted
	}{
		{"E.164", with(func(r *Record) { r.Actor = "+12065550101" }), ErrPhoneNumber},
		{"E.164 with spaces", with(func(r *Record) { r.Reason = "sent to +44 20 7946 0958" }), ErrPhoneNumber},
		{"NANP", with(func(r *Record) { r.Reason = "(206) 555-0101" }), ErrPhoneNumber},
		{"NANP dotted", with(func(r *Record) { r.AlertID = "206.555.0101" }), ErrPhoneNumber},
		{"NANP with 1", with(func(r *Record) { r.Reason = "call 1-206-555-0101 now" }), ErrPhoneNumber},
		{"bare ten digits", with(func(r *Record) { r.Outcome = "2065550101" }), ErrPhoneNumber},
		{"in a detail value", with(func(r *Record) { r.Detail = map[string]string{"to": "x +12065550101"} }), ErrPhoneNumber},
		{"in a detail key", with(func(r *Record) { r.Detail = map[string]string{"+12065550101": "x"} }), ErrPhoneNumber},
		{"in the kind", with(func(r *Record) { r.Kind = "sms2065550101" }), ErrPhoneNumber},

		{"ids", with(func(r *Record) { r.AlertID = "a4x2k7q3z5m6n2p3r4s5t6v7" }), nil},
		{"zip code", with(func(r *Record) { r.Reason = "21610" }), nil},
		{"region id", with(func(r *Record) { r.Detail = map[string]string{"region": "us-county-53033"} }), nil},
		{"timestamp", with(func(r *Record) { r.Reason = "signed 2024-05-01T12:00:00-07:00, outside ±5 minutes" }), nil},
		{"CAP identifier", with(func(r *Record) { r.Detail = map[string]string{"identifier": "NWS-IDP-PROD-4567890-123456"} }), nil},
		{"unix time", with(func(r *Record) { r.Detail = map[string]string{"ts": "1714567890"} }), nil},
		{"short numbers", with(func(r *Record) { r.Reason = "512 m outside, 3 regions, 1200 recipients" }), nil},

		{"no kind", with(func(r *Record) { r.Kind = "" }), ErrInvalidRecord},
		{"kind not a token", with(func(r *Record) { r.Kind = "config.reload" }), ErrInvalidRecord},
		{"no actor", with(func(r *Record) { r.Actor = "" }), ErrInvalidRecord},
		{"no outcome", with(func(r *Record) { r.Outcome = "" }), ErrInvalidRecord},
		{"bad UTF-8", with(func(r *Record) { r.Reason = "\xff" }), ErrInvalidRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Append(t.Context(), tc.r)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Append: %v; want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "555") {
				t.Errorf("error repeats the number: %v", err)
			}
		})
	}
	if n, err := l.Verify(t.Context()); n != 7 || err != nil {
		t.Fatalf("Verify = %d, %v; want the 7 accepted records", n, err)
	}
}

// The audit stream denies the deletes that altering it in place would need,
// so tampering is simulated on a copy: a scratch stream holding the records
// with one changed, as someone rebuilding the stream would produce.
func TestVerifyDetectsTampering(t *testing.T) {
	js := natstest.JetStream(t)
	l := openLog(t, js)
	var bodies [][]byte
	for i := 1; i <= 5; i++ {
		r := mustAppend(t, l, submission(i))
		msg, err := l.stream.GetMsg(t.Context(), r.Seq)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, msg.Data)
	}
	edit := func(i int, f func(*Record), reseal bool) [][]byte {
		out := append([][]byte(nil), bodies...)
		var r Record
		if err := json.Unmarshal(out[i], &r); err != nil {
			t.Fatal(err)
		}
		f(&r)
		if reseal {
			b, err := seal(&r)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = b
		} else {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = b
		}
		return out
	}
	for i, tc := range []struct {
		name    string
		bodies  [][]byte
		wantSeq uint64 // 0: intact
		reason  string
	}{
		{"intact copy", bodies, 0, ""},
		{"field changed", edit(2, func(r *Record) { r.Outcome = OutcomeRefused }, false), 3, "does not match"},
		{"field changed, hash recomputed", edit(2, func(r *Record) { r.Outcome = OutcomeRefused }, true), 4, "is not the hash of record 3"},
		{"wrong prev", edit(2, func(r *Record) { r.Prev = strings.Repeat("0", 64) }, true), 3, "is not the hash of record 2"},
		{"record dropped", append(append([][]byte(nil), bodies[:2]...), bodies[3:]...), 3, "record says seq 4"},
		{"records swapped", [][]byte{bodies[0], bodies[2], bodies[1]}, 2, "record says seq 3"},
		{"first record dropped", bodies[1:], 1, "record says seq 2"},
		{"not canonical", append(append([][]byte(nil), bodies[:1]...), append([]byte(" "), bodies[1]...)), 2, "canonical"},
		{"not a record", [][]byte{bodies[0], []byte("hello")}, 2, "not an audit record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subject := fmt.Sprintf("scratch.%d", i)
			s, err := js.CreateStream(t.Context(), jetstream.StreamConfig{
				Name: fmt.Sprintf("SCRATCH_%d", i), Subjects: []string{subject}, Storage: jetstream.MemoryStorage,
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range tc.bodies {
				if _, err := js.Publish(t.Context(), subject, b); err != nil {
					t.Fatal(err)
				}
			}
			n, err := verifyStream(t.Context(), s)
			if tc.wantSeq == 0 {
				if err != nil || n != len(tc.bodies) {
					t.Fatalf("verifyStream = %d, %v; want %d, nil", n, err, len(tc.bodies))
				}
				return
			}
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Seq != tc.wantSeq || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("verifyStream = %d, %v; want *ChainError at seq %d (%q)", n, err, tc.wantSeq, tc.reason)
			}
			if n != int(tc.wantSeq)-1 {
				t.Errorf("n = %d, want %d good records before it", n, tc.wantSeq-1)
			}
		})
	}
}

// A log whose last message is not a record refuses to chain onto it.
func TestAppendRefusesCorruptTail(t *testing.T) {
	js := natstest.JetStream(t)
	l := openLog(t, js)
	mustAppend(t, l, submission(1))
	if _, err := js.Publish(t.Context(), SubjectPrefix+"junk", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, js)
	var ce *ChainError
	if _, err := l2.Append(t.Context(), submission(2)); !errors.As(err, &ce) || ce.Seq != 2 {
		t.Fatalf("Append on corrupt tail: %v; want *ChainError at seq 2", err)
	}
	if _, err := l2.Verify(t.Context()); !errors.As(err, &ce) || ce.Seq != 2 {
		t.Fatalf("Verify: %v; want *ChainError at seq 2", err)
	}
}

func TestAppendHonorsContext(t *testing.T) {
	l := openLog(t, natstest.JetStream(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Append(ctx, submission(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append(cancelled ctx) = %v; want context.Canceled", err)
	}
}
