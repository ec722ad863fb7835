// Package test holds Herald's end-to-end tests: the whole app in-process
// (embedded NATS with JetStream, real HTTP) driven through its public
// interfaces, as officers, hospitals and operators use them.
package test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/herald-alerts/herald/internal/app"
	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/client"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/geo"
)

// Regions every test shares: loading 3,231 counties once keeps the suite fast.
var (
	regionsOnce sync.Once
	regions     *geo.Registry
	regionsErr  error
)

func sharedRegions(t testing.TB) *geo.Registry {
	t.Helper()
	regionsOnce.Do(func() {
		regions, regionsErr = app.LoadRegions(config.Default())
	})
	if regionsErr != nil {
		t.Fatal(regionsErr)
	}
	return regions
}

// NATS accounts the test Heralds give hospitals and originators.
const (
	hospitalUser, hospitalPass     = "hospital", "hospital-secret"
	originatorUser, originatorPass = "officer", "officer-secret"
)

// Region ids used across tests.
const (
	king   = "us-county-53033" // King County, WA (Seattle)
	pierce = "us-county-53053" // Pierce County, WA (Tacoma), King's southern neighbour
)

// officer is an originator with its key.
type officer struct {
	ID  string
	Key nkeys.KeyPair
	Pub string
}

func newOfficer(t testing.TB, id string) officer {
	t.Helper()
	seed, pub, err := signing.GenerateSeed()
	if err != nil {
		t.Fatal(err)
	}
	kp, err := signing.ParseSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return officer{ID: id, Key: kp, Pub: pub}
}

// herald is one running Herald under test.
type herald struct {
	*app.App
	Cfg      *config.Config
	officers []officer
	Client   *client.Client
	// King may alert King County; Pierce may alert Pierce County; Approver
	// approves for King's agency; Drill may only run exercises in King.
	King, Pierce, Approver, Drill officer
}

type setup struct {
	dataDir  string    // reuse a data dir (restart tests)
	officers []officer // reuse officers (restart tests)
	natsURL  string    // external NATS
	edit     func(*config.Config)
	log      io.Writer // when set, Herald logs here at debug level
}

func startHerald(t testing.TB, s setup) *herald {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = s.dataDir
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.HTTP.PublicURL = "" // the listener's address, once known
	cfg.NATS.Listen = "127.0.0.1:0"
	cfg.NATS.URL = s.natsURL
	cfg.OriginatorsFile = filepath.Join(cfg.DataDir, "originators.yaml")
	// The embedded server requires accounts once it listens on TCP.
	cfg.NATS.Users = []config.NATSUser{
		{User: hospitalUser, Password: hospitalPass, Role: "hospital"},
		{User: originatorUser, Password: originatorPass, Role: "originator"},
	}
	h := &herald{Cfg: cfg}
	if len(s.officers) == 4 {
		h.King, h.Pierce, h.Approver, h.Drill = s.officers[0], s.officers[1], s.officers[2], s.officers[3]
	} else {
		h.King, h.Pierce = newOfficer(t, "king-health"), newOfficer(t, "pierce-health")
		h.Approver, h.Drill = newOfficer(t, "king-approver"), newOfficer(t, "king-drill")
	}
	doc := fmt.Sprintf(`originators:
  - id: %s
    name: "Public Health - Seattle & King County"
    public_key: %s
    roles: [issuer]
    jurisdiction: {regions: [%s]}
  - id: %s
    name: "Tacoma-Pierce County Health Department"
    public_key: %s
    roles: [issuer]
    jurisdiction: {regions: [%s]}
  - id: %s
    name: "Health Officer (approver), Public Health - Seattle & King County"
    agency: %s
    public_key: %s
    roles: [approver]
    jurisdiction: {regions: [%s]}
  - id: %s
    name: "Exercise coordinator"
    public_key: %s
    roles: [exercise_only]
    jurisdiction: {regions: [%s]}
`, h.King.ID, h.King.Pub, king, h.Pierce.ID, h.Pierce.Pub, pierce, h.Approver.ID, h.King.ID, h.Approver.Pub, king, h.Drill.ID, h.Drill.Pub, king)
	if err := os.WriteFile(cfg.OriginatorsFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.edit != nil {
		s.edit(cfg)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if s.log != nil {
		logger = slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.Start(ctx, cfg, app.Options{Logger: logger, Regions: sharedRegions(t)})
	if err != nil {
		t.Fatalf("start herald: %v", err)
	}
	h.App = a
	h.Client = client.New(a.HTTPURL(), cfg.HTTP.AdminToken)
	h.officers = []officer{h.King, h.Pierce, h.Approver, h.Drill}
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *herald) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.App.Stop(ctx)
}

// alertSpec describes a test alert; zero values get sensible defaults.
type alertSpec struct {
	identifier string
	status     string
	msgType    string
	references string
	polygons   []string
	sent       time.Time
}

var seq struct {
	sync.Mutex
	n int
}

// Polygons used across tests (CAP lat,lon order).
const (
	// Part of Seattle, well inside King County.
	seattlePoly = "47.58,-122.33 47.58,-122.29 47.53,-122.29 47.53,-122.33 47.58,-122.33"
	// Part of Tacoma, well inside Pierce County.
	tacomaPoly = "47.27,-122.47 47.27,-122.42 47.22,-122.42 47.22,-122.47 47.27,-122.47"
	// Straddles the King/Pierce line near Auburn/Federal Way.
	borderPoly = "47.33,-122.30 47.33,-122.20 47.22,-122.20 47.22,-122.30 47.33,-122.30"
)

func newAlert(t testing.TB, s alertSpec) []byte {
	t.Helper()
	seq.Lock()
	seq.n++
	n := seq.n
	seq.Unlock()
	if s.identifier == "" {
		s.identifier = fmt.Sprintf("TEST-%d-%d", time.Now().UnixNano(), n)
	}
	if s.status == "" {
		s.status = "Actual"
	}
	if s.msgType == "" {
		s.msgType = "Alert"
	}
	if s.polygons == nil {
		s.polygons = []string{seattlePoly}
	}
	if s.sent.IsZero() {
		s.sent = time.Now()
	}
	a := &cap.Alert{
		Identifier: s.identifier, Sender: "officer@health.example.gov",
		Sent:   s.sent.Format("2006-01-02T15:04:05-07:00"),
		Status: s.status, MsgType: s.msgType, Scope: "Public", References: s.references,
		Info: []cap.Info{{
			Language: "en-US", Category: []string{"Health"}, Event: "Boil Water Advisory",
			Urgency: "Immediate", Severity: "Severe", Certainty: "Observed",
			Expires:    s.sent.Add(24 * time.Hour).Format("2006-01-02T15:04:05-07:00"),
			SenderName: "Public Health", Headline: "Boil water before drinking",
			Instruction: "Bring tap water to a rolling boil for one minute.",
			Area:        []cap.Area{{AreaDesc: "Test area", Polygon: s.polygons}},
		}},
	}
	b, err := cap.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
