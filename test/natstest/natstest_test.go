package natstest

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestJetStream(t *testing.T) {
	js := JetStream(t)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(t.Context(), "t.1", []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestStartListensOnLoopback(t *testing.T) {
	ns := Start(t)
	if u := ns.ClientURL(); !strings.HasPrefix(u, "nats://127.0.0.1:") {
		t.Fatalf("ClientURL = %s, want loopback", u)
	}
}

func TestConnectPassesOptions(t *testing.T) {
	js := Connect(t, Start(t), nats.Name("natstest"))
	if got := js.Conn().Opts.Name; got != "natstest" {
		t.Fatalf("connection name %q, want natstest", got)
	}
}

// A server restarted in the same directory keeps its streams.
func TestStartInKeepsStreams(t *testing.T) {
	dir := t.TempDir()
	ns := StartIn(t, dir)
	js := Connect(t, ns)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(t.Context(), "t.1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	js.Conn().Close()
	ns.Shutdown()
	ns.WaitForShutdown()

	js = Connect(t, StartIn(t, dir))
	s, err := js.Stream(t.Context(), "T")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("restarted stream holds %d messages, want 1", info.State.Msgs)
	}
}
