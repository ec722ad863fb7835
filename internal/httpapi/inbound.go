package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/paulmach/orb"

	"github.com/herald-alerts/herald/channels/phone"
	"github.com/herald-alerts/herald/internal/acks"
	"github.com/herald-alerts/herald/internal/keywords"
	"github.com/herald-alerts/herald/internal/replay"
	"github.com/herald-alerts/herald/internal/residents"
)

// Inbound is what POST /v1/sms/inbound needs.
type Inbound struct {
	Residents InboundResidents
	ZIPs      interface {
		Lookup(zip string) (orb.Point, bool)
	}
	Texts *keywords.Texts
	// Sender and Contact fill the replies' {sender} and {contact}.
	Sender, Contact string
	// Seen remembers MessageSids already applied (package replay); nil
	// applies every delivery.
	Seen interface {
		Use(ctx context.Context, key string) error
	}
	// Acks takes hospitals' duty officers' "ACK <code>"; nil answers that
	// no alert waits for one.
	Acks interface {
		Ack(ctx context.Context, from, code string) (acks.Record, error)
	}
}

// InboundResidents is what keyword handling needs of the resident store.
type InboundResidents interface {
	ByPhone(ctx context.Context, e164 string) (residents.Resident, error)
	Put(ctx context.Context, r residents.Resident) (residents.Resident, error)
	SetOptOut(ctx context.Context, id string, out bool) error
}

// smsInbound answers Twilio's inbound-message webhook: the keyword is
// applied at once (STOP in particular) and the reply goes back as TwiML.
func (s *Server) smsInbound(w http.ResponseWriter, r *http.Request) {
	if s.VerifyTwilio == nil || s.VerifyTwilio(r) != nil {
		writeProblem(w, http.StatusForbidden, "Bad Twilio signature", "X-Twilio-Signature does not match", nil)
		return
	}
	if s.Inbound == nil {
		writeProblem(w, http.StatusNotFound, "Inbound SMS not configured", "", nil)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeProblem(w, http.StatusBadRequest, "Invalid form", err.Error(), nil)
		return
	}
	from := r.PostForm.Get("From")
	if from == "" {
		writeProblem(w, http.StatusBadRequest, "Missing From", "", nil)
		return
	}
	// Twilio retries a message it thinks was not answered: apply each
	// MessageSid once, and answer a retry with no second reply.
	if sid := r.PostForm.Get("MessageSid"); sid != "" && s.Inbound.Seen != nil {
		switch err := s.Inbound.Seen.Use(r.Context(), "twilio-inbound:"+sid); {
		case errors.Is(err, replay.ErrReplay):
			w.Header().Set("Content-Type", keywords.TwiMLContentType)
			_, _ = w.Write(keywords.TwiML(""))
			return
		case err != nil:
			s.unavailable(w, err)
			return
		}
	}
	reply, err := s.Inbound.handle(r.Context(), from, keywords.Parse(r.PostForm.Get("Body")))
	if err != nil {
		// Twilio retries on 5xx; a STOP that failed to record must be.
		s.Logger.Error("inbound SMS not applied", "error", err)
		s.unavailable(w, err)
		return
	}
	w.Header().Set("Content-Type", keywords.TwiMLContentType)
	_, _ = w.Write(keywords.TwiML(reply))
}

// handle applies one command from the number from and returns the reply.
func (in *Inbound) handle(ctx context.Context, from string, cmd keywords.Command) (string, error) {
	if cmd.Kind == keywords.Ack {
		return in.ack(ctx, from, cmd)
	}
	known, err := in.Residents.ByPhone(ctx, from)
	// Replies are in the resident's language, else in the keyword's
	// (AYUDA is answered in Spanish), else English.
	lang := known.Language
	if lang == "" {
		lang = cmd.Lang
	}
	vars := map[string]string{"sender": in.Sender, "contact": in.Contact}
	say := func(id string) string { return in.Texts.Reply(lang, id, vars) }
	switch {
	case errors.Is(err, residents.ErrNotFound):
		known = residents.Resident{}
	case errors.Is(err, residents.ErrInvalidPhone), errors.Is(err, residents.ErrInvalid):
		// Not a number Herald could ever text (a short code, an
		// international number outside the plan): say who we are and
		// whom to contact, rather than fail and make Twilio retry.
		return say(keywords.MsgHelp), nil
	case err != nil:
		return "", err
	}

	switch cmd.Kind {
	case keywords.Stop:
		if known.ID != "" {
			if err := in.Residents.SetOptOut(ctx, known.ID, true); err != nil {
				return "", err
			}
		}
		return say(keywords.MsgStopped), nil
	case keywords.Help:
		return say(keywords.MsgHelp), nil
	case keywords.Lang:
		if known.ID == "" {
			return say(keywords.MsgJoinedNoZIP), nil
		}
		if !in.Texts.Has(cmd.Arg) {
			// Saying "language set" and then texting English would be a
			// lie: say which languages there are.
			vars["language"], vars["languages"] = cmd.Arg, strings.Join(in.Texts.Languages(), ", ")
			return say(keywords.MsgLangNoTexts), nil
		}
		known.Language = cmd.Arg
		if _, err := in.Residents.Put(ctx, known); err != nil {
			return "", err
		}
		lang, vars["language"] = cmd.Arg, cmd.Arg
		return say(keywords.MsgLangSet), nil
	case keywords.Join:
		if cmd.Arg == "" {
			// START (or JOIN) alone resubscribes a number Herald knows.
			if known.ID != "" && cmd.Problem == keywords.NoProblem {
				if err := in.Residents.SetOptOut(ctx, known.ID, false); err != nil {
					return "", err
				}
				return say(keywords.MsgStarted), nil
			}
			return say(keywords.MsgJoinedNoZIP), nil
		}
		vars["zip"] = cmd.Arg
		p, ok := in.ZIPs.Lookup(cmd.Arg)
		if !ok {
			return say(keywords.MsgUnknownZIP), nil
		}
		res := residents.Resident{Phone: from, Lat: p.Lat(), Lon: p.Lon(), Language: known.Language, Exercise: known.Exercise}
		saved, err := in.Residents.Put(ctx, res)
		if err != nil {
			if errors.Is(err, residents.ErrInvalid) {
				return "", nil
			}
			return "", err
		}
		if saved.OptedOut {
			if err := in.Residents.SetOptOut(ctx, saved.ID, false); err != nil {
				return "", err
			}
		}
		return say(keywords.MsgJoined), nil
	}
	return say(keywords.MsgUnknownCommand), nil
}

// ack records a duty officer's confirmation. Duty officers are hospital
// staff, not residents: nothing about residents is read or changed.
func (in *Inbound) ack(ctx context.Context, from string, cmd keywords.Command) (string, error) {
	vars := map[string]string{"sender": in.Sender}
	lang := cmd.Lang
	if cmd.Arg == "" || in.Acks == nil {
		return in.Texts.Reply(lang, keywords.MsgAckUnknown, vars), nil
	}
	e164, err := phone.Normalize(from, phone.DefaultRegion)
	if err != nil {
		return in.Texts.Reply(lang, keywords.MsgAckUnknown, vars), nil
	}
	rec, err := in.Acks.Ack(ctx, e164, cmd.Arg)
	if errors.Is(err, acks.ErrNotFound) {
		return in.Texts.Reply(lang, keywords.MsgAckUnknown, vars), nil
	}
	if err != nil {
		return "", err
	}
	vars["hospital"] = rec.Hospital
	return in.Texts.Reply(lang, keywords.MsgAckRecorded, vars), nil
}
