// Package appendonly checks that an append-only JetStream stream (limits
// retention, no deletes, no limits that drop messages) still holds every
// message it was given. Herald's alert log and audit trail are such
// streams; a damaged or truncated file under the store loses messages
// without JetStream saying so, and this is how Herald notices.
//
// It reads stream state only; what the messages mean is the owning
// package's business.
package appendonly

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// LossError says which messages an append-only stream no longer holds.
type LossError struct {
	Stream      string
	First, Last uint64 // the sequence range the stream has seen
	Have        uint64 // messages it holds
}

func (e *LossError) Error() string {
	want := uint64(0)
	if e.Last > 0 {
		want = e.Last
	}
	return fmt.Sprintf("stream %s is damaged: it holds %d of the %d messages it was given (sequences 1..%d, first now %d); %d lost",
		e.Stream, e.Have, want, e.Last, e.First, want-min(e.Have, want))
}

// Intact returns a *LossError when s has lost messages: an append-only
// stream holds every sequence from 1 to its last.
func Intact(ctx context.Context, s jetstream.Stream) error {
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	st := info.State
	if st.LastSeq == 0 {
		return nil
	}
	if st.FirstSeq != 1 || st.Msgs != st.LastSeq || st.NumDeleted != 0 {
		return &LossError{Stream: info.Config.Name, First: st.FirstSeq, Last: st.LastSeq, Have: st.Msgs}
	}
	return nil
}
