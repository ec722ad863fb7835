package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/internal/appendonly"
)

// clockSkew widens List's start time: a record's Time comes from the
// appending process's clock, the stream's start-time index from the
// server's, and a record must not be missed because the two disagree.
const clockSkew = time.Minute

// List returns up to limit records with Time >= since, oldest first
// (limit <= 0: all of them). Records appended while List runs are left out.
func (l *Log) List(ctx context.Context, since time.Time, limit int) ([]Record, error) {
	start := since.Add(-clockSkew)
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start}
	var out []Record
	err := scan(ctx, l.stream, cfg, func(seq uint64, body []byte) (bool, error) {
		var r Record
		if err := json.Unmarshal(body, &r); err != nil {
			return false, fmt.Errorf("decode audit record %d: %w", seq, err)
		}
		if !r.Time.Before(since) {
			out = append(out, r)
		}
		return limit <= 0 || len(out) < limit, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Intact reports an audit stream that lost messages (a damaged or
// truncated file): an *appendonly.LossError naming the stream. Verify
// would wait for the missing ones, so check this first.
func (l *Log) Intact(ctx context.Context) error { return appendonly.Intact(ctx, l.stream) }

// Verify reads the whole log in order and checks the chain: every record
// is in canonical form, its Hash matches its canonical bytes, its Seq is
// its stream sequence with no gaps, and its Prev is the previous record's
// Hash ("" for the first). It returns the number of records found good and,
// for the first record that is not, a *ChainError.
func (l *Log) Verify(ctx context.Context) (int, error) {
	return verifyStream(ctx, l.stream)
}

// verifyStream is Verify over any stream, so tests can check an altered copy
// (the real stream denies the deletes that altering it would need).
func verifyStream(ctx context.Context, s jetstream.Stream) (int, error) {
	n, prevSeq, prevHash := 0, uint64(0), ""
	err := scan(ctx, s, jetstream.OrderedConsumerConfig{}, func(seq uint64, body []byte) (bool, error) {
		hash, err := check(seq, body, prevSeq, prevHash)
		if err != nil {
			return false, err
		}
		n, prevSeq, prevHash = n+1, seq, hash
		return true, nil
	})
	return n, err
}

// check verifies one stored record against its predecessor (prevSeq 0: none)
// and returns its hash.
func check(seq uint64, body []byte, prevSeq uint64, prevHash string) (string, error) {
	broken := func(format string, args ...any) (string, error) {
		return "", &ChainError{Seq: seq, Reason: fmt.Sprintf(format, args...)}
	}
	var r Record
	if err := json.Unmarshal(body, &r); err != nil {
		return broken("not an audit record: %v", err)
	}
	stored := r.Hash
	// Re-encoding must give back the stored bytes exactly; otherwise the
	// body-level check of the package documentation and this one could
	// disagree about the same record.
	body2, err := seal(&r)
	if err != nil {
		return broken("%v", err)
	}
	switch {
	case r.Hash != stored:
		return broken("hash %.12s… does not match the record's contents (%.12s…)", stored, r.Hash)
	case !bytes.Equal(body, body2):
		return broken("stored bytes are not the record's canonical JSON")
	case r.Seq != seq:
		return broken("record says seq %d", r.Seq)
	case prevSeq != 0 && seq != prevSeq+1:
		return broken("records %d to %d are missing", prevSeq+1, seq-1)
	case r.Prev != prevHash && prevSeq == 0:
		return broken("first record in the stream has prev %.12s…; earlier records are missing", r.Prev)
	case r.Prev != prevHash:
		return broken("prev %.12s… is not the hash of record %d (%.12s…)", r.Prev, prevSeq, prevHash)
	}
	return r.Hash, nil
}

// scan calls fn with each message the ordered consumer cfg delivers, in
// stream order, up to the stream's last message when scan starts, or until
// fn returns false or an error.
func scan(ctx context.Context, s jetstream.Stream, cfg jetstream.OrderedConsumerConfig, fn func(seq uint64, body []byte) (bool, error)) error {
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("read stream info: %w", err)
	}
	last := info.State.LastSeq
	// A consumer with nothing to deliver would wait for new messages forever.
	if info.State.Msgs == 0 || (cfg.OptStartTime != nil && info.State.LastTime.Before(*cfg.OptStartTime)) {
		return nil
	}
	cons, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("create consumer on %s: %w", info.Config.Name, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("read %s: %w", info.Config.Name, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("read %s: %w", info.Config.Name, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: %w", info.Config.Name, err)
		}
		seq := meta.Sequence.Stream
		more, err := fn(seq, msg.Data())
		if err != nil || !more || seq >= last {
			return err
		}
	}
}
