package intake

import (
	"context"

	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/internal/audit"
	"github.com/herald-alerts/herald/internal/originators"
)

// SignIn checks a console sign-in: the challenge (body) signed for the
// session action by a registered originator, with a signature not used
// before. Whether the challenge is one the server issued is the session
// package's to say; intake answers who signed. Every attempt is audited.
func (s *Service) SignIn(ctx context.Context, challenge []byte, sig signing.Headers) (*originators.Originator, error) {
	o, err := s.signIn(ctx, challenge, sig)
	actor, detail := s.actorOf(sig.Key)
	entry := audit.Record{Kind: audit.KindSession, Actor: actor, Detail: detail, Outcome: audit.OutcomeAccepted}
	if err != nil {
		entry.Outcome, entry.Reason = audit.OutcomeRefused, KindOf(err).String()+": "+err.Error()
	}
	s.Record(ctx, entry)
	return o, err
}

func (s *Service) signIn(ctx context.Context, challenge []byte, sig signing.Headers) (*originators.Originator, error) {
	if _, err := signing.Verify(sig, signing.ActionSession, challenge, s.now()); err != nil {
		return nil, refuse(Unauthorized, "Bad signature", err, "%v", err)
	}
	o, ok := s.Originators.Current().ByKey(sig.Key)
	if !ok {
		return nil, refuse(Unauthorized, "Unknown key", nil, "key %s is not a registered originator", sig.Key)
	}
	if err := s.spend(ctx, sig); err != nil {
		return nil, err
	}
	return o, nil
}
