// Package natstest starts in-process nats-servers with JetStream for tests.
// It is imported only by _test.go files.
package natstest

import (
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readyTimeout bounds how long a new server may take to accept connections.
const readyTimeout = 10 * time.Second

// Start runs a nats-server with JetStream on a random loopback port, storing
// in a fresh t.TempDir(); it is stopped at the end of the test.
func Start(t testing.TB) *server.Server {
	t.Helper()
	return StartIn(t, t.TempDir())
}

// StartIn is Start storing in dir. A server started again in the same dir,
// after the first has been shut down, sees the same streams.
func StartIn(t testing.TB, dir string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	if !ns.ReadyForConnections(readyTimeout) {
		t.Fatal("nats-server not ready")
	}
	return ns
}

// Connect opens a new client connection to ns, as another Herald process
// would, and returns its JetStream context; js.Conn() is the connection,
// closed at the end of the test.
func Connect(t testing.TB, ns *server.Server, opts ...nats.Option) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// JetStream is Start and Connect for the common case: one server, one
// connection.
func JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	return Connect(t, Start(t))
}

// Heap is the Go heap in use after a collection. The test's server runs
// in its process, so a difference of two readings includes what the
// server holds for what was stored between them (footprint benchmarks).
func Heap() uint64 {
	runtime.GC()
	runtime.GC() // the first may leave finalized objects for the second
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// RestartedHeap shuts ns down, starts a server again on its store dir (it
// stops with the test) and returns the Go heap that server holds beyond an
// empty one: what the stored streams cost a server at rest (per-subject
// indexes rebuilt, no block loaded). Footprint benchmarks use it.
func RestartedHeap(t testing.TB, ns *server.Server, dir string) uint64 {
	t.Helper()
	ns.Shutdown()
	ns.WaitForShutdown()
	base := Heap()
	empty := Start(t)
	emptyHeld := Heap() - base
	empty.Shutdown()
	empty.WaitForShutdown()
	base = Heap()
	StartIn(t, dir)
	held := Heap() - base
	return held - min(held, emptyHeld)
}
