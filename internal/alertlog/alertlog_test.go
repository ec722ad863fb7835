package alertlog

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/test/natstest"
)

func openLog(t testing.TB, js jetstream.JetStream) *Log {
	t.Helper()
	l, err := Open(context.Background(), Config{JS: js, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func testAlert(identifier string) *cap.Alert {
	return &cap.Alert{
		Identifier: identifier, Sender: "alerts@health.example", Sent: "2026-11-25T10:00:00-08:00",
		Status: cap.StatusActual, MsgType: cap.MsgAlert, Scope: cap.ScopePublic,
		Info: []cap.Info{
			{Language: "en-US", Category: []string{"Health"}, Event: "Boil Water Advisory", Urgency: cap.UrgencyImmediate,
				Severity: cap.SeveritySevere, Certainty: cap.CertaintyObserved, Headline: "Boil water"},
			{Language: "es-US", Category: []string{"Health"}, Event: "Aviso", Urgency: cap.UrgencyImmediate,
				Severity: cap.SeveritySevere, Certainty: cap.CertaintyObserved, Expires: "2026-11-28T10:00:00-08:00"},
		},
	}
}

var idPattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

func TestAlertID(t *testing.T) {
	l := openLog(t, natstest.JetStream(t))
	base := l.ID("alerts@health.example", "PHSKC-2026-0042")
	if again := l.ID("alerts@health.example", "PHSKC-2026-0042"); again != base {
		t.Errorf("AlertID is not stable: %q then %q", base, again)
	}
	tests := []struct {
		name               string
		sender, identifier string
	}{
		{"same", "alerts@health.example", "PHSKC-2026-0042"},
		{"other identifier", "alerts@health.example", "PHSKC-2026-0043"},
		{"other sender", "alerts@other.example", "PHSKC-2026-0042"},
		{"boundary moved left", "alerts@health.exampl", "ePHSKC-2026-0042"},
		{"boundary moved right", "alerts@health.exampleP", "HSKC-2026-0042"},
		{"swapped", "PHSKC-2026-0042", "alerts@health.example"},
		{"empty identifier", "alerts@health.example", ""},
		{"wildcards and dots", "a.*>", "b c\x00"},
		{"non-ASCII", "salud@ejemplo.es", "aviso-ñ-2026"},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := l.ID(tc.sender, tc.identifier)
			if !idPattern.MatchString(id) || !validID(id) {
				t.Errorf("l.ID(%q, %q) = %q is not token-safe", tc.sender, tc.identifier, id)
			}
			if other, dup := seen[id]; dup {
				t.Errorf("l.ID(%q, %q) = %q, the same as for %s", tc.sender, tc.identifier, id, other)
			}
			seen[id] = tc.name
		})
	}
	// Keyed: another log (another key) gives the same alert another id,
	// so ids cannot be computed from the CAP fields; the same log's key
	// survives reopening.
	other := openLog(t, natstest.JetStream(t))
	if other.ID("alerts@health.example", "PHSKC-2026-0042") == base {
		t.Error("two logs derive the same id: the id is not keyed")
	}
}

// TestLegacyIDs: a log that holds alerts from before ids were keyed keeps
// the plain hash, so an upgrade accepts no stored alert a second time.
func TestLegacyIDs(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: StreamName, Subjects: []string{SubjectLog + "*", SubjectApproval + "*", SubjectRegion + ">"}}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("s\x00i"))
	legacy := "a" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
	if _, err := js.Publish(ctx, SubjectLog+legacy, []byte("<alert/>")); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, js)
	if got := l.ID("s", "i"); got != legacy {
		t.Fatalf("upgraded log derives %s, want the legacy id %s", got, legacy)
	}
	if err := l.Append(ctx, l.NewRecord(&cap.Alert{Sender: "s", Identifier: "i"}, "wa", nil, time.Now()), []byte("<a/>"), nil); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Append of the stored alert after the upgrade = %v, want ErrDuplicate", err)
	}
}

func TestAppendGetRaw(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	l := openLog(t, js)
	if err := l.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	a := testAlert("A-1")
	accepted := time.Date(2026, 11, 25, 18, 0, 1, 0, time.UTC)
	rec := l.NewRecord(a, "wa-king-health", []string{"us-county-53033", "us-county-53061"}, accepted)
	raw := []byte("<alert>exactly as submitted</alert>\n")
	hdr := nats.Header{"Herald-Signature": []string{"c2ln"}}
	if err := l.Append(ctx, rec, raw, hdr); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if rec.Seq == 0 {
		t.Error("Append did not set Seq")
	}

	got, err := l.Get(ctx, rec.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Errorf("Get =\n%+v\nwant\n%+v", got, rec)
	}
	if got.State != lifecycle.Accepted || got.Expires != "2026-11-28T10:00:00-08:00" || got.Headline != "Boil water" || got.Severity != cap.SeveritySevere {
		t.Errorf("record summary wrong: %+v", got)
	}

	body, h, err := l.Raw(ctx, rec.ID)
	if err != nil {
		t.Fatalf("Raw: %v", err)
	}
	if string(body) != string(raw) {
		t.Errorf("Raw body = %q, want %q", body, raw)
	}
	for k, want := range map[string]string{
		"Herald-Signature": "c2ln",
		HeaderAlertID:      rec.ID,
		HeaderOriginator:   "wa-king-health",
		HeaderRegions:      "us-county-53033,us-county-53061",
	} {
		if v := h.Get(k); v != want {
			t.Errorf("Raw header %s = %q, want %q", k, v, want)
		}
	}

	if _, err := l.Get(ctx, l.ID("x", "never-appended")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an unknown id = %v, want ErrNotFound", err)
	}
	if _, _, err := l.Raw(ctx, l.ID("x", "never-appended")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Raw of an unknown id = %v, want ErrNotFound", err)
	}
}

func TestAppendDuplicate(t *testing.T) {
	ctx := context.Background()
	ns := natstest.Start(t)
	js := natstest.Connect(t, ns)
	l := openLog(t, js)

	first := l.NewRecord(testAlert("A-1"), "wa", nil, time.Now())
	if err := l.Append(ctx, first, []byte("<first/>"), nil); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if _, ok, err := l.Apply(ctx, first.ID, lifecycle.StartDispatch); !ok || err != nil {
		t.Fatalf("Apply: %v %v", ok, err)
	}

	tests := []struct {
		name string
		log  func(t *testing.T) *Log
	}{
		{"same log", func(*testing.T) *Log { return l }},
		{"reopened on a new connection", func(t *testing.T) *Log { return openLog(t, natstest.Connect(t, ns)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			again := l.NewRecord(testAlert("A-1"), "someone-else", nil, time.Now())
			if err := tc.log(t).Append(ctx, again, []byte("<second/>"), nil); !errors.Is(err, ErrDuplicate) {
				t.Fatalf("second Append = %v, want ErrDuplicate", err)
			}
			body, _, err := l.Raw(ctx, first.ID)
			if err != nil || string(body) != "<first/>" {
				t.Errorf("Raw = %q, %v; want the first alert", body, err)
			}
			rec, err := l.Get(ctx, first.ID)
			if err != nil || rec.State != lifecycle.Dispatching || rec.Originator != "wa" {
				t.Errorf("Get = %+v, %v; the duplicate must not touch the state record", rec, err)
			}
		})
	}

	// The stream refuses a second log message for an id by its subject
	// sequence, not only by the dedup window: a log message written without
	// a Nats-Msg-Id (as if the window had passed) still makes it a duplicate.
	t.Run("outside the dedup window", func(t *testing.T) {
		rec := l.NewRecord(testAlert("A-2"), "wa", nil, time.Now())
		if _, err := js.Publish(ctx, SubjectLog+rec.ID, []byte("<earlier/>")); err != nil {
			t.Fatal(err)
		}
		if err := l.Append(ctx, rec, []byte("<later/>"), nil); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("Append = %v, want ErrDuplicate", err)
		}
	})
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	l := openLog(t, js)
	rec := l.NewRecord(testAlert("A-1"), "wa", []string{"r1"}, time.Now())
	if err := l.Append(ctx, rec, []byte("<a/>"), nil); err != nil {
		t.Fatal(err)
	}

	// Steps run in order on the same alert.
	steps := []struct {
		name      string
		id        string
		event     lifecycle.Event
		wantOK    bool
		wantErr   error
		wantState lifecycle.State // state stored after the step
	}{
		{name: "allowed from the current state", id: rec.ID, event: lifecycle.StartDispatch, wantOK: true, wantState: lifecycle.Dispatching},
		{name: "not allowed from the current state", id: rec.ID, event: lifecycle.Approve, wantOK: false, wantState: lifecycle.Dispatching},
		{name: "the next move", id: rec.ID, event: lifecycle.Finish, wantOK: true, wantState: lifecycle.Done},
		{name: "unknown alert", id: l.ID("x", "y"), event: lifecycle.Finish, wantErr: ErrNotFound, wantState: lifecycle.Done},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			got, ok, err := l.Apply(ctx, step.id, step.event)
			if !errors.Is(err, step.wantErr) {
				t.Fatalf("Apply error = %v, want %v", err, step.wantErr)
			}
			if ok != step.wantOK {
				t.Errorf("Apply ok = %v, want %v", ok, step.wantOK)
			}
			if err == nil && (got == nil || got.State != step.wantState || got.ID != rec.ID) {
				t.Errorf("Apply returned %+v, want the record in state %s", got, step.wantState)
			}
			stored, err := l.Get(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.State != step.wantState {
				t.Errorf("stored state = %s, want %s", stored.State, step.wantState)
			}
			if stored.Originator != "wa" || stored.Seq != rec.Seq || !reflect.DeepEqual(stored.Regions, []string{"r1"}) {
				t.Errorf("Apply changed more than the state: %+v", stored)
			}
		})
	}
}

func TestEnsureDoesNotOverwrite(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	l := openLog(t, js)

	rec := l.NewRecord(testAlert("A-1"), "wa", nil, time.Now())
	got, err := l.Ensure(ctx, rec)
	if err != nil || got.State != lifecycle.Accepted {
		t.Fatalf("first Ensure = %+v, %v", got, err)
	}
	if _, ok, err := l.Apply(ctx, rec.ID, lifecycle.StartDispatch); !ok || err != nil {
		t.Fatalf("Apply: %v %v", ok, err)
	}
	again := *rec
	again.State = lifecycle.Accepted
	again.Originator = "rebuilt"
	got, err = l.Ensure(ctx, &again)
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	if got.State != lifecycle.Dispatching || got.Originator != "wa" {
		t.Errorf("second Ensure returned %+v, want the stored record (dispatching, wa)", got)
	}
	if stored, _ := l.Get(ctx, rec.ID); stored.State != lifecycle.Dispatching || stored.Originator != "wa" {
		t.Errorf("second Ensure overwrote the record: %+v", stored)
	}
}

func TestRecordFromLog(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	l := openLog(t, js)

	tests := []struct {
		name    string
		alert   *cap.Alert
		regions []string
	}{
		{"two regions", testAlert("A-1"), []string{"us-county-53033", "us-county-53061"}},
		{"one region", testAlert("A-2"), []string{"us-county-53033"}},
		{"no regions", testAlert("A-3"), nil},
		{"no info", &cap.Alert{Identifier: "A-4", Sender: "s", Sent: "2026-01-01T00:00:00+00:00", Status: cap.StatusActual, MsgType: cap.MsgCancel, Scope: cap.ScopePublic}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			accepted := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
			want := l.NewRecord(tc.alert, "wa-king-health", tc.regions, accepted)
			if err := l.Append(ctx, want, []byte("<a/>"), nil); err != nil {
				t.Fatal(err)
			}
			_, hdr, err := l.Raw(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := l.RecordFromLog(hdr, tc.alert, want.Seq, accepted.In(time.FixedZone("PST", -8*3600)))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("RecordFromLog =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestInvalidIDsNeverReachJetStream(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	l := openLog(t, js)
	// With the connection closed, any JetStream request fails with a
	// connection error: only an id refused before any lookup gives
	// ErrNotFound.
	js.Conn().Close()

	valid := l.ID("s", "i")
	if _, err := l.Get(ctx, valid); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(valid) on a closed connection = %v; the test cannot tell lookups apart", err)
	}

	for _, tc := range []struct {
		name string
		id   string
	}{
		{"star wildcard", "*"},
		{"full wildcard", ">"},
		{"dot", "a.b"},
		{"empty", ""},
		{"too long", strings.Repeat("a", 65)},
		{"space", "a b"},
		{"uppercase", "ABC"},
		{"trailing wildcard", "abc.>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := l.Get(ctx, tc.id); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%q) = %v, want ErrNotFound", tc.id, err)
			}
			if _, _, err := l.Raw(ctx, tc.id); !errors.Is(err, ErrNotFound) {
				t.Errorf("Raw(%q) = %v, want ErrNotFound", tc.id, err)
			}
			if _, _, err := l.Apply(ctx, tc.id, lifecycle.Finish); !errors.Is(err, ErrNotFound) {
				t.Errorf("Apply(%q) = %v, want ErrNotFound", tc.id, err)
			}
		})
	}
	if !validID(strings.Repeat("a", 64)) {
		t.Error("a 64-character id is refused")
	}
}
