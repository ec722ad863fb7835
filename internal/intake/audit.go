package intake

import (
	"context"
	"errors"
	"regexp"

	"github.com/herald-alerts/herald/internal/audit"
)

// Auditor keeps the audit trail (package audit).
type Auditor interface {
	Append(ctx context.Context, r audit.Record) (audit.Record, error)
}

// numberish is what gets masked when the audit trail refuses a record for
// containing something that looks like a phone number (a refusal reason
// quoting an odd identifier, say): the event is still recorded.
var numberish = regexp.MustCompile(`\+?\d[\d\s().-]{6,}\d`)

// Record writes an audit record; a failure is logged, never returned: the
// event it describes has already happened.
func (s *Service) Record(ctx context.Context, r audit.Record) {
	if s.Audit == nil {
		return
	}
	_, err := s.Audit.Append(ctx, r)
	if errors.Is(err, audit.ErrPhoneNumber) {
		r.Reason = numberish.ReplaceAllString(r.Reason, "[number]")
		r.AlertID = numberish.ReplaceAllString(r.AlertID, "[number]")
		for k, v := range r.Detail {
			r.Detail[k] = numberish.ReplaceAllString(v, "[number]")
		}
		_, err = s.Audit.Append(ctx, r)
	}
	if err != nil {
		s.Logger.Error("audit record not written", "kind", r.Kind, "outcome", r.Outcome, "error", err)
	}
}

// actorOf names who sent a submission for the audit trail: the originator
// id, or "unknown" with a key prefix (never a whole key or a number).
func (s *Service) actorOf(key string) (string, map[string]string) {
	if o, ok := s.Originators.Current().ByKey(key); ok {
		return o.ID, nil
	}
	if len(key) > 8 {
		key = key[:8]
	}
	return "unknown", map[string]string{"key_prefix": key}
}
