// Package channels defines the one small interface every delivery adapter
// implements, and the error classes a dispatcher branches on.
//
// An adapter only sends one message and says whether a failure is permanent
// or worth retrying (optionally after a delay the provider asked for).
// Retries, rate limits, idempotency, metrics and logging are not here: they
// live once, in the dispatcher. Rendering text from an alert is not here
// either: adapters receive a ready Message.
package channels

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Channel names a delivery channel: the subject of its jobs, the key of
// its configuration and the label of its metrics.
type Channel string

// The channels Herald delivers on.
const (
	SMS     Channel = "sms"
	Webhook Channel = "webhook"
	Social  Channel = "social"
)

// All lists every channel, in reporting order.
var All = []Channel{SMS, Webhook, Social}

// Failures a caller acts on beyond not retrying. Adapters wrap them (with
// errors.Is) in their permanent errors.
var (
	// ErrOptedOut: the recipient told the provider to stop (Twilio 21610,
	// a STOP sent to the carrier); Herald marks the resident opted out.
	ErrOptedOut = errors.New("recipient opted out at the provider")
	// ErrGone: the destination asked to be unsubscribed (HTTP 410 Gone);
	// Herald disables the subscription.
	ErrGone = errors.New("destination is gone")
)

// Message is one delivery to one recipient on one channel.
type Message struct {
	// Key identifies this delivery and is stable across retries. Adapters
	// hand it to the provider as an idempotency key where the provider has
	// one (webhook-id, Mastodon Idempotency-Key).
	Key string
	// To is the address: an E.164 phone number (sms), a URL (webhook), or
	// the name of the social account (a Router picks the adapter by it).
	To string
	// Text is the rendered human-readable text (SMS body, social status).
	Text string
	// Body is a structured payload (the webhook JSON).
	Body []byte
	// Secret signs Body (webhook signing secret, "whsec_...").
	Secret string
	// PreviousSecret, during a rotation's grace period, signs Body too: the
	// receiver may verify with either.
	PreviousSecret string
	// ReplyTo is the provider id of an earlier message this one follows
	// (a social reply that threads an Update under the original post).
	ReplyTo string
	// Thread is a social message's posts, one per language, posted in
	// order: the first under ReplyTo (if any), the others as replies to
	// the first, so they read as one thread. The Receipt's ProviderID is
	// the first post's.
	Thread []Post
	// Created is a stable time for the message (the alert's sent time):
	// adapters that derive idempotency keys or record keys from time use
	// it, so a retry writes the same thing.
	Created time.Time
	// Segments is how many message segments a carrier counts for Text (an
	// SMS), when the composer knows; 0 when not counted.
	Segments int
}

// Post is one social post. Only its Link and its Tags (as written in Text,
// with the "#") may be made active (a link facet, a hashtag facet); the
// rest of the text is plain, whatever it looks like.
type Post struct {
	Text string
	Lang string // BCP 47 language tag
	Link string
	Tags []string
}

// Receipt is what the provider said when it accepted a message.
type Receipt struct {
	// ProviderID is the provider's id of the accepted message (Twilio
	// message SID, Mastodon status id); empty when the provider gives none.
	ProviderID string
	// Delivered is true when the recipient itself confirmed receipt (a
	// webhook endpoint answered 2xx): the delivery is recorded as
	// delivered, not sent.
	Delivered bool
	// Logged is true when nothing was sent: the adapter only wrote the
	// message to the log (a development set-up). The delivery is then
	// recorded as logged, never as sent.
	Logged bool
}

// Notifier sends one message through one provider.
type Notifier interface {
	Send(ctx context.Context, m Message) (Receipt, error)
}

// Error is a failed send, classified for the dispatcher.
type Error struct {
	// Permanent failures are not retried (invalid number, 4xx, opted out).
	Permanent bool
	// RetryAfter is the delay the provider asked for, zero when it gave none.
	RetryAfter time.Duration
	// Code is the provider's error code or HTTP status, for reports and
	// metrics ("21610", "http 503", "timeout").
	Code string
	Err  error
}

func (e *Error) Error() string {
	kind := "retryable"
	if e.Permanent {
		kind = "permanent"
	}
	if e.Code != "" {
		return fmt.Sprintf("%s failure (%s): %v", kind, e.Code, e.Err)
	}
	return fmt.Sprintf("%s failure: %v", kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(code string, err error) error {
	return &Error{Permanent: true, Code: code, Err: err}
}

// Retryable marks err as transient; after is the provider's requested delay
// (zero for none).
func Retryable(code string, after time.Duration, err error) error {
	return &Error{RetryAfter: after, Code: code, Err: err}
}

// Classify tells how the dispatcher should treat err. Errors that were not
// classified by an adapter are retryable: losing an alert is worse than a
// wasted attempt.
func Classify(err error) (permanent bool, retryAfter time.Duration, code string) {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Permanent, ce.RetryAfter, ce.Code
	}
	return false, 0, ""
}
