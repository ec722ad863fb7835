package sms

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/twilio/twilio-go/client"
)

// SignatureHeader is the header Twilio signs its callbacks with.
const SignatureHeader = "X-Twilio-Signature"

// maxCallbackBody bounds the callback body VerifyCallback reads.
const maxCallbackBody = 64 << 10

var (
	// ErrMissingSignature: the request has no X-Twilio-Signature.
	ErrMissingSignature = errors.New("sms: missing " + SignatureHeader + " header")
	// ErrBadSignature: the signature does not match the URL and parameters.
	ErrBadSignature = errors.New("sms: " + SignatureHeader + " does not match")
)

// ValidateRequest reports whether signature is Twilio's signature of url
// (exactly as Twilio called it, query included) and params (the POST form
// parameters; nil for none), made with authToken. It is twilio-go's
// RequestValidator, which tolerates an explicit or omitted default port.
func ValidateRequest(authToken, url string, params map[string]string, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	rv := client.NewRequestValidator(authToken)
	return rv.Validate(url, params, signature)
}

// VerifyCallback checks the X-Twilio-Signature of a Twilio callback
// (form-encoded POST to /v1/sms/status or /v1/sms/inbound; a body signed
// with ?bodySHA256= is handled too). The signed URL is publicURL (Herald's
// http.public_url, e.g. "https://alerts.example.org") followed by the path
// and query the request arrived with, so call it before any prefix is
// stripped. It reads at most 64 KiB of body and puts the body back, so the
// handler can still call r.ParseForm. The error is ErrMissingSignature,
// ErrBadSignature or a read failure, and names no parameter values.
func VerifyCallback(r *http.Request, authToken, publicURL string) error {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return ErrMissingSignature
	}
	if authToken == "" {
		return errors.New("sms: cannot verify a Twilio callback without an auth token")
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxCallbackBody+1))
		_ = r.Body.Close()
		if err != nil {
			return fmt.Errorf("sms: reading Twilio callback body: %w", err)
		}
		if len(body) > maxCallbackBody {
			return errors.New("sms: Twilio callback body is too large")
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI()
	}
	full := strings.TrimRight(publicURL, "/") + uri
	rv := client.NewRequestValidator(authToken)
	if !rv.ValidateBody(full, body, sig) {
		return ErrBadSignature
	}
	return nil
}
