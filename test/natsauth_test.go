package test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/app"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/internal/natsapi"
)

// violations collects the server's permission errors for one connection.
type violations struct {
	mu   sync.Mutex
	errs []string
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, err.Error())
}

func (v *violations) has(sub string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.errs {
		if strings.Contains(e, sub) {
			return true
		}
	}
	return false
}

func TestEmbeddedNATSPermissions(t *testing.T) {
	h := startHerald(t, setup{})
	if _, err := nats.Connect(h.NATSURL()); err == nil {
		t.Fatal("connected to the embedded NATS without an account")
	}
	if _, err := nats.Connect(h.NATSURL(), nats.UserInfo(hospitalUser, "wrong")); err == nil {
		t.Fatal("connected with a wrong password")
	}

	v := &violations{}
	nc, err := nats.Connect(h.NATSURL(), nats.UserInfo(hospitalUser, hospitalPass), nats.ErrorHandler(v.handler))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	t.Run("hospital cannot publish", func(t *testing.T) {
		for _, subj := range []string{natsapi.SubjectSubmit, jobs.SubjectPrefix + "sms", alertlog.SubjectRegion + king} {
			_ = nc.Publish(subj, []byte("x"))
			_ = nc.Flush()
			within(t, 2*time.Second, "publish violation for "+subj, func() bool { return v.has("Publish to \"" + subj + "\"") })
		}
	})
	t.Run("hospital cannot read jobs or the alert log", func(t *testing.T) {
		for _, subj := range []string{jobs.SubjectPrefix + ">", alertlog.SubjectLog + "*"} {
			if _, err := nc.SubscribeSync(subj); err != nil {
				t.Fatal(err)
			}
			_ = nc.Flush()
			within(t, 2*time.Second, "subscription violation for "+subj, func() bool { return v.has("Subscription to \"" + subj + "\"") })
		}
		js, _ := jetstream.New(nc)
		for name, cfg := range map[string]struct {
			stream string
			filter string
		}{
			"jobs consumer":      {jobs.StreamName, jobs.SubjectPrefix + "sms"},
			"alert log consumer": {alertlog.StreamName, alertlog.SubjectLog + "*"},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := js.CreateOrUpdateConsumer(ctx, cfg.stream, jetstream.ConsumerConfig{Durable: "snoop", FilterSubject: cfg.filter})
			cancel()
			if err == nil {
				t.Errorf("%s created by a hospital", name)
			}
		}
	})
	t.Run("hospital can follow and replay its region", func(t *testing.T) {
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := js.CreateOrUpdateConsumer(ctx, app.FeedStream, jetstream.ConsumerConfig{Durable: "ward", FilterSubject: alertlog.SubjectRegion + king}); err != nil {
			t.Fatalf("region consumer: %v", err)
		}
	})

	ov := &violations{}
	oc, err := nats.Connect(h.NATSURL(), nats.UserInfo(originatorUser, originatorPass), nats.ErrorHandler(ov.handler))
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	t.Run("originator cannot read feeds", func(t *testing.T) {
		if _, err := oc.SubscribeSync(alertlog.SubjectRegion + ">"); err != nil {
			t.Fatal(err)
		}
		_ = oc.Flush()
		within(t, 2*time.Second, "originator subscription violation", func() bool { return ov.has("Subscription to") })
	})
}
