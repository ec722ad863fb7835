package cap

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"2026-11-25T10:00:00-08:00", time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC), ""},
		{"2026-11-25T18:00:00-00:00", time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC), ""},
		{"2026-11-26T03:30:00+09:30", time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC), ""},
		{"2026-11-25T18:00:00Z", time.Time{}, `does not allow "Z"; write UTC as -00:00 or +00:00`},
		{"2026-11-25T18:00:00", time.Time{}, "has no offset"},
		{"2026-11-25T18:00:00.000-08:00", time.Time{}, "is not YYYY-MM-DDThh:mm:ss±hh:mm"},
		{"2026-11-25 18:00:00-08:00", time.Time{}, "is not YYYY-MM-DDThh:mm:ss±hh:mm"},
		{"2026-13-25T18:00:00-08:00", time.Time{}, "is not YYYY-MM-DDThh:mm:ss±hh:mm"},
		{"", time.Time{}, "is not"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTimeAccessors(t *testing.T) {
	a := validAlert()
	sent, err := a.SentTime()
	if err != nil || !sent.Equal(time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("SentTime() = %v, %v", sent, err)
	}
	in := &a.Info[0]
	if got, err := in.ExpiresTime(); err != nil || !got.Equal(time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("ExpiresTime() = %v, %v", got, err)
	}
	if got, err := in.OnsetTime(); err != nil || !got.Equal(time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("OnsetTime() = %v, %v", got, err)
	}
	in.Effective = ""
	if got, err := in.EffectiveTime(); err != nil || !got.IsZero() {
		t.Errorf("EffectiveTime() of an absent element = %v, %v; want zero, nil", got, err)
	}
	in.Expires = "soon"
	if _, err := in.ExpiresTime(); err == nil {
		t.Error("ExpiresTime() of a bad time: no error")
	}
}

func TestParseReferences(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Reference
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"two triples", " a@x.example,ID-1,2026-11-25T10:00:00-08:00\n b@x.example,ID-2,2026-11-25T11:00:00+00:00 ", []Reference{
			{Sender: "a@x.example", Identifier: "ID-1", Sent: "2026-11-25T10:00:00-08:00"},
			{Sender: "b@x.example", Identifier: "ID-2", Sent: "2026-11-25T11:00:00+00:00"},
		}, ""},
		{"missing sent", "a@x.example,ID-1", nil, `reference 0 "a@x.example,ID-1" is not sender,identifier,sent`},
		{"empty identifier", "a@x.example,,2026-11-25T10:00:00-08:00", nil, "is not sender,identifier,sent"},
		{"bad sent", "a@x.example,ID-1,2026-11-25T10:00:00Z", nil, `reference 0: time "2026-11-25T10:00:00Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := (&Alert{References: tt.in}).ParseReferences()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("reference %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
