// Package sms sends text messages to residents' phones.
//
// Twilio sends one message through Twilio's Messages API with the official
// twilio-go client; it also works with Twilio-compatible gateways and with a
// local fake in tests (Config.BaseURL). Log is the `sms.provider: log`
// stand-in that only logs what would be sent. VerifyCallback and
// ValidateRequest check the X-Twilio-Signature of Twilio's status and
// inbound-message callbacks.
//
// What it does not do: render text (it sends channels.Message.Text as is),
// check opt-outs (the dispatcher does, before every send), retry, wait for
// Retry-After or rate-limit (the dispatcher does, from the classified error),
// or parse callbacks beyond checking their signature. Phone numbers and
// credentials never appear in its errors or logs; Twilio's own error
// message, which may quote the number, is dropped.
package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twilio/twilio-go/client"
	twilioapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/channels/internal/httpx"
)

// DefaultBaseURL is Twilio's REST API.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout bounds one Send when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config configures the Twilio adapter (config keys twilio.*).
type Config struct {
	// AccountSID and AuthToken authenticate to the API (HTTP basic auth).
	AccountSID string
	AuthToken  string
	// From is the sender number, MessagingServiceSID a Messaging Service
	// ("MG..."); at least one is required. When both are set both are sent,
	// and Twilio requires From to be in the service's sender pool.
	From                string
	MessagingServiceSID string
	// BaseURL replaces scheme, host (and path prefix) of every API request:
	// a Twilio-compatible gateway or a test fake. Empty means DefaultBaseURL.
	BaseURL string
	// StatusCallback, when set, is the absolute URL Twilio posts delivery
	// status updates to (Herald's /v1/sms/status); each message's own
	// callback carries its Key (CallbackURL), so the report finds its
	// delivery without an index of provider ids.
	StatusCallback string
	// Timeout bounds one Send; zero means DefaultTimeout.
	Timeout time.Duration
}

// Twilio sends SMS through Twilio's Messages API. It is safe for concurrent
// use.
type Twilio struct {
	cfg       Config
	base      *url.URL
	transport http.RoundTripper
}

var _ channels.Notifier = (*Twilio)(nil)

var alnum = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// CallbackKey is the query parameter of a status callback URL that
// names the message's delivery. Twilio signs the whole URL, so it cannot
// be changed on the way back.
const CallbackKey = "d"

// CallbackURL is base with the delivery key added (base alone when the
// message has no key).
func CallbackURL(base, key string) string {
	if key == "" {
		return base
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + CallbackKey + "=" + url.QueryEscape(key)
}

// New checks cfg and returns the adapter. It does not contact Twilio.
func New(cfg Config) (*Twilio, error) {
	// twilio-go refuses non-alphanumeric credentials at send time; say so now.
	if !alnum.MatchString(cfg.AccountSID) {
		return nil, errors.New("sms: twilio account SID is missing or not alphanumeric")
	}
	if !alnum.MatchString(cfg.AuthToken) {
		return nil, errors.New("sms: twilio auth token is missing or not alphanumeric")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		return nil, errors.New("sms: twilio needs a From number or a Messaging Service SID")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" ||
		base.RawQuery != "" || base.Fragment != "" {
		return nil, errors.New("sms: twilio base URL must be an http(s) URL with a host and no query")
	}
	base.Path = strings.TrimRight(base.Path, "/")
	base.RawPath = ""
	if cfg.StatusCallback != "" {
		u, err := url.Parse(cfg.StatusCallback)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errors.New("sms: twilio status callback must be an absolute http(s) URL")
		}
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("sms: twilio timeout must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Twilio{
		cfg:       cfg,
		base:      base,
		transport: keepAlive(),
	}, nil
}

// Send sends m.Text to m.To (E.164) and returns the message SID. Errors are
// classified: Twilio errors 21610 (recipient unsubscribed), 21211 (invalid
// To), 21614 (To is not a mobile number) and every other 4xx answer are
// permanent, with Twilio's error code as Code; 408, 429 and 5xx answers,
// timeouts and network failures are retryable, with Twilio's Retry-After.
func (t *Twilio) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	if m.To == "" {
		return channels.Receipt{}, channels.Permanent("invalid message", errors.New("sms: message has no recipient"))
	}
	if m.Text == "" {
		return channels.Receipt{}, channels.Permanent("invalid message", errors.New("sms: message has no text"))
	}

	// twilio-go takes no context: one client per call, whose transport
	// carries ctx and records what came back.
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	rt := &callTransport{base: t.transport, ctx: ctx, target: t.base}
	defer rt.close()
	c := &client.Client{
		Credentials: client.NewCredentials(t.cfg.AccountSID, t.cfg.AuthToken),
		HTTPClient: &http.Client{
			Transport: rt,
			Timeout:   t.cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	c.SetAccountSid(t.cfg.AccountSID)
	handler := client.NewRequestHandler(c)
	handler.Edge, handler.Region = "", "" // configuration comes from Config, not TWILIO_* env
	api := twilioapi.NewApiService(handler)

	params := &twilioapi.CreateMessageParams{}
	params.SetTo(m.To)
	params.SetBody(m.Text)
	if t.cfg.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(t.cfg.MessagingServiceSID)
	}
	if t.cfg.From != "" {
		params.SetFrom(t.cfg.From)
	}
	if t.cfg.StatusCallback != "" {
		params.SetStatusCallback(CallbackURL(t.cfg.StatusCallback, m.Key))
	}

	msg, err := api.CreateMessage(params)
	if err != nil {
		status, retryAfter := rt.result()
		var tre *client.TwilioRestError
		if !errors.As(err, &tre) && status >= 200 && status < 300 {
			// Twilio accepted the message but its answer was unreadable:
			// retrying would send it twice.
			return channels.Receipt{}, nil
		}
		return channels.Receipt{}, classify(ctx, err, status, retryAfter)
	}
	var r channels.Receipt
	if msg != nil && msg.Sid != nil {
		r.ProviderID = *msg.Sid
	}
	return r, nil
}

// Twilio error codes that are permanent whatever the HTTP status says.
var permanentCodes = map[int]string{
	codeOptedOut: "recipient has unsubscribed (replied STOP)",
	21211:        "invalid 'To' number",
	21614:        "'To' is not a mobile number",
}

// APIError is an error answer from the Twilio API, without Twilio's message
// text (which can quote the phone number).
type APIError struct {
	Status   int    // HTTP status
	Code     int    // Twilio error code, 0 when none was given
	MoreInfo string // Twilio's documentation link for Code
}

// Is lets errors.Is(err, channels.ErrOptedOut) recognise Twilio's 21610.
func (e *APIError) Is(target error) bool {
	return target == channels.ErrOptedOut && e.Code == codeOptedOut
}

// codeOptedOut is Twilio's "recipient has unsubscribed" (the number sent
// STOP to the carrier).
const codeOptedOut = 21610

// CallbackError is the error a status callback's ErrorCode stands for (nil
// for none), so that callers branch with errors.Is rather than on codes.
func CallbackError(code string) error {
	if code == "" {
		return nil
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		return fmt.Errorf("sms: twilio error %q", code)
	}
	return &APIError{Code: n}
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sms: twilio answered http %d", e.Status)
	if e.Code != 0 {
		fmt.Fprintf(&b, ", error %d", e.Code)
		if what, ok := permanentCodes[e.Code]; ok {
			fmt.Fprintf(&b, " (%s)", what)
		}
	}
	if e.MoreInfo != "" {
		fmt.Fprintf(&b, "; see %s", e.MoreInfo)
	}
	return b.String()
}

func classify(ctx context.Context, err error, status int, retryAfter time.Duration) error {
	var tre *client.TwilioRestError
	if errors.As(err, &tre) {
		if status == 0 {
			status = tre.Status // an error twilio-go raised before sending
		}
		apiErr := &APIError{Status: status, Code: tre.Code, MoreInfo: tre.MoreInfo}
		code := httpx.StatusCode(status)
		if tre.Code != 0 {
			code = strconv.Itoa(tre.Code)
		}
		if _, ok := permanentCodes[tre.Code]; ok || !httpx.Retryable(status) {
			return channels.Permanent(code, apiErr)
		}
		return channels.Retryable(code, retryAfter, apiErr)
	}
	if status != 0 {
		// An answer twilio-go could not decode (a proxy's HTML page, or a
		// 3xx, which is not followed).
		return httpx.StatusError(status, retryAfter,
			fmt.Errorf("sms: twilio answered http %d with an unexpected body", status))
	}
	return httpx.TransportError(ctx, "sms: twilio request", err)
}

// callTransport serves one Send: it points requests at the base URL, binds
// them to the call's context and records the last response's status and
// Retry-After, which twilio-go does not expose.
type callTransport struct {
	base   http.RoundTripper
	ctx    context.Context
	target *url.URL

	mu         sync.Mutex
	status     int
	retryAfter time.Duration
	bodies     []io.ReadCloser
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	r.URL.Scheme = t.target.Scheme
	r.URL.Host = t.target.Host
	if t.target.Path != "" {
		r.URL.Path = t.target.Path + r.URL.Path
		r.URL.RawPath = ""
	}
	r.Host = ""
	resp, err := t.base.RoundTrip(r)
	if resp != nil {
		t.mu.Lock()
		t.status = resp.StatusCode
		t.retryAfter = httpx.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		t.bodies = append(t.bodies, resp.Body)
		t.mu.Unlock()
	}
	return resp, err
}

func (t *callTransport) result() (int, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status, t.retryAfter
}

// close closes the response bodies: twilio-go leaves them open on errors.
func (t *callTransport) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range t.bodies {
		_, _ = io.Copy(io.Discard, io.LimitReader(b, httpx.MaxBody)) // keep the connection reusable
		_ = b.Close()
	}
	t.bodies = nil
}

// keepAlive is the default transport with room to keep a connection per
// concurrent sender: the default keeps 2 idle per host, so a dispatcher's
// workers would open (and TLS-handshake) a new connection for most sends.
func keepAlive() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 128
	t.MaxIdleConnsPerHost = 64
	return t
}
