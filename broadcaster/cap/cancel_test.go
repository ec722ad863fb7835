package cap

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestCancelOf(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("testdata", "boil_water.xml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		now  time.Time
	}{
		{"UTC", time.Date(2026, 11, 25, 19, 30, 5, 0, time.UTC)},
		{"local offset", time.Date(2026, 11, 25, 11, 30, 5, 0, time.FixedZone("PST", -8*3600))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := Marshal(CancelOf(a, tc.now))
			if err != nil {
				t.Fatalf("marshal the cancel: %v", err)
			}
			c, err := Parse(body)
			if err != nil {
				t.Fatalf("the cancel does not parse: %v\n%s", err, body)
			}
			if probs := c.Validate(); len(probs) > 0 {
				t.Fatalf("the cancel is invalid: %v", probs)
			}
			if c.MsgType != MsgCancel {
				t.Errorf("msgType = %s, want Cancel", c.MsgType)
			}
			if c.Sender != a.Sender || c.Status != a.Status || c.Scope != a.Scope {
				t.Errorf("sender/status/scope = %s/%s/%s, want the original's %s/%s/%s", c.Sender, c.Status, c.Scope, a.Sender, a.Status, a.Scope)
			}
			if c.Identifier == a.Identifier {
				t.Error("the cancel reuses the original identifier")
			}
			refs, err := c.ParseReferences()
			if err != nil || len(refs) != 1 {
				t.Fatalf("references = %q (%v), want one", c.References, err)
			}
			if c.References != a.Sender+","+a.Identifier+","+a.Sent {
				t.Errorf("references = %q, want the original's sender,identifier,sent", c.References)
			}
			sent, err := c.SentTime()
			if err != nil || !sent.Equal(tc.now) {
				t.Errorf("sent = %q (%v), want %v", c.Sent, err, tc.now)
			}
			// The infos are kept, without their expiry (a Cancel is in
			// force from its sent time) and without the original's words.
			want := append([]Info(nil), a.Info...)
			for i := range want {
				want[i].Expires, want[i].Instruction, want[i].Description = "", "", ""
			}
			if !reflect.DeepEqual(c.Info, want) {
				t.Errorf("infos differ from the original's:\n%+v\nwant\n%+v", c.Info, want)
			}
		})
	}
}
