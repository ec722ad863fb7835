package recipients

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/internal/lifecycle"
	"github.com/herald-alerts/herald/internal/residents"
	"github.com/herald-alerts/herald/test/natstest"
)

type noRegionResidents struct{}

func (noRegionResidents) ByRegion(string) []string { return nil }
func (noRegionResidents) Get(context.Context, string) (residents.Resident, error) {
	return residents.Resident{}, residents.ErrNotFound
}

// BenchmarkPlan plans a Public alert over a million residents: choosing
// them in the index and storing their jobs in JetStream (file storage), up
// to the moment the plan is recorded.
func BenchmarkPlan(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	js := natstest.JetStream(b)
	if _, err := jobs.Open(ctx, jobs.Config{JS: js, Replicas: 1}); err != nil {
		b.Fatal(err)
	}
	store, err := deliveries.Open(ctx, deliveries.Config{JS: js, Replicas: 1})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := geo.Load(geo.DefaultSources())
	if err != nil {
		b.Fatal(err)
	}
	index := geo.NewPointIndex()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		index.Put(fmt.Sprintf("r%024d", i), orb.Point{-122.30 + rng.Float64()*0.1, 47.50 + rng.Float64()*0.1})
	}
	s := New(Config{JS: js, Regions: reg, Index: index, Residents: noRegionResidents{}, Deliveries: store, Logger: slog.New(slog.DiscardHandler)})
	a := &cap.Alert{Status: cap.StatusActual, MsgType: cap.MsgAlert, Scope: cap.ScopePublic, Info: []cap.Info{{
		Urgency: cap.UrgencyExpected, Severity: cap.SeverityModerate,
		Area: []cap.Area{{AreaDesc: "box", Polygon: []string{"47.49,-122.31 47.61,-122.31 47.61,-122.19 47.49,-122.19 47.49,-122.31"}}},
	}}}
	i := 0
	for b.Loop() {
		i++
		rec := &alertlog.Record{ID: fmt.Sprintf("abench%d", i), State: lifecycle.Accepted}
		if err := s.Plan(ctx, rec, a, nil); err != nil {
			b.Fatal(err)
		}
	}
	sum, err := store.Summarize(ctx, fmt.Sprintf("abench%d", i))
	if err != nil {
		b.Fatal(err)
	}
	if q := sum.Channels[string(channels.SMS)].Queued; q != n {
		b.Fatalf("planned %d SMS, want %d", q, n)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "recipients/s")
}
