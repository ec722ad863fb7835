// Package replay remembers the signatures of recent signed requests so that
// a captured request cannot be sent again, even within the timestamp window
// the signature itself allows. The memory is a JetStream KV bucket shared
// by every Herald process, whose entries age out once the window has
// passed (an older signature is refused as stale anyway).
//
// It does not verify signatures; it only says whether one was seen.
package replay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the KV bucket of seen signatures.
const Bucket = "HERALD_REPLAY"

// ErrReplay means the signature was used before.
var ErrReplay = errors.New("signature already used: replayed request")

// Guard records signatures.
type Guard struct {
	kv jetstream.KeyValue
}

// Config is what Open needs.
type Config struct {
	JS       jetstream.JetStream
	Replicas int // JetStream replicas of the stream or bucket (1 on one server)
	// Window is how long a signature is remembered (at least the full width
	// of the accepted timestamp window).
	Window time.Duration
}

// Open creates the bucket; window is how long a signature is remembered
// (at least the full width of the accepted timestamp window).
func Open(ctx context.Context, cfg Config) (*Guard, error) {
	js, replicas := cfg.JS, cfg.Replicas
	window := cfg.Window
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Herald: signatures of recent signed requests (replay protection)",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		History:     1,
		TTL:         window,
	})
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", Bucket, err)
	}
	return &Guard{kv: kv}, nil
}

// Use records signature; it returns ErrReplay when it was recorded before.
// Creation is atomic, so two processes receiving the same request at once
// cannot both accept it.
func (g *Guard) Use(ctx context.Context, signature string) error {
	sum := sha256.Sum256([]byte(signature))
	_, err := g.kv.Create(ctx, hex.EncodeToString(sum[:]), []byte{1})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return ErrReplay
	default:
		return fmt.Errorf("record signature: %w", err)
	}
}
