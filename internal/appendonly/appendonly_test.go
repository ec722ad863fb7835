package appendonly

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/test/natstest"
)

// TestIntact truncates a stream's block file, as a crash of the disk or a
// careless copy would, and checks the loss is reported.
func TestIntact(t *testing.T) {
	dir := t.TempDir()
	ns := natstest.StartIn(t, dir)
	js := natstest.Connect(t, ns)
	ctx := context.Background()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "LOG", Subjects: []string{"log.*"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	if err := Intact(ctx, s); err != nil {
		t.Fatalf("empty stream: %v", err)
	}
	for i := range 20 {
		if _, err := js.Publish(ctx, fmt.Sprintf("log.%d", i), []byte("an alert, twenty bytes")); err != nil {
			t.Fatal(err)
		}
	}
	if err := Intact(ctx, s); err != nil {
		t.Fatalf("whole stream: %v", err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	blk := filepath.Join(dir, "jetstream", "$G", "streams", "LOG", "msgs", "1.blk")
	fi, err := os.Stat(blk)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(blk, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	ns = natstest.StartIn(t, dir)
	s, err = natstest.Connect(t, ns).Stream(ctx, "LOG")
	if err != nil {
		t.Fatal(err)
	}
	err = Intact(ctx, s)
	var le *LossError
	if !errors.As(err, &le) || le.Stream != "LOG" || le.Last != 20 || le.Have >= 20 || !strings.Contains(err.Error(), "lost") {
		t.Fatalf("Intact after truncation = %v, want a LossError naming LOG", err)
	}
}
