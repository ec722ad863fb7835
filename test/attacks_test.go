package test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/app"
	"github.com/herald-alerts/herald/internal/natsapi"
	"github.com/herald-alerts/herald/internal/plan"
)

// Second hospital and originator accounts, for attacks on one another.
const (
	otherHospital, otherHospitalPass     = "otherhospital", "other-hospital-secret"
	otherOriginator, otherOriginatorPass = "otherofficer", "other-officer-secret"
)

// natsTarget is a Herald to attack and how hospitals reach their feed.
type natsTarget struct {
	h   *herald
	url string
}

// TestNATSAttacks is the regression table of issue 10's NATS attacks, run
// as real hospital and originator accounts, on the embedded server and on
// a nats-server started from the shipped examples/nats-accounts/server.conf.
// Each row asserts the refusal; after all rows a real alert must still be
// planned, reach both hospitals' feeds and be delivered.
func TestNATSAttacks(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		h := startHerald(t, setup{edit: func(c *config.Config) {
			c.NATS.Users = append(c.NATS.Users,
				config.NATSUser{User: otherHospital, Password: otherHospitalPass, Role: "hospital"},
				config.NATSUser{User: otherOriginator, Password: otherOriginatorPass, Role: "originator"})
		}})
		runNATSAttacks(t, natsTarget{h: h, url: h.NATSURL()}, false)
	})
	t.Run("external server.conf", func(t *testing.T) {
		ns := startShippedServer(t)
		h := startHerald(t, setup{natsURL: ns.ClientURL(), edit: func(c *config.Config) {
			c.NATS.User, c.NATS.Password = "herald", "change-me-herald"
		}})
		runNATSAttacks(t, natsTarget{h: h, url: ns.ClientURL()}, true)
	})
}

// startShippedServer runs nats-server from the configuration an operator
// is told to start from, on a free port and a temporary store.
func startShippedServer(t *testing.T) *server.Server {
	t.Helper()
	opts, err := server.ProcessConfigFile("../examples/nats-accounts/server.conf")
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.StoreDir = "127.0.0.1", -1, t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server from server.conf not ready")
	}
	return ns
}

func connectAs(t *testing.T, url, user, pass string, v *violations) *nats.Conn {
	t.Helper()
	opts := []nats.Option{nats.UserInfo(user, pass)}
	if v != nil {
		opts = append(opts, nats.ErrorHandler(v.handler))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// feedOf opens a hospital's HERALD_FEED; on an external cluster the
// hospital creates it first, as the README tells it to.
func feedOf(t *testing.T, nc *nats.Conn, account string, create bool) jetstream.Stream {
	t.Helper()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if create {
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: app.FeedStream, Sources: []*jetstream.StreamSource{app.FeedSource(account)}}); err != nil {
			t.Fatalf("create the feed of %s: %v", account, err)
		}
	}
	s, err := js.Stream(ctx, app.FeedStream)
	if err != nil {
		t.Fatalf("feed of %s: %v", account, err)
	}
	return s
}

func runNATSAttacks(t *testing.T, tg natsTarget, createFeeds bool) {
	h := tg.h
	hv, ov := &violations{}, &violations{}
	hosp := connectAs(t, tg.url, hospitalUser, hospitalPass, hv)
	other := connectAs(t, tg.url, otherHospital, otherHospitalPass, nil)
	officer := connectAs(t, tg.url, originatorUser, originatorPass, ov)
	otherOfficer := connectAs(t, tg.url, otherOriginator, otherOriginatorPass, nil)
	hjs, _ := jetstream.New(hosp)
	feed := feedOf(t, hosp, "HOSPITAL_HOSPITAL", createFeeds)
	otherFeed := feedOf(t, other, "HOSPITAL_OTHERHOSPITAL", createFeeds)
	ctx := ctxT(t)

	// The other hospital's durable consumer, which the first must not touch.
	ojs, _ := jetstream.New(other)
	if _, err := ojs.CreateOrUpdateConsumer(ctx, app.FeedStream, jetstream.ConsumerConfig{Durable: "ward2", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	_ = otherFeed

	// Anything reaching Herald's own herald.alerts.submit from a hospital.
	var submits atomic.Int64
	if _, err := h.Conn().Subscribe(natsapi.SubjectSubmit, func(*nats.Msg) { submits.Add(1) }); err != nil {
		t.Fatal(err)
	}

	rows := []struct {
		name   string
		attack func(t *testing.T) bool // true when the attack was refused
	}{
		{"hospital reads Herald's planner consumer", func(t *testing.T) bool {
			_, err := hjs.Consumer(ctx, alertlog.StreamName, plan.ConsumerName)
			return err != nil
		}},
		{"hospital lists the alert ids of Herald's log", func(t *testing.T) bool {
			if _, err := hjs.Stream(ctx, alertlog.StreamName); err == nil {
				return false
			}
			// Its own feed holds region copies only: ids it can read.
			info, err := feed.Info(ctx, jetstream.WithSubjectFilter(">"))
			if err != nil {
				t.Fatal(err)
			}
			for subject := range info.State.Subjects {
				if !strings.HasPrefix(subject, alertlog.SubjectRegion) {
					return false
				}
			}
			return true
		}},
		{"hospital pulls from the planner by raw API", func(t *testing.T) bool {
			// Its account has no such consumer: nobody answers, and the
			// planner keeps its messages (the alert below is planned).
			_, err := hosp.Request("$JS.API.CONSUMER.MSG.NEXT."+alertlog.StreamName+"."+plan.ConsumerName, []byte(`{"batch":5}`), 500*time.Millisecond)
			return err != nil
		}},
		{"hospital deletes the planner consumer", func(t *testing.T) bool {
			return hjs.DeleteConsumer(ctx, alertlog.StreamName, plan.ConsumerName) != nil
		}},
		{"hospital deletes another hospital's consumer", func(t *testing.T) bool {
			return hjs.DeleteConsumer(ctx, app.FeedStream, "ward2") != nil
		}},
		{"hospital creates a consumer on Herald's log through the feed import", func(t *testing.T) bool {
			_ = hosp.Publish(app.FeedAPIPrefix+".CONSUMER.CREATE."+alertlog.StreamName+"."+plan.ConsumerName+"."+alertlog.SubjectRegion+"x", []byte(`{}`))
			_ = hosp.Flush()
			within(t, 2*time.Second, "publish violation", func() bool { return hv.has("Publish to \"" + app.FeedAPIPrefix) })
			return true
		}},
		{"hospital creates a push consumer delivering to herald.alerts.submit", func(t *testing.T) bool {
			// In its own account this is its business; what matters is that
			// the deliveries never reach Herald's subject: counted in
			// submits, checked once the real alert has gone through.
			_, err := hjs.CreateOrUpdateConsumer(ctx, app.FeedStream, jetstream.ConsumerConfig{Durable: "push", DeliverSubject: natsapi.SubjectSubmit})
			return err == nil
		}},
		{"hospital publishes a submission", func(t *testing.T) bool {
			_ = hosp.Publish(natsapi.SubjectSubmit, []byte("<alert/>"))
			_ = hosp.Flush()
			within(t, 2*time.Second, "publish violation", func() bool { return hv.has("Publish to \"" + natsapi.SubjectSubmit) })
			return true
		}},
		{"hospital subscribes to everything", func(t *testing.T) bool {
			_, _ = hosp.SubscribeSync(">")
			_ = hosp.Flush()
			within(t, 2*time.Second, "subscription violation", func() bool { return hv.has("Subscription to \">\"") })
			return true
		}},
		{"originator reads the regional feed", func(t *testing.T) bool {
			_, _ = officer.SubscribeSync(alertlog.SubjectRegion + ">")
			_ = officer.Flush()
			within(t, 2*time.Second, "subscription violation", func() bool { return ov.has("Subscription to") })
			return true
		}},
		{"originator publishes a job", func(t *testing.T) bool {
			_ = officer.Publish("herald.jobs.sms", []byte(`{}`))
			_ = officer.Flush()
			within(t, 2*time.Second, "publish violation", func() bool { return ov.has("Publish to \"herald.jobs.sms\"") })
			return true
		}},
		{"another originator's reply stays in its account", func(t *testing.T) bool {
			resp, err := otherOfficer.Request(natsapi.SubjectSubmit, []byte("not signed"), 5*time.Second)
			return err == nil && strings.Contains(string(resp.Data), `"code":401`)
		}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if !r.attack(t) {
				t.Fatal("the attack was not refused")
			}
		})
	}
	// The other originator's submission reached Herald, as it should; from
	// here on nothing may.
	submits.Store(0)

	// Snooping: while the hospital and the officer are idle, anything on
	// _INBOX.> in their accounts is somebody else's traffic. Herald plans
	// a real alert, another originator submits over NATS and another
	// hospital works on its feed meanwhile.
	var leaked atomic.Int64
	var snoops []*nats.Subscription
	for _, nc := range []*nats.Conn{hosp, officer} {
		sub, err := nc.Subscribe("_INBOX.>", func(*nats.Msg) { leaked.Add(1) })
		if err != nil {
			t.Fatal(err)
		}
		snoops = append(snoops, sub)
		_ = nc.Flush()
	}
	acc, _, err := h.Client.Publish(ctx, h.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := otherOfficer.Request(natsapi.SubjectSubmit, []byte("not signed"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := ojs.CreateOrUpdateConsumer(ctx, app.FeedStream, jetstream.ConsumerConfig{Durable: "ward3"}); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "alert planned", func() bool {
		a, _, err := h.Client.Alert(ctx, acc.ID)
		return err == nil && (a.State == "dispatching" || a.State == "done")
	})
	time.Sleep(300 * time.Millisecond)
	for _, sub := range snoops {
		_ = sub.Unsubscribe()
	}
	if n := leaked.Load(); n != 0 {
		t.Errorf("%d messages of others crossed a hospital's or originator's _INBOX.>", n)
	}

	// Both hospitals' feeds have the alert; nothing reached Herald's
	// submission subject from a hospital (the push consumer above).
	for name, s := range map[string]jetstream.Stream{"hospital": feed, "other hospital": otherFeed} {
		within(t, 10*time.Second, name+" feed has the alert", func() bool {
			m, err := s.GetLastMsgForSubject(ctx, alertlog.SubjectRegion+king)
			return err == nil && m.Header.Get(alertlog.HeaderAlertID) == acc.ID
		})
	}
	if n := submits.Load(); n != 1 { // the other originator's, above
		t.Errorf("%d messages reached herald.alerts.submit, want the other originator's 1", n)
	}
	within(t, 10*time.Second, "deliveries settled", func() bool {
		raw, err := h.Client.Get(ctx, "/v1/alerts/"+acc.ID+"/deliveries")
		return err == nil && strings.Contains(string(raw), `"planned":true,"done":true`)
	})
}

// TestShippedAccountsConfig: the external example has the embedded
// server's account model (the same generator), so it cannot drift.
func TestShippedAccountsConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "examples", "nats-accounts", "server.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := app.AccountsConfig("", exampleUsers, nil)
	if !strings.Contains(string(b), want) {
		t.Errorf("examples/nats-accounts/server.conf does not hold the generated accounts block; regenerate it:\n%s", want)
	}
}

// exampleUsers are the users of examples/nats-accounts/server.conf.
var exampleUsers = []config.NATSUser{
	{User: "herald", Password: "change-me-herald", Role: "herald"},
	{User: hospitalUser, Password: hospitalPass, Role: "hospital"},
	{User: otherHospital, Password: otherHospitalPass, Role: "hospital"},
	{User: originatorUser, Password: originatorPass, Role: "originator"},
	{User: otherOriginator, Password: otherOriginatorPass, Role: "originator"},
}
