package natsapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/intake"
	"github.com/herald-alerts/herald/internal/originators"
	"github.com/herald-alerts/herald/test/natstest"
)

// TestServe sends submissions over NATS request/reply and checks that each
// refusal comes back as the JSON reply with the HTTP status it would have
// had, problems included.
func TestServe(t *testing.T) {
	ctx := context.Background()
	js := natstest.JetStream(t)
	log, err := alertlog.Open(ctx, alertlog.Config{JS: js, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	seed, pub, err := signing.GenerateSeed()
	if err != nil {
		t.Fatal(err)
	}
	key, err := signing.ParseSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "originators.yaml")
	doc := "originators:\n  - id: wa\n    name: WA\n    public_key: " + pub + "\n    roles: [issuer]\n    jurisdiction: {regions: [us-county-53033]}\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	origs, err := originators.New(originators.Config{Path: path, RegionExists: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	svc := intake.New(intake.Config{Log: log, Originators: origs, Logger: slog.New(slog.DiscardHandler)})
	nc := js.Conn()
	sub, err := Serve(Config{Conn: nc, Intake: svc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	signed := func(body []byte) nats.Header {
		h, err := signing.Sign(key, signing.ActionSubmit, time.Now(), body)
		if err != nil {
			t.Fatal(err)
		}
		hdr := nats.Header{}
		h.Set(hdr.Set)
		return hdr
	}
	notCAP := []byte("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x</identifier></alert>")
	tests := []struct {
		name     string
		body     []byte
		hdr      nats.Header
		code     int
		problems bool
	}{
		{"unsigned", notCAP, nil, 401, false},
		{"signed, invalid CAP", notCAP, signed(notCAP), 400, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := &nats.Msg{Subject: SubjectSubmit, Data: tt.body, Header: tt.hdr}
			resp, err := nc.RequestMsg(msg, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var r Reply
			if err := json.Unmarshal(resp.Data, &r); err != nil {
				t.Fatalf("reply %q: %v", resp.Data, err)
			}
			if r.Code != tt.code || r.ID != "" || r.Error == "" || (len(r.Errors) > 0) != tt.problems {
				t.Fatalf("reply = %+v, want code %d with problems=%v", r, tt.code, tt.problems)
			}
		})
	}
}
