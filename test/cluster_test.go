package test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/jobs"
)

// cluster is three nats-servers with JetStream on loopback, routed together.
type cluster struct {
	servers []*server.Server
	opts    []*server.Options
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{}
	ports := []int{freePort(t), freePort(t), freePort(t)}
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	for i, p := range ports {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: server.RANDOM_PORT,
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "herald-test", Host: "127.0.0.1", Port: p},
			Routes:  routes,
		}
		ns, err := server.NewServer(o)
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		t.Cleanup(ns.Shutdown)
		c.servers, c.opts = append(c.servers, ns), append(c.opts, o)
	}
	for _, ns := range c.servers {
		if !ns.ReadyForConnections(20 * time.Second) {
			t.Fatal("cluster member not ready")
		}
	}
	// JetStream needs a meta leader that sees every peer online (with
	// stats) before R3 streams can be placed.
	within(t, 30*time.Second, "JetStream meta leader with 3 peers online", func() bool {
		for _, ns := range c.servers {
			if ns.JetStreamIsLeader() && len(ns.JetStreamClusterPeers()) == len(c.servers) {
				return true
			}
		}
		return false
	})
	return c
}

func (c *cluster) urls() string {
	var u []string
	for _, ns := range c.servers {
		if ns.Running() {
			u = append(u, ns.ClientURL())
		}
	}
	return strings.Join(u, ",")
}

func (c *cluster) byName(name string) *server.Server {
	for _, ns := range c.servers {
		if ns.Name() == name {
			return ns
		}
	}
	return nil
}

// TestClusterLeaderLossLosesNothing: two Herald instances on a 3-server
// cluster with R3 streams; the jobs stream's leader is killed mid fan-out.
// Every resident still gets the SMS, duplicates stay within the in-flight
// bound, and with no quorum left Herald refuses alerts with 503 rather than
// accept what it cannot keep.
func TestClusterLeaderLossLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test; skipped with -short")
	}
	const residents = 3000
	cl := startCluster(t)
	twilio := newFakeTwilio(t)
	officers := []officer{newOfficer(t, "king-health"), newOfficer(t, "pierce-health"), newOfficer(t, "king-approver"), newOfficer(t, "king-drill")}
	edit := func(c *config.Config) {
		c.NATS.Replicas = 3
		c.HTTP.AdminToken = adminToken
		c.SMS.Provider = "twilio"
		c.SMS.RatePerSecond = 400
		c.Twilio.AccountSID = "AC00000000000000000000000000000000"
		c.Twilio.AuthToken = "testauthtoken0123"
		c.Twilio.MessagingServiceSID = "MG00000000000000000000000000000000"
		c.Twilio.APIBaseURL = twilio.URL
	}
	dir := t.TempDir()
	a := startHerald(t, setup{natsURL: cl.urls(), dataDir: dir, officers: officers, edit: edit})
	b := startHerald(t, setup{natsURL: cl.urls(), dataDir: dir, officers: officers, edit: edit})
	a.Client.Token = adminToken

	nc, err := nats.Connect(cl.urls())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	info, err := js.Stream(ctxT(t), jobs.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	si, _ := info.Info(ctxT(t))
	if si.Config.Replicas != 3 {
		t.Fatalf("jobs stream has %d replicas, want 3", si.Config.Replicas)
	}

	if _, err := a.Client.Upload(ctxT(t), "/v1/subscribers/import", "text/csv", []byte(residentsCSV(residents, 11))); err != nil {
		t.Fatal(err)
	}
	within(t, 15*time.Second, "both processes loaded residents", func() bool {
		p, _, err := b.Client.Preview(ctxT(t), b.King.Key, newAlert(t, alertSpec{}))
		return err == nil && p.Recipients["sms"] == residents
	})
	if _, _, err := a.Client.Publish(ctxT(t), a.King.Key, newAlert(t, alertSpec{})); err != nil {
		t.Fatal(err)
	}
	within(t, 30*time.Second, "fan-out under way", func() bool { return len(twilio.messages()) >= residents/5 })
	si, err = info.Info(ctxT(t))
	if err != nil || si.Cluster == nil {
		t.Fatalf("stream info: %v", err)
	}
	leader := cl.byName(si.Cluster.Leader)
	at := len(twilio.messages())
	leader.Shutdown()
	t.Logf("killed %s, leader of %s, after %d SMS", si.Cluster.Leader, jobs.StreamName, at)

	within(t, 90*time.Second, "every resident reached", func() bool { return uniqueRecipients(twilio.messages()) == residents })
	time.Sleep(time.Second)
	msgs := twilio.messages()
	dups := len(msgs) - uniqueRecipients(msgs)
	t.Logf("residents %d, SMS %d, duplicates %d (bound %d: two processes' crash bounds)", residents, len(msgs), dups, 2*crashBound)
	if dups > 2*crashBound {
		t.Fatalf("%d duplicates, above the bound", dups)
	}

	// Lose quorum: with one server of three left, nothing can be stored.
	for _, ns := range cl.servers {
		if ns.Running() {
			ns.Shutdown()
			break
		}
	}
	within(t, 30*time.Second, "readiness reports the lost quorum", func() bool {
		resp, err := http.Get(a.HTTPURL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	_, _, err = a.Client.Publish(ctxT(t), a.King.Key, newAlert(t, alertSpec{}))
	if code := statusOf(t, err); code != http.StatusServiceUnavailable {
		t.Fatalf("publish without quorum: %v, want 503", err)
	}
}
