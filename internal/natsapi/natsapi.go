// Package natsapi serves intake over NATS request/reply on
// herald.alerts.submit (see CONTRACT.md, "NATS subjects"): the same signed
// CAP and headers as HTTP, answered with JSON.
//
// It only translates NATS messages to intake calls and back.
package natsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/broadcaster/signing"
	"github.com/herald-alerts/herald/internal/intake"
)

// SubjectSubmit is where originators send signed alerts.
const SubjectSubmit = "herald.alerts.submit"

// queue makes several Herald processes share submissions, each handled once.
const queue = "herald-intake"

// Reply is the answer to a submission: {id, state} or {error, errors}.
// Code repeats the HTTP status the same refusal would have had.
type Reply struct {
	ID     string       `json:"id,omitempty"`
	State  string       `json:"state,omitempty"`
	Error  string       `json:"error,omitempty"`
	Errors cap.Problems `json:"errors,omitempty"`
	Code   int          `json:"code,omitempty"`
}

// Config is what Serve needs.
type Config struct {
	Conn   *nats.Conn
	Intake *intake.Service
	Logger *slog.Logger
}

// Serve subscribes to SubjectSubmit. Unsubscribe (or drain) the returned
// subscription to stop.
func Serve(cfg Config) (*nats.Subscription, error) {
	svc, logger := cfg.Intake, cfg.Logger
	sub, err := cfg.Conn.QueueSubscribe(SubjectSubmit, queue, func(m *nats.Msg) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var reply Reply
		var get signing.Getter = func(string) string { return "" }
		if m.Header != nil {
			get = m.Header.Get
		}
		rec, err := svc.Submit(ctx, intake.Submission{Body: m.Data, Signature: signing.FromGetter(get)})
		if err != nil {
			var e *intake.Error
			if errors.As(err, &e) {
				reply = Reply{Error: e.Error(), Errors: e.Problems, Code: e.Kind.HTTPStatus()}
			} else {
				reply = Reply{Error: "internal error", Code: 500}
			}
		} else {
			reply = Reply{ID: rec.ID, State: string(rec.State)}
		}
		b, _ := json.Marshal(reply)
		if m.Reply == "" {
			return
		}
		if err := m.Respond(b); err != nil {
			logger.Warn("reply to submission failed", "error", err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", SubjectSubmit, err)
	}
	return sub, nil
}
