// Package test holds Herald's end-to-end tests: the whole app in-process
// (embedded NATS with JetStream, real HTTP) driven through its public
// interfaces, as officers, hospitals and operators use them.
package test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/internal/app"
	"github.com/herald-alerts/herald/internal/inproc"
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

// CAP senders of the test agencies.
const (
	kingSender   = "officer@health.example.gov"
	pierceSender = "officer@tpchd.example.gov"
)

// Region ids used across tests.
const (
	king   = "us-county-53033" // King County, WA (Seattle)
	pierce = "us-county-53053" // Pierce County, WA (Tacoma), King's southern neighbour
)

// officer is an originator with its key.
type officer = inproc.Officer

func newOfficer(t testing.TB, id string) officer {
	t.Helper()
	o, err := inproc.NewOfficer(id, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// herald is one running Herald under test.
type herald struct {
	*inproc.Herald
	Cfg      *config.Config
	officers []officer
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
	h := &herald{}
	if len(s.officers) == 4 {
		h.King, h.Pierce, h.Approver, h.Drill = s.officers[0], s.officers[1], s.officers[2], s.officers[3]
	} else {
		h.King, h.Pierce = newOfficer(t, "king-health"), newOfficer(t, "pierce-health")
		h.Approver, h.Drill = newOfficer(t, "king-approver"), newOfficer(t, "king-drill")
	}
	h.King.Name, h.King.Roles, h.King.Regions = "Public Health - Seattle & King County", []string{"issuer"}, []string{king}
	h.King.Senders = []string{kingSender}
	h.Pierce.Name, h.Pierce.Roles, h.Pierce.Regions = "Tacoma-Pierce County Health Department", []string{"issuer"}, []string{pierce}
	h.Pierce.Senders = []string{pierceSender}
	h.Approver.Name, h.Approver.Roles, h.Approver.Regions = "Health Officer (approver), Public Health - Seattle & King County", []string{"approver"}, []string{king}
	h.Approver.Agency = h.King.ID
	h.Drill.Name, h.Drill.Roles, h.Drill.Regions = "Exercise coordinator", []string{"exercise_only"}, []string{king}
	h.Drill.Agency = h.King.ID
	h.officers = []officer{h.King, h.Pierce, h.Approver, h.Drill}

	dataDir := s.dataDir
	if dataDir == "" {
		dataDir = t.TempDir()
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
	ih, err := inproc.Start(ctx, inproc.Options{
		DataDir: dataDir, NATSURL: s.natsURL, Officers: h.officers,
		// The embedded server requires accounts once it listens on TCP.
		NATSUsers: []config.NATSUser{
			{User: hospitalUser, Password: hospitalPass, Role: "hospital"},
			{User: originatorUser, Password: originatorPass, Role: "originator"},
		},
		Edit: s.edit, Logger: logger, Regions: sharedRegions(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Herald, h.Cfg = ih, ih.Config
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *herald) stop() {
	collectCAP(h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.Herald.Stop(ctx)
}

// alertSpec describes a test alert; zero values get sensible defaults.
type alertSpec struct {
	identifier string
	sender     string // default kingSender
	status     cap.Status
	msgType    cap.MsgType
	references string
	polygons   []string
	sent       time.Time
	urgency    cap.Urgency  // default Immediate
	severity   cap.Severity // default Severe
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
		s.status = cap.StatusActual
	}
	if s.sender == "" {
		s.sender = kingSender
	}
	if s.msgType == "" {
		s.msgType = cap.MsgAlert
	}
	if s.polygons == nil {
		s.polygons = []string{seattlePoly}
	}
	if s.sent.IsZero() {
		s.sent = time.Now()
	}
	s.urgency = cmp.Or(s.urgency, cap.UrgencyImmediate)
	s.severity = cmp.Or(s.severity, cap.SeveritySevere)
	a := &cap.Alert{
		Identifier: s.identifier, Sender: s.sender,
		Sent:   s.sent.Format("2006-01-02T15:04:05-07:00"),
		Status: s.status, MsgType: s.msgType, Scope: cap.ScopePublic, References: s.references,
		Info: []cap.Info{{
			Language: "en-US", Category: []string{"Health"}, Event: "Boil Water Advisory",
			Urgency: s.urgency, Severity: s.severity, Certainty: cap.CertaintyObserved,
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
