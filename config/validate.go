package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/nats-io/nkeys"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// keyErrorf returns an error naming the configuration key (or variable) it is
// about, in the one format all of this package's errors share.
func keyErrorf(key, format string, args ...any) error {
	return fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...))
}

var (
	// regionPrefix keeps region ids NATS-subject-token safe.
	regionPrefix = regexp.MustCompile(`^[a-z0-9_-]+$`)
)

// capSeverities is CAP 1.2's <severity> enumeration, most severe first.
func capSeverities() []string {
	out := make([]string, 0, len(cap.Severities))
	for _, s := range slices.Backward(cap.Severities) {
		out = append(out, string(s))
	}
	return out
}

// Validate reports every invalid value, one error per key, joined. An empty
// HTTP.PublicURL or OriginatorsFile is accepted as "derive it", as Load does.
func (c *Config) Validate() error {
	var errs []error
	fail := func(key, format string, args ...any) {
		errs = append(errs, keyErrorf(key, format, args...))
	}
	oneOf := func(key, value string, allowed ...string) {
		if !slices.Contains(allowed, value) {
			quoted := make([]string, len(allowed))
			for i, a := range allowed {
				quoted[i] = strconv.Quote(a)
			}
			fail(key, "%q is not one of %s", value, strings.Join(quoted, ", "))
		}
	}
	hostPort := func(key, value string) {
		if err := checkHostPort(value); err != nil {
			fail(key, "%q is not host:port: %v", value, err)
		}
	}
	webURL := func(key, value string) {
		if err := checkWebURL(value); err != nil {
			fail(key, "%q is not an absolute http(s) URL: %v", value, err)
		}
	}

	if _, err := c.MemoryLimitBytes(); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		fail("data_dir", "must not be empty")
	}

	if c.NATS.URL != "" {
		for u := range strings.SplitSeq(c.NATS.URL, ",") {
			if err := checkNATSURL(strings.TrimSpace(u)); err != nil {
				fail("nats.url", "%q: %v", strings.TrimSpace(u), err)
			}
		}
	}
	if c.NATS.Listen != "" {
		hostPort("nats.listen", c.NATS.Listen)
	}
	if c.NATS.Replicas < 1 || c.NATS.Replicas > 5 {
		fail("nats.replicas", "%d is not between 1 and 5", c.NATS.Replicas)
	}

	hostPort("http.addr", c.HTTP.Addr)
	for key, n := range map[string]int{"sms.max_segments.gsm7": c.SMS.MaxSegments.GSM7, "sms.max_segments.ucs2": c.SMS.MaxSegments.UCS2} {
		if n < 1 || n > 10 {
			fail(key, "%d must be between 1 and 10", n)
		}
	}
	if c.HTTP.ClientRate < 0 {
		fail("http.client_rate", "%v must not be negative", c.HTTP.ClientRate)
	}
	if c.HTTP.ClientBurst < 1 {
		fail("http.client_burst", "%d must be at least 1", c.HTTP.ClientBurst)
	}
	if c.HTTP.PublicURL != "" {
		webURL("http.public_url", c.HTTP.PublicURL)
		if strings.HasSuffix(c.HTTP.PublicURL, "/") {
			fail("http.public_url", "%q must not end with /", c.HTTP.PublicURL)
		}
	}

	for i, r := range c.Regions {
		key := fmt.Sprintf("regions[%d]", i)
		if r.File == "" {
			fail(key+".file", "must not be empty")
		}
		if !regionPrefix.MatchString(r.Prefix) {
			fail(key+".prefix", "%q must be non-empty lowercase [a-z0-9_-]", r.Prefix)
		}
		oneOf(key+".geocode", r.Geocode, "", "fips", "ugc")
	}

	oneOf("sms.provider", c.SMS.Provider, "log", "twilio")
	if _, ok := SenderTypes[c.SMS.SenderType]; !ok {
		fail("sms.sender_type", "%q is not long_code, toll_free or short_code", c.SMS.SenderType)
	}
	if !(c.SMS.RatePerSecond >= 0) || math.IsInf(c.SMS.RatePerSecond, 0) { // also rejects NaN
		fail("sms.rate_per_second", "%v must be 0 (the sender type's preset) or more", c.SMS.RatePerSecond)
	}

	t := c.Twilio
	if t.AccountSID != "" && !strings.HasPrefix(t.AccountSID, "AC") {
		fail("twilio.account_sid", "must start with AC")
	}
	if t.MessagingServiceSID != "" && !strings.HasPrefix(t.MessagingServiceSID, "MG") {
		fail("twilio.messaging_service_sid", "must start with MG")
	}
	if c.SMS.Provider == "twilio" {
		if t.AccountSID == "" {
			fail("twilio.account_sid", "is required when sms.provider is twilio")
		}
		if t.AuthToken == "" {
			fail("twilio.auth_token", "is required when sms.provider is twilio")
		}
		if (t.From == "") == (t.MessagingServiceSID == "") {
			fail("twilio.from", "exactly one of twilio.from and twilio.messaging_service_sid is required when sms.provider is twilio")
		}
	}
	webURL("twilio.api_base_url", t.APIBaseURL)

	m := c.Social.Mastodon
	switch {
	case m.Server != "" && m.AccessToken == "":
		fail("social.mastodon.access_token", "is required when social.mastodon.server is set")
	case m.Server == "" && m.AccessToken != "":
		fail("social.mastodon.server", "is required when social.mastodon.access_token is set")
	case m.Server != "":
		webURL("social.mastodon.server", m.Server)
	}
	if t := c.Console.TileURL; t != "" {
		webURL("console.tile_url", strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0", "{s}", "a").Replace(t))
		if !strings.Contains(t, "{z}") || !strings.Contains(t, "{x}") || !strings.Contains(t, "{y}") {
			fail("console.tile_url", "%q must contain {z}, {x} and {y}", t)
		}
	}
	if c.Console.SessionTTL < time.Minute || c.Console.SessionTTL > 7*24*time.Hour {
		fail("console.session_ttl", "%v must be between 1m and 168h", c.Console.SessionTTL)
	}
	if c.Webhooks.RotationGrace < 0 {
		fail("webhooks.rotation_grace", "%v must not be negative", c.Webhooks.RotationGrace)
	}
	if c.Deliveries.Retention < 0 {
		fail("deliveries.retention", "%v must be 0 (keep forever) or more", c.Deliveries.Retention)
	} else if c.Deliveries.Retention > 0 && c.Deliveries.Retention < time.Hour {
		fail("deliveries.retention", "%v is shorter than an hour: a job still retrying could find no record and send again", c.Deliveries.Retention)
	}
	b := c.Social.Bluesky
	if b != (Bluesky{}) {
		for key, v := range map[string]string{"social.bluesky.server": b.Server, "social.bluesky.handle": b.Handle, "social.bluesky.app_password": b.AppPassword} {
			if v == "" {
				fail(key, "is required when a social.bluesky account is configured")
			}
		}
		if b.Server != "" {
			webURL("social.bluesky.server", b.Server)
		}
	}
	for _, l := range c.Social.Languages {
		if _, err := language.Parse(l); err != nil || l == "" {
			fail("social.languages", "%q is not a BCP 47 language tag", l)
		}
	}
	for _, tag := range c.Social.Hashtags {
		if tag == "" || strings.ContainsAny(tag, "# \t\r\n") {
			fail("social.hashtags", "%q must be a word without '#' or spaces", tag)
		}
	}

	for _, s := range c.Acks.RequiredFor.Severity {
		oneOf("acks.required_for.severity", s, capSeverities()...)
	}
	for _, h := range c.Acks.RequiredFor.HANTypes {
		if _, err := cap.ParseHANType(h); err != nil {
			fail("acks.required_for.han_types", "%v", err)
		}
	}
	if c.Acks.Timeout < time.Second {
		fail("acks.timeout", "%v must be at least 1s", c.Acks.Timeout)
	}
	for _, s := range c.Approval.RequiredFor.Severity {
		// CAP values are case-sensitive, so "extreme" is rejected rather
		// than never matching.
		oneOf("approval.required_for.severity", s, capSeverities()...)
	}
	if c.Approval.RequiredFor.MinRecipients < 0 {
		fail("approval.required_for.min_recipients", "%d must not be negative", c.Approval.RequiredFor.MinRecipients)
	}
	if !(c.Approval.RequiredFor.MinAreaKm2 >= 0) {
		fail("approval.required_for.min_area_km2", "%v must not be negative", c.Approval.RequiredFor.MinAreaKm2)
	}
	for name, r := range map[string]Retry{"sms": c.Retry.SMS, "webhook": c.Retry.Webhook, "social": c.Retry.Social} {
		key := "retry." + name
		if r.Base <= 0 {
			fail(key+".base", "%v must be positive", r.Base)
		}
		if r.Max < r.Base {
			fail(key+".max", "%v must be at least retry.%s.base (%v)", r.Max, name, r.Base)
		}
		if r.MaxAttempts < 1 {
			fail(key+".max_attempts", "%d must be at least 1", r.MaxAttempts)
		}
		if r.MaxAge <= 0 {
			fail(key+".max_age", "%v must be positive", r.MaxAge)
		}
	}
	seenUsers := map[string]bool{}
	for i, u := range c.NATS.Users {
		key := fmt.Sprintf("nats.users[%d]", i)
		switch {
		case u.Role != "hospital" && u.Role != "originator" && u.Role != "herald":
			fail(key+".role", "%q must be hospital, originator or herald", u.Role)
		case (u.User == "") == (u.Nkey == ""):
			fail(key, "give either user and password, or nkey")
		case u.User != "" && u.Password == "":
			fail(key+".password", "is required with user")
		case strings.ContainsAny(u.Password, "'\n"):
			// It is written into the server's configuration in single quotes.
			fail(key+".password", "must not contain a single quote or a newline")
		case u.Nkey != "" && !nkeys.IsValidPublicUserKey(u.Nkey):
			fail(key+".nkey", "is not an nkey user public key (U...)")
		}
		name := u.User + u.Nkey
		if seenUsers[name] && name != "" {
			fail(key, "duplicate user")
		}
		seenUsers[name] = true
	}
	if c.Webhooks.MaxInFlight < 1 {
		fail("webhooks.max_in_flight", "%d must be at least 1", c.Webhooks.MaxInFlight)
	}
	if c.Webhooks.BreakerThreshold < 1 {
		fail("webhooks.breaker_threshold", "%d must be at least 1", c.Webhooks.BreakerThreshold)
	}
	if c.Webhooks.BreakerCooldown <= 0 {
		fail("webhooks.breaker_cooldown", "%v must be positive", c.Webhooks.BreakerCooldown)
	}
	if c.Approval.Timeout <= 0 {
		fail("approval.timeout", "%v must be positive", c.Approval.Timeout)
	}

	if !(c.Jurisdiction.ToleranceM >= 0) {
		fail("jurisdiction.tolerance_m", "%v must not be negative", c.Jurisdiction.ToleranceM)
	}
	if c.Geo.MaxVertices < 4 { // a closed ring needs at least 4 positions
		fail("geo.max_vertices", "%d must be at least 4", c.Geo.MaxVertices)
	}

	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")

	return errors.Join(errs...)
}

// checkHostPort accepts what net.Listen accepts for TCP, but only numeric
// ports, so a typo is not resolved as a service name.
func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

func checkWebURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("scheme must be http or https")
	case u.Host == "":
		return errors.New("host missing")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("query and fragment not allowed")
	}
	return nil
}

func checkNATSURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme):
		return errors.New("scheme must be nats, tls, ws or wss")
	case u.Host == "":
		return errors.New("host missing")
	}
	return nil
}
