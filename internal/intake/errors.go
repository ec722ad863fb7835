package intake

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// Kind classifies why a submission was refused; transports map it to their
// own codes (HTTP status, NATS reply).
type Kind int

// Kinds of refusal.
const (
	Invalid      Kind = iota + 1 // 400: not valid CAP, or a bad area
	Unauthorized                 // 401: missing or bad signature, unknown key, stale
	Forbidden                    // 403: the originator may not send this alert
	NotFound                     // 404: a referenced alert does not exist
	Conflict                     // 409: duplicate identifier
	TooLarge                     // 413: body over the limit
	Unavailable                  // 503: storage not available; nothing was accepted
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unauthorized:
		return "unauthorized"
	case Forbidden:
		return "forbidden"
	case NotFound:
		return "not_found"
	case Conflict:
		return "duplicate"
	case TooLarge:
		return "too_large"
	case Unavailable:
		return "unavailable"
	}
	return "unknown"
}

// HTTPStatus is the HTTP status of a refusal of this kind; the NATS reply
// repeats it so clients of both transports branch the same way.
func (k Kind) HTTPStatus() int {
	switch k {
	case Invalid:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Error is a refused submission.
type Error struct {
	Kind     Kind
	Title    string
	Detail   string
	Problems cap.Problems
	Err      error
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Title + ": " + e.Detail
	}
	return e.Title
}

func (e *Error) Unwrap() error { return e.Err }

func refuse(kind Kind, title string, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Title: title, Err: err, Detail: fmt.Sprintf(format, args...)}
}

// KindOf returns the refusal kind of err, or 0 when err is not a refusal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
