package app

import (
	"context"
	"errors"
	"testing"

	"github.com/herald-alerts/herald/channels"
)

type waitRecorder struct {
	n   []int
	err error
}

func (w *waitRecorder) WaitN(_ context.Context, n int) error {
	w.n = append(w.n, n)
	return w.err
}

type sendRecorder struct{ sent []channels.Message }

func (s *sendRecorder) Send(_ context.Context, m channels.Message) (channels.Receipt, error) {
	s.sent = append(s.sent, m)
	return channels.Receipt{ProviderID: "SM1"}, nil
}

// TestRateLimitedEscalations: a text sent outside the dispatchers waits
// for its segments of the shared SMS rate, and is not sent (a retryable
// error) when the wait ends without them.
func TestRateLimitedEscalations(t *testing.T) {
	cost := func(m channels.Message) int { return len(m.Text) }
	t.Run("waits for its segments, then sends", func(t *testing.T) {
		lim, next := &waitRecorder{}, &sendRecorder{}
		r, err := rateLimited{Notifier: next, limit: lim, cost: cost}.Send(context.Background(), channels.Message{To: "+12065550100", Text: "abc"})
		if err != nil || r.ProviderID != "SM1" || len(next.sent) != 1 || len(lim.n) != 1 || lim.n[0] != 3 {
			t.Fatalf("receipt %+v, %v; waits %v, sent %d", r, err, lim.n, len(next.sent))
		}
	})
	t.Run("no rate, no send", func(t *testing.T) {
		lim, next := &waitRecorder{err: context.DeadlineExceeded}, &sendRecorder{}
		_, err := rateLimited{Notifier: next, limit: lim, cost: cost}.Send(context.Background(), channels.Message{Text: "a"})
		var ce *channels.Error
		if !errors.As(err, &ce) || ce.Permanent || !errors.Is(err, context.DeadlineExceeded) || len(next.sent) != 0 {
			t.Fatalf("err %v (want retryable, wrapping the wait's), sent %d", err, len(next.sent))
		}
	})
}
