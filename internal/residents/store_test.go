package residents

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/herald-alerts/herald/channels/phone"
	"github.com/herald-alerts/herald/test/natstest"
)

func TestOpenRefusesShortKey(t *testing.T) {
	_, err := Open(context.Background(), Config{JS: natstest.JetStream(t), Replicas: 1, Secret: make([]byte, MinKeyLen-1)})
	if err == nil {
		t.Fatal("Open accepted a short key")
	}
}

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)

	put, err := s.Put(ctx, Resident{Phone: "(206) 555-0100", Lat: 47.6, Lon: -122.3, Language: "es-us", Exercise: true})
	if err != nil {
		t.Fatal(err)
	}
	if put.ID != s.ID("+12065550100") || put.Phone != "+12065550100" || put.Language != "es-US" {
		t.Fatalf("Put = %+v", put)
	}
	if put.Created.IsZero() || !put.Updated.Equal(put.Created) {
		t.Fatalf("Put times: created %v updated %v", put.Created, put.Updated)
	}

	got, err := s.Get(ctx, put.ID)
	if err != nil || got != put {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, put)
	}
	byPhone, err := s.ByPhone(ctx, "+1 206-555-0100")
	if err != nil || byPhone != put {
		t.Fatalf("ByPhone = %+v, %v", byPhone, err)
	}
	if n, err := s.Count(ctx); err != nil || n != 1 {
		t.Fatalf("Count = %d, %v", n, err)
	}

	if err := s.Delete(ctx, put.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, put.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := s.Delete(ctx, put.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	if n, err := s.Count(ctx); err != nil || n != 0 {
		t.Fatalf("Count after Delete = %d, %v", n, err)
	}
	// A deleted resident can come back.
	if _, err := s.Put(ctx, Resident{Phone: "+12065550100", Region: "us-county-53033"}); err != nil {
		t.Fatal(err)
	}
}

func TestPutUpsertKeepsCreatedAndOptOut(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	first, err := s.Put(ctx, Resident{Phone: "+12065550100", Lat: 1, Lon: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetOptOut(ctx, first.ID, true); err != nil {
		t.Fatal(err)
	}
	// A re-import sends OptedOut false: it must not resubscribe.
	second, err := s.Put(ctx, Resident{Phone: "2065550100", Lat: 3, Lon: 4, Language: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID || !second.OptedOut || !second.Created.Equal(first.Created) ||
		!second.Updated.After(first.Updated) || second.Lat != 3 || second.Language != "fr" {
		t.Fatalf("upsert = %+v, first %+v", second, first)
	}
	if n, _ := s.Count(ctx); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}

	if err := s.SetOptOut(ctx, first.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, first.ID); got.OptedOut {
		t.Fatal("START did not clear OptedOut")
	}
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	absent := s.ID("+12065550199")
	for _, id := range []string{absent, "", "r", "not a key!", strings.Repeat("r", idLen), "R" + absent[1:]} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v", id, err)
		}
		if err := s.Delete(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete(%q) = %v", id, err)
		}
		if err := s.SetOptOut(ctx, id, true); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetOptOut(%q) = %v", id, err)
		}
	}
	if _, err := s.ByPhone(ctx, "+12065550199"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ByPhone = %v", err)
	}
	if _, err := s.ByPhone(ctx, "12"); !errors.Is(err, ErrInvalidPhone) {
		t.Errorf("ByPhone(bad) = %v", err)
	}
}

func TestIDs(t *testing.T) {
	ns := natstest.Start(t)
	ctx := context.Background()
	a, err := Open(ctx, Config{JS: natstest.Connect(t, ns), Replicas: 1, Secret: testKey})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, Config{JS: natstest.Connect(t, ns), Replicas: 1, Secret: testKey})
	if err != nil {
		t.Fatal(err)
	}
	// Another secret cannot share the bucket (see TestOpenRefusesAnotherKey).
	other, err := Open(ctx, Config{JS: natstest.JetStream(t), Replicas: 1, Secret: bytes.Repeat([]byte("o"), MinKeyLen)})
	if err != nil {
		t.Fatal(err)
	}
	id := a.ID("+12065550100")
	if !validID(id) || b.ID("+12065550100") != id {
		t.Fatalf("ids %q and %q differ or are malformed", id, b.ID("+12065550100"))
	}
	if a.ID("+12065550101") == id || other.ID("+12065550100") == id {
		t.Fatal("different numbers or keys give the same id")
	}
	if strings.Contains(id, "2065550100") {
		t.Fatal("id contains the number")
	}
}

func TestPutValidation(t *testing.T) {
	tests := []struct {
		name  string
		r     Resident
		field string
		is    error
	}{
		{"bad phone", Resident{Phone: "+1 206 555", Lat: 1, Lon: 1}, "phone", phone.ErrInvalid},
		{"landline", Resident{Phone: "+442071838750", Lat: 1, Lon: 1}, "phone", phone.ErrNotMobile},
		{"no phone", Resident{Lat: 1, Lon: 1}, "phone", phone.ErrEmpty},
		{"lat too big", Resident{Phone: "+12065550100", Lat: 90.01}, "lat", ErrInvalid},
		{"lat NaN", Resident{Phone: "+12065550100", Lat: math.NaN()}, "lat", ErrInvalid},
		{"lon too small", Resident{Phone: "+12065550100", Lon: -180.01}, "lon", ErrInvalid},
		{"lon infinite", Resident{Phone: "+12065550100", Lon: math.Inf(1)}, "lon", ErrInvalid},
		{"region and point", Resident{Phone: "+12065550100", Region: "us-county-53033", Lat: 1}, "region", ErrInvalid},
		{"bad region id", Resident{Phone: "+12065550100", Region: "US County"}, "region", ErrInvalid},
		{"bad language", Resident{Phone: "+12065550100", Language: "english"}, "language", ErrInvalid},
		{"long language", Resident{Phone: "+12065550100", Language: strings.Repeat("en-", 40) + "us"}, "language", ErrInvalid},
	}
	s := openStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Put(context.Background(), tt.r)
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want ErrInvalid and %v", err, tt.is)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want a FieldError for %s", err, tt.field)
			}
			if (tt.field == "phone") != errors.Is(err, ErrInvalidPhone) {
				t.Fatalf("err = %v: ErrInvalidPhone exactly for the phone", err)
			}
			if tt.r.Validate() == nil {
				t.Fatal("Validate accepted what Put refused")
			}
		})
	}
	if n, _ := s.Count(context.Background()); n != 0 {
		t.Fatalf("invalid residents were stored: %d", n)
	}
}

// TestPhoneNeverInErrorsOrLogs gathers every message a number could leak
// into and looks for its digits.
func TestPhoneNeverInErrorsOrLogs(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	const digits = "2065550"
	var msgs []string
	add := func(err error) {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}

	for _, raw := range []string{"+1 206 555 01", "206555012345678", "+442065550100"} {
		_, err := s.Put(ctx, Resident{Phone: raw, Lat: 100})
		add(err)
		_, err = s.ByPhone(ctx, raw)
		add(err)
	}
	_, err := s.ByPhone(ctx, "+12065550100") // valid but absent
	add(err)
	_, _, err = ParseCSV(strings.NewReader("+12065550100,1,1\n"), "")
	add(err)
	_, problems, _ := ParseCSV(strings.NewReader("phone,lat,lon\n2065550,1,1\n+12065550100,x,1\n\"2065550100\"x,1,1\n"), "")
	for _, p := range problems {
		add(p)
	}
	if len(msgs) < 10 {
		t.Fatalf("collected only %d messages", len(msgs))
	}

	r, err := s.Put(ctx, Resident{Phone: "+12065550100", Lat: 1, Lon: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("resident", "r", r)
	msgs = append(msgs, buf.String(), fmt.Sprint(r), fmt.Sprintf("%+v %#v %s", r, r, r))

	for _, m := range msgs {
		if strings.Contains(m, digits) {
			t.Errorf("message contains the number: %s", m)
		}
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	rows := make([]Resident, 500)
	for i := range rows {
		rows[i] = Resident{Phone: fmt.Sprintf("+1206555%04d", i), Lat: 47, Lon: -122}
	}
	n, err := s.Import(ctx, rows)
	if err != nil || n != len(rows) {
		t.Fatalf("Import = %d, %v", n, err)
	}
	// Again: an update of each, not new residents.
	if n, err := s.Import(ctx, rows); err != nil || n != len(rows) {
		t.Fatalf("second Import = %d, %v", n, err)
	}
	if c, err := s.Count(ctx); err != nil || c != len(rows) {
		t.Fatalf("Count = %d, %v", c, err)
	}

	// A re-import keeps an opt-out; a number twice in one file is one
	// resident, with the later row's data.
	if err := s.SetOptOut(ctx, s.ID(rows[3].Phone), true); err != nil {
		t.Fatal(err)
	}
	again := []Resident{rows[3], {Phone: "+12065559999", Lat: 47, Lon: -122}, {Phone: "+12065559999", Lat: 46, Lon: -121, Language: "es"}}
	if n, err := s.Import(ctx, again); err != nil || n != len(again) {
		t.Fatalf("Import(again) = %d, %v", n, err)
	}
	if r, err := s.Get(ctx, s.ID(rows[3].Phone)); err != nil || !r.OptedOut {
		t.Errorf("re-imported resident = %+v, %v; want still opted out", r, err)
	}
	if r, err := s.Get(ctx, s.ID("+12065559999")); err != nil || r.Lat != 46 || r.Language != "es" {
		t.Errorf("repeated number = %+v, %v; want the later row", r, err)
	}

	fresh := make([]Resident, 10)
	for i := range fresh {
		fresh[i] = Resident{Phone: fmt.Sprintf("+1206556%04d", i), Lat: 47, Lon: -122}
	}
	bad := append(fresh, Resident{Phone: "12"})
	if n, err := s.Import(ctx, bad); !errors.Is(err, ErrInvalidPhone) || !strings.Contains(err.Error(), "row 11") || n != 10 {
		t.Fatalf("Import(bad) = %d, %v; want the 10 rows before the bad one stored", n, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Import(cancelled, rows); !errors.Is(err, context.Canceled) {
		t.Fatalf("Import(cancelled) = %v", err)
	}
}

// BenchmarkImport stores 10,000 new residents per iteration (the
// pipelined creates), or the same 10,000 again (existing: Put per row).
func BenchmarkImport(b *testing.B) {
	for _, existing := range []bool{false, true} {
		name := "new"
		if existing {
			name = "existing"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s := openStore(b)
			const n = 10_000
			rows := func(k int) []Resident {
				if existing {
					k = 0
				}
				rows := make([]Resident, n)
				for i := range rows {
					rows[i] = Resident{Phone: fmt.Sprintf("+1206%07d", 2000000+k*n+i), Lat: 47, Lon: -122}
				}
				return rows
			}
			if existing {
				if _, err := s.Import(ctx, rows(0)); err != nil {
					b.Fatal(err)
				}
			}
			k := 0
			for b.Loop() {
				b.StopTimer()
				batch := rows(k)
				k++
				b.StartTimer()
				if _, err := s.Import(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
