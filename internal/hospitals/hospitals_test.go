package hospitals

import (
	"github.com/herald-alerts/herald/broadcaster/cap"

	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/test/natstest"
)

var errPrivate = errors.New("destination address not allowed")

// testPolicy stands in for channels/webhook and geo: https only, no
// "internal" hosts, three known regions.
var testPolicy = Policy{
	ValidateURL: func(raw string) error {
		if !strings.HasPrefix(raw, "https://") {
			return errors.New("scheme must be https")
		}
		if strings.Contains(raw, "internal") {
			return errPrivate
		}
		return nil
	},
	KnownRegion: func(id string) bool {
		return id == "us-county-53033" || id == "us-county-53061" || id == "us-county-53053"
	},
	NewSecret: func() (string, error) { return "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==", nil },
	NormalizePhone: func(raw string) (string, error) {
		if !strings.HasPrefix(raw, "+1") || len(raw) != 12 {
			return "", errors.New("not a NANP number in E.164")
		}
		return raw, nil
	},
}

func openStore(t testing.TB) *Store {
	t.Helper()
	js := natstest.JetStream(t)
	s, err := Open(context.Background(), Config{JS: js, Replicas: 1, Policy: testPolicy})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSeverityAtLeast(t *testing.T) {
	tests := []struct {
		sev, min cap.Severity
		want     bool
	}{
		{"Minor", "", true},
		{"Unknown", "", true},
		{"", "", true},
		{"Extreme", "Severe", true},
		{"Severe", "Severe", true},
		{"Moderate", "Severe", false},
		{"Minor", "Moderate", false},
		{"Moderate", "Minor", true},
		{"Unknown", "Minor", false},
		{"Unknown", "Unknown", true},
		{"", "Minor", false},
		{"bogus", "Minor", false},
		{"extreme", "SEVERE", true},
		{"Minor", "Unknown", true},
	}
	for _, tt := range tests {
		if got := SeverityAtLeast(tt.sev, tt.min); got != tt.want {
			t.Errorf("SeverityAtLeast(%q, %q) = %v, want %v", tt.sev, tt.min, got, tt.want)
		}
	}
}

func TestMatch(t *testing.T) {
	subs := []Subscription{
		{ID: "any", Regions: []string{"a", "b"}},
		{ID: "severe", Regions: []string{"a"}, MinSeverity: cap.SeveritySevere},
		{ID: "exercise", Regions: []string{"b"}, Exercise: true},
		{ID: "disabled", Regions: []string{"a"}, Disabled: true},
		{ID: "elsewhere", Regions: []string{"c"}},
		{ID: "han-alerts", Regions: []string{"e"}, HANTypes: []cap.HANType{cap.HANAlert, cap.HANAdvisory}},
		{ID: "all-e", Regions: []string{"e"}},
	}
	tests := []struct {
		name     string
		regions  []string
		severity string
		han      cap.HANType
		exercise bool
		want     []string
	}{
		{"moderate in a", []string{"a"}, "Moderate", "", false, []string{"any"}},
		{"extreme in a", []string{"a"}, "Extreme", "", false, []string{"any", "severe"}},
		{"severe in a and b", []string{"b", "a"}, "Severe", "", false, []string{"any", "severe", "exercise"}},
		{"exercise in a and b", []string{"a", "b"}, "Extreme", "", true, []string{"exercise"}},
		{"exercise in a", []string{"a"}, "Extreme", "", true, nil},
		{"unknown severity", []string{"a"}, "Unknown", "", false, []string{"any"}},
		{"no regions", nil, "Extreme", "", false, nil},
		{"other region", []string{"d"}, "Extreme", "", false, nil},
		{"HAN advisory", []string{"e"}, "Severe", cap.HANAdvisory, false, []string{"han-alerts", "all-e"}},
		{"HAN update", []string{"e"}, "Severe", cap.HANUpdate, false, []string{"all-e"}},
		{"no HAN type", []string{"e"}, "Severe", "", false, []string{"all-e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range match(subs, tt.regions, cap.Severity(tt.severity), tt.han, tt.exercise) {
				got = append(got, s.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAddValidation(t *testing.T) {
	good := Subscription{URL: "https://er.example.org/herald", Regions: []string{"us-county-53033"}}
	tests := []struct {
		name string
		edit func(*Subscription)
		is   error
	}{
		{"no url", func(s *Subscription) { s.URL = " " }, nil},
		{"url refused", func(s *Subscription) { s.URL = "http://er.example.org" }, nil},
		{"private url", func(s *Subscription) { s.URL = "https://internal.example/x" }, errPrivate},
		{"long url", func(s *Subscription) { s.URL = "https://x.example/" + strings.Repeat("a", maxURL) }, nil},
		{"no regions", func(s *Subscription) { s.Regions = nil }, nil},
		{"unknown region", func(s *Subscription) { s.Regions = []string{"us-county-53033", "us-county-99999"} }, nil},
		{"bad region id", func(s *Subscription) { s.Regions = []string{"US County"} }, nil},
		{"bad severity", func(s *Subscription) { s.MinSeverity = "Severeish" }, nil},
	}
	s := openStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := good
			tt.edit(&sub)
			_, err := s.Add(context.Background(), sub)
			if !errors.Is(err, ErrInvalid) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("err = %v, want ErrInvalid wrapping %v", err, tt.is)
			}
		})
	}
	if subs, err := s.List(context.Background()); err != nil || len(subs) != 0 {
		t.Fatalf("List = %v, %v: invalid subscriptions were stored", subs, err)
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)

	a, err := s.Add(ctx, Subscription{
		URL:         " https://er.example.org/herald?token=t0ken ",
		Regions:     []string{"us-county-53061", "us-county-53033", "us-county-53061"},
		MinSeverity: "severe",
		// Ignored: Add makes these.
		ID: "wh_mine", Secret: "whsec_mine", Disabled: true, Created: time.Unix(1, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !validID(a.ID) || a.Secret != "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==" || a.Disabled ||
		a.URL != "https://er.example.org/herald?token=t0ken" || a.MinSeverity != cap.SeveritySevere ||
		!slices.Equal(a.Regions, []string{"us-county-53033", "us-county-53061"}) || time.Since(a.Created) > time.Minute {
		t.Fatalf("Add = %#v", a)
	}
	b, err := s.Add(ctx, Subscription{URL: "https://icu.example.org/", Regions: []string{"us-county-53053"}, Exercise: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.ID == a.ID {
		t.Fatal("two subscriptions got the same id")
	}

	got, err := s.Get(ctx, a.ID)
	if err != nil || !equal(got, a) {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, a)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || !equal(list[0], a) || !equal(list[1], b) {
		t.Fatalf("List = %v, %v", list, err)
	}

	m, err := s.Matching(ctx, []string{"us-county-53033", "us-county-53053"}, "Extreme", "", false)
	if err != nil || len(m) != 2 {
		t.Fatalf("Matching = %v, %v", m, err)
	}

	if err := s.Disable(ctx, a.ID, "HTTP 410 Gone"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, a.ID); !got.Disabled || got.DisabledReason != "HTTP 410 Gone" {
		t.Fatalf("after Disable: %+v", got)
	}
	m, err = s.Matching(ctx, []string{"us-county-53033", "us-county-53053"}, "Extreme", "", false)
	if err != nil || len(m) != 1 || m[0].ID != b.ID {
		t.Fatalf("Matching after Disable = %v, %v", m, err)
	}

	if err := s.Delete(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{b.ID, "wh_", "nope", "wh_" + strings.Repeat("a", 26)} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v", id, err)
		}
		if err := s.Delete(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete(%q) = %v", id, err)
		}
		if err := s.Disable(ctx, id, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Disable(%q) = %v", id, err)
		}
	}
	if list, err := s.List(ctx); err != nil || len(list) != 1 {
		t.Fatalf("List after Delete = %v, %v", list, err)
	}
}

func equal(a, b Subscription) bool {
	return a.ID == b.ID && a.URL == b.URL && slices.Equal(a.Regions, b.Regions) && a.MinSeverity == b.MinSeverity &&
		a.Exercise == b.Exercise && a.Secret == b.Secret && a.Disabled == b.Disabled && a.Created.Equal(b.Created)
}

func TestSecretNeverPrinted(t *testing.T) {
	sub := Subscription{ID: "wh_x", URL: "https://er.example.org/hook?token=t0ken", Secret: "whsec_s3cret"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("sub", "sub", sub)
	for _, out := range []string{buf.String(), fmt.Sprint(sub), fmt.Sprintf("%+v %#v %s", sub, sub, sub)} {
		if strings.Contains(out, "s3cret") || strings.Contains(out, "t0ken") {
			t.Errorf("printed the secret or URL token: %s", out)
		}
	}
	if !strings.Contains(buf.String(), "er.example.org") {
		t.Errorf("log lost the host: %s", buf.String())
	}
}

// TestListScale checks that reading the bucket per alert is fast enough
// at the scale of a large deployment, so no cache is needed.
func TestListScale(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ctx := context.Background()
	s := openStore(t)
	const n = 3000
	for i := range n {
		if _, err := s.Add(ctx, Subscription{URL: "https://h.example/", Regions: []string{"us-county-53033"}}); err != nil {
			t.Fatal(i, err)
		}
	}
	start := time.Now()
	m, err := s.Matching(ctx, []string{"us-county-53033"}, "Severe", "", false)
	if err != nil || len(m) != n {
		t.Fatalf("Matching = %d, %v", len(m), err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Matching over %d subscriptions took %v", n, d)
	} else {
		t.Logf("Matching over %d subscriptions took %v", n, d)
	}
}

// TestSecretsDuringRotation: the old secret signs beside the new one until
// the grace period ends, then only the new one.
func TestSecretsDuringRotation(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	sub := Subscription{Secret: "whsec_new", PreviousSecret: "whsec_old", PreviousUntil: now.Add(time.Hour)}
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{now, "whsec_new whsec_old"},
		{now.Add(59 * time.Minute), "whsec_new whsec_old"},
		{now.Add(time.Hour), "whsec_new"},
	} {
		if got := strings.Join(sub.Secrets(tt.at), " "); got != tt.want {
			t.Errorf("Secrets(%s) = %q, want %q", tt.at, got, tt.want)
		}
	}
	if got := (Subscription{Secret: "whsec_only"}).Secrets(now); len(got) != 1 {
		t.Errorf("without rotation: %v", got)
	}
}

func TestEscalationAndToken(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	base := Subscription{URL: "https://er.example/herald", Regions: []string{"us-county-53033"}, Name: " Harborview "}
	tests := []struct {
		name       string
		escalation [][]string
		wantErr    string
	}{
		{"two tiers", [][]string{{"+12065550100"}, {"+12065550101", "+12065550102"}}, ""},
		{"bad number", [][]string{{"555-0100"}}, "escalation[0][0]"},
		{"empty tier", [][]string{{}}, "escalation[0]: 1 to 5"},
		{"too many tiers", [][]string{{"+12065550100"}, {"+12065550100"}, {"+12065550100"}, {"+12065550100"}, {"+12065550100"}, {"+12065550100"}}, "at most 5 tiers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := base
			sub.Escalation = tt.escalation
			got, err := s.Add(ctx, sub)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Add = %v, want ErrInvalid naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Name != "Harborview" || got.DisplayName() != "Harborview" || len(got.Escalation) != 2 {
				t.Fatalf("Add = %+v, %v", got, err)
			}
		})
	}

	a, _ := s.Add(ctx, base)
	b, _ := s.Add(ctx, Subscription{URL: "https://other.example/h", Regions: []string{"us-county-53033"}})
	if b.DisplayName() != "other.example" {
		t.Errorf("DisplayName without a name = %q, want the host", b.DisplayName())
	}
	tok, err := s.IssueToken(ctx, a.ID)
	if err != nil || !strings.HasPrefix(tok, TokenPrefix) {
		t.Fatalf("IssueToken = %q, %v", tok, err)
	}
	if got, err := s.ByToken(ctx, tok); err != nil || got.ID != a.ID {
		t.Fatalf("ByToken = %v, %v; want %s", got.ID, err, a.ID)
	}
	for _, bad := range []string{"", "hk_", tok + "x", strings.TrimPrefix(tok, TokenPrefix)} {
		if _, err := s.ByToken(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("ByToken(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	again, _ := s.IssueToken(ctx, a.ID)
	if _, err := s.ByToken(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("the replaced token still works: %v", err)
	}
	if got, err := s.ByToken(ctx, again); err != nil || got.ID != a.ID {
		t.Errorf("new token: %v %v", got.ID, err)
	}
}
