package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// sign is Twilio's documented scheme, written independently of twilio-go:
// base64(HMAC-SHA1(token, URL + each POST param name+value sorted by name)).
func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		s += k + form.Get(k)
	}
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestVerifyCallback(t *testing.T) {
	const public = "https://alerts.example.org"
	form := url.Values{
		"MessageSid":    {"SM0123"},
		"MessageStatus": {"delivered"},
		"To":            {"+15551234567"},
		"AccountSid":    {testSID},
	}
	good := sign(testToken, public+"/v1/sms/status?alert=a1", form)
	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	tampered.Set("MessageStatus", "failed")

	tests := []struct {
		name      string
		path      string
		body      url.Values
		signature string
		token     string
		public    string
		want      error
	}{
		{"valid", "/v1/sms/status?alert=a1", form, good, testToken, public, nil},
		{"valid, public URL with trailing slash", "/v1/sms/status?alert=a1", form, good, testToken, public + "/", nil},
		{"tampered param", "/v1/sms/status?alert=a1", tampered, good, testToken, public, ErrBadSignature},
		{"wrong URL (path)", "/v1/sms/inbound?alert=a1", form, good, testToken, public, ErrBadSignature},
		{"wrong URL (host)", "/v1/sms/status?alert=a1", form, good, testToken, "https://evil.example", ErrBadSignature},
		{"wrong token", "/v1/sms/status?alert=a1", form, good, "0ther0ken", public, ErrBadSignature},
		{"missing header", "/v1/sms/status?alert=a1", form, "", testToken, public, ErrMissingSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.signature != "" {
				r.Header.Set(SignatureHeader, tc.signature)
			}
			err := VerifyCallback(r, tc.token, tc.public)
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyCallback = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "5551234567") {
				t.Errorf("error leaks the number: %v", err)
			}
			if tc.want == nil {
				// The handler can still read the form.
				if err := r.ParseForm(); err != nil || r.PostForm.Get("MessageSid") != "SM0123" {
					t.Errorf("form after verification: %v %v", r.PostForm, err)
				}
			}
		})
	}
}

func TestValidateRequest(t *testing.T) {
	const u = "https://alerts.example.org/v1/sms/inbound"
	params := map[string]string{"Body": "STOP", "From": "+15551234567"}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	sig := sign(testToken, u, form)
	if !ValidateRequest(testToken, u, params, sig) {
		t.Error("valid signature refused")
	}
	if !ValidateRequest(testToken, "https://alerts.example.org:443/v1/sms/inbound", params, sig) {
		t.Error("explicit default port refused")
	}
	params["Body"] = "START"
	if ValidateRequest(testToken, u, params, sig) {
		t.Error("tampered param accepted")
	}
	if ValidateRequest(testToken, u, nil, "") || ValidateRequest("", u, nil, sig) {
		t.Error("empty signature or token accepted")
	}
}
