package sharedkey

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/test/natstest"
)

func TestLoadIsSharedAndStable(t *testing.T) {
	ns := natstest.Start(t)
	ctx := context.Background()
	open := func() jetstream.KeyValue {
		kv, err := natstest.Connect(t, ns).CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "KEYS"})
		if err != nil {
			t.Fatal(err)
		}
		return kv
	}
	// Processes starting together agree on one key.
	keys := make([][]byte, 4)
	var wg sync.WaitGroup
	for i := range keys {
		kv := open()
		wg.Go(func() {
			k, err := Load(ctx, kv, "k")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("keys differ: %x vs %x", k, keys[0])
		}
	}
	again, err := Load(ctx, open(), "k")
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatalf("a later Load gave another key: %v", err)
	}
	other, _ := Load(ctx, open(), "other")
	if bytes.Equal(other, keys[0]) {
		t.Fatal("two names share a key")
	}
}
