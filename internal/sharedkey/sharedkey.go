// Package sharedkey reads a random secret that every Herald process of a
// cluster must share (the key console sessions or acknowledgement links
// are signed with) from a JetStream key-value bucket, creating it the
// first time. It does not rotate keys or decide what they sign.
package sharedkey

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Load returns the 32-byte key stored under name in kv, creating it if it
// is absent. Two processes starting together both end with the one that
// was created first.
func Load(ctx context.Context, kv jetstream.KeyValue, name string) ([]byte, error) {
	for range 3 {
		e, err := kv.Get(ctx, name)
		if err == nil {
			return e.Value(), nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if _, err := kv.Create(ctx, name, key); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil, fmt.Errorf("read %s: still absent after creating it", name)
}
