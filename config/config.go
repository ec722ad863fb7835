// Package config loads, validates and prints Herald's configuration. It is the
// only package that uses viper; the rest of Herald receives a typed *Config.
//
// Every key, its default and its meaning are listed in the Configuration table
// of CONTRACT.md and in the keys table below, which is the single source of the
// defaults, the flags (BindFlags) and the set of known keys. Values are taken,
// lowest precedence first, from:
//
//  1. the built-in defaults;
//  2. the YAML file given to Load (the CLI's --config FILE);
//  3. environment variables HERALD_<KEY>, the key upper-cased with "." turned
//     into "_" (nats.url is HERALD_NATS_URL). Lists are comma-separated
//     (HERALD_SOCIAL_HASHTAGS=HealthAlert,PublicHealth) except HERALD_REGIONS,
//     which holds a YAML flow list such as [{file: a.geojson, prefix: a-}].
//     A variable that is set but empty counts as set, so HERALD_NATS_LISTEN=""
//     turns the embedded server's listener off;
//  4. flags registered by BindFlags that the user actually set.
//
// Start-up must fail loudly rather than run an emergency broadcaster on a
// silently ignored setting, so Load rejects any key it does not know, in the
// file at any depth or as a HERALD_* variable, and every invalid value; it
// reports all problems at once, one line per key. HERALD_SERVER and
// HERALD_ADMIN_TOKEN are exempt: they configure the CLI's client commands, not
// the server, and are read by those commands directly.
//
// The package does not watch the file or reload; it reads nothing but the
// file it is given (the originators file, the regions' GeoJSON and the data
// directory are only named here and opened by their users).
package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// Config is Herald's effective configuration. Load and Default resolve it:
// HTTP.PublicURL and OriginatorsFile are never empty afterwards.
type Config struct {
	DataDir         string         `mapstructure:"data_dir" yaml:"data_dir"`
	MemoryLimit     string         `mapstructure:"memory_limit" yaml:"memory_limit"`
	NATS            NATS           `mapstructure:"nats" yaml:"nats"`
	HTTP            HTTP           `mapstructure:"http" yaml:"http"`
	Regions         []RegionSource `mapstructure:"regions" yaml:"regions"`
	OriginatorsFile string         `mapstructure:"originators_file" yaml:"originators_file"`
	SMS             SMS            `mapstructure:"sms" yaml:"sms"`
	Twilio          Twilio         `mapstructure:"twilio" yaml:"twilio"`
	Webhooks        Webhooks       `mapstructure:"webhooks" yaml:"webhooks"`
	Deliveries      Deliveries     `mapstructure:"deliveries" yaml:"deliveries"`
	Social          Social         `mapstructure:"social" yaml:"social"`
	Approval        Approval       `mapstructure:"approval" yaml:"approval"`
	Console         Console        `mapstructure:"console" yaml:"console"`
	Acks            Acks           `mapstructure:"acks" yaml:"acks"`
	Jurisdiction    Jurisdiction   `mapstructure:"jurisdiction" yaml:"jurisdiction"`
	Geo             Geo            `mapstructure:"geo" yaml:"geo"`
	Log             Log            `mapstructure:"log" yaml:"log"`
	Retry           Retries        `mapstructure:"retry" yaml:"retry"`
}

// NATS selects an embedded server (URL empty) or an external one.
type NATS struct {
	URL          string `mapstructure:"url" yaml:"url"`
	Listen       string `mapstructure:"listen" yaml:"listen"`
	Creds        string `mapstructure:"creds" yaml:"creds"`
	User         string `mapstructure:"user" yaml:"user"`
	Password     string `mapstructure:"password" yaml:"password"`
	NkeySeedFile string `mapstructure:"nkey_seed_file" yaml:"nkey_seed_file"`
	// Users may connect to the embedded server when it listens on TCP
	// (nobody else can: it always requires authentication there).
	Users    []NATSUser `mapstructure:"users" yaml:"users"`
	Replicas int        `mapstructure:"replicas" yaml:"replicas"`
}

// NATSUser is an account on the embedded NATS server. Role hospital may
// only read the regional feeds (live and replay); originator may only
// submit alerts; herald is another Herald process (everything).
type NATSUser struct {
	User     string `mapstructure:"user" yaml:"user"`
	Password string `mapstructure:"password" yaml:"password"` // plain or bcrypt ($2a$...)
	Nkey     string `mapstructure:"nkey" yaml:"nkey"`         // a user public key (U...) instead of user/password
	Role     string `mapstructure:"role" yaml:"role"`
}

// HTTP configures the API server.
type HTTP struct {
	Addr       string `mapstructure:"addr" yaml:"addr"`
	AdminToken string `mapstructure:"admin_token" yaml:"admin_token"`
	PublicURL  string `mapstructure:"public_url" yaml:"public_url"`
	// ClientRate and ClientBurst limit signed endpoints per client address.
	ClientRate  float64 `mapstructure:"client_rate" yaml:"client_rate"`
	ClientBurst int     `mapstructure:"client_burst" yaml:"client_burst"`
}

// RegionSource is one GeoJSON file of regions; a region's id is Prefix plus
// the feature's IDProperty.
type RegionSource struct {
	File         string `mapstructure:"file" yaml:"file"`
	IDProperty   string `mapstructure:"id_property" yaml:"id_property"`
	NameProperty string `mapstructure:"name_property" yaml:"name_property"`
	Prefix       string `mapstructure:"prefix" yaml:"prefix"`
	Geocode      string `mapstructure:"geocode" yaml:"geocode"` // "", "fips" or "ugc"
}

// SMS selects the SMS provider and the global send rate.
type SMS struct {
	Provider string `mapstructure:"provider" yaml:"provider"`
	// SenderType picks the carriers' throughput preset (SenderTypes).
	SenderType string `mapstructure:"sender_type" yaml:"sender_type"`
	// RatePerSecond is message segments per second, as carriers count
	// them, for all Herald processes together; 0 takes SenderType's
	// preset.
	RatePerSecond float64 `mapstructure:"rate_per_second" yaml:"rate_per_second"`
	SenderName    string  `mapstructure:"sender_name" yaml:"sender_name"`
	HelpContact   string  `mapstructure:"help_contact" yaml:"help_contact"`
	// MaxSegments is the length budget of one SMS, per encoding.
	MaxSegments Segments `mapstructure:"max_segments" yaml:"max_segments"`
}

// SenderTypes are the carriers' default throughputs, in message segments
// per second per sender (a number, or a Twilio Messaging Service), as
// Twilio documents them for US traffic: a 10DLC long code is allowed about
// one segment a second without a registered higher tier, a verified
// toll-free number three, a short code one hundred. A carrier that grants
// more is configured with sms.rate_per_second.
var SenderTypes = map[string]float64{"long_code": 1, "toll_free": 3, "short_code": 100}

// SegmentRate is the SMS send rate in segments per second.
func (s SMS) SegmentRate() float64 {
	if s.RatePerSecond > 0 {
		return s.RatePerSecond
	}
	return SenderTypes[s.SenderType]
}

// Segments is a budget in SMS segments for each encoding.
type Segments struct {
	GSM7 int `mapstructure:"gsm7" yaml:"gsm7"`
	UCS2 int `mapstructure:"ucs2" yaml:"ucs2"`
}

// Twilio holds the Twilio account used when SMS.Provider is "twilio".
type Twilio struct {
	AccountSID          string `mapstructure:"account_sid" yaml:"account_sid"`
	AuthToken           string `mapstructure:"auth_token" yaml:"auth_token"`
	From                string `mapstructure:"from" yaml:"from"`
	MessagingServiceSID string `mapstructure:"messaging_service_sid" yaml:"messaging_service_sid"`
	APIBaseURL          string `mapstructure:"api_base_url" yaml:"api_base_url"`
}

// Webhooks configures hospital webhook delivery.
type Webhooks struct {
	AllowPrivateAddresses bool `mapstructure:"allow_private_addresses" yaml:"allow_private_addresses"`
	// MaxInFlight bounds concurrent posts to one host, so one slow hospital
	// cannot hold every webhook worker.
	MaxInFlight int `mapstructure:"max_in_flight" yaml:"max_in_flight"`
	// BreakerThreshold consecutive transient failures stop posts to a host
	// for BreakerCooldown (doubling while it stays down, up to 10m).
	BreakerThreshold int           `mapstructure:"breaker_threshold" yaml:"breaker_threshold"`
	BreakerCooldown  time.Duration `mapstructure:"breaker_cooldown" yaml:"breaker_cooldown"`
	// RotationGrace is how long a rotated secret keeps signing.
	RotationGrace time.Duration `mapstructure:"rotation_grace" yaml:"rotation_grace"`
}

// Console configures the officer console served at /console.
type Console struct {
	// TileURL is a base-map tile URL template ({z}/{x}/{y}); empty draws
	// region outlines only, so the console needs no other origin.
	TileURL string `mapstructure:"tile_url" yaml:"tile_url"`
	// TileAttribution is shown under the map when tiles are drawn.
	TileAttribution string `mapstructure:"tile_attribution" yaml:"tile_attribution"`
	// SessionTTL is how long a console sign-in lasts.
	SessionTTL time.Duration `mapstructure:"session_ttl" yaml:"session_ttl"`
}

// Social configures social-media posting.
type Social struct {
	Mastodon Mastodon `mapstructure:"mastodon" yaml:"mastodon"`
	Bluesky  Bluesky  `mapstructure:"bluesky" yaml:"bluesky"`
	Hashtags []string `mapstructure:"hashtags" yaml:"hashtags"`
	// Languages are the alert languages posted (each its own post, the
	// later ones replies to the first); empty posts every language.
	Languages []string `mapstructure:"languages" yaml:"languages"`
}

// Deliveries says how long delivery records are kept.
type Deliveries struct {
	Retention time.Duration `mapstructure:"retention" yaml:"retention"`
}

// Bluesky is a Bluesky (AT Protocol) account; empty means off.
type Bluesky struct {
	Server      string `mapstructure:"server" yaml:"server"`
	Handle      string `mapstructure:"handle" yaml:"handle"`
	AppPassword string `mapstructure:"app_password" yaml:"app_password"`
}

// Mastodon is a Mastodon (or API-compatible) account; empty means off.
type Mastodon struct {
	Server      string `mapstructure:"server" yaml:"server"`
	AccessToken string `mapstructure:"access_token" yaml:"access_token"`
}

// Acks says which alerts ask hospitals to confirm receipt, and how long
// each escalation tier has to answer.
type Acks struct {
	RequiredFor AckRule       `mapstructure:"required_for" yaml:"required_for"`
	Timeout     time.Duration `mapstructure:"timeout" yaml:"timeout"`
}

// AckRule lists the severities and CDC HAN types that require
// acknowledgement (an alert's AckRequired parameter overrides them).
type AckRule struct {
	Severity []string `mapstructure:"severity" yaml:"severity"`
	HANTypes []string `mapstructure:"han_types" yaml:"han_types"`
}

// Approval says which Actual alerts wait for a second officer.
type Approval struct {
	RequiredFor ApprovalRule  `mapstructure:"required_for" yaml:"required_for"`
	Timeout     time.Duration `mapstructure:"timeout" yaml:"timeout"`
}

// ApprovalRule holds the triggers for approval; any one of them suffices, and
// zero turns a numeric trigger off.
type ApprovalRule struct {
	Severity      []string `mapstructure:"severity" yaml:"severity"`
	MinRecipients int      `mapstructure:"min_recipients" yaml:"min_recipients"`
	MinAreaKm2    float64  `mapstructure:"min_area_km2" yaml:"min_area_km2"`
}

// Jurisdiction tunes the originator jurisdiction check.
type Jurisdiction struct {
	ToleranceM float64 `mapstructure:"tolerance_m" yaml:"tolerance_m"`
}

// Geo bounds geometry work.
type Geo struct {
	MaxVertices int `mapstructure:"max_vertices" yaml:"max_vertices"`
}

// Retries is the retry policy of each channel.
type Retries struct {
	SMS     Retry `mapstructure:"sms" yaml:"sms"`
	Webhook Retry `mapstructure:"webhook" yaml:"webhook"`
	Social  Retry `mapstructure:"social" yaml:"social"`
}

// Retry is one channel's policy: exponential backoff from Base to Max with
// jitter, a provider's Retry-After honoured, and no retry past MaxAttempts,
// MaxAge or the alert's expiry.
type Retry struct {
	Base        time.Duration `mapstructure:"base" yaml:"base"`
	Max         time.Duration `mapstructure:"max" yaml:"max"`
	MaxAttempts int           `mapstructure:"max_attempts" yaml:"max_attempts"`
	MaxAge      time.Duration `mapstructure:"max_age" yaml:"max_age"`
}

// Log configures the process logger.
type Log struct {
	Level  string `mapstructure:"level" yaml:"level"`
	Format string `mapstructure:"format" yaml:"format"`
}

// keys is every configuration key with its default and its flag's help. Viper
// ignores the environment for keys it has no default for, so every leaf key
// must be here, and nothing else may be: this list is also what "unknown key"
// is checked against.
var keys = []setting{
	{"data_dir", "./herald-data", "directory for the embedded NATS JetStream store and other state"},
	{"memory_limit", "", "soft limit of the process's memory, e.g. 1200MiB or 2GiB (empty: GOMEMLIMIT, else none); the Go collector works harder near it rather than grow past it"},
	{"nats.url", "", "comma-separated NATS URLs to connect to (empty: run an embedded server)"},
	{"nats.listen", "127.0.0.1:4222", `host:port the embedded NATS server listens on ("" = in-process only)`},
	{"nats.creds", "", "credentials file for an external NATS"},
	{"nats.user", "", "user name for an external NATS"},
	{"nats.password", "", "password for an external NATS; prefer HERALD_NATS_PASSWORD, flags show in ps"},
	{"nats.nkey_seed_file", "", "nkey seed file for an external NATS"},
	{"nats.users", []any{}, ""},
	{"nats.replicas", 1, "JetStream replicas for Herald's streams (1..5)"},
	{"http.addr", "127.0.0.1:8080", "host:port of the HTTP API, feeds, Twilio callbacks and console"},
	{"http.admin_token", "", "bearer token for the management API (empty: off); prefer HERALD_HTTP_ADMIN_TOKEN, flags show in ps"},
	{"http.public_url", "", "base URL used in links and Twilio callbacks (default http://<http.addr>)"},
	{"http.client_rate", 5.0, "requests per second one client address may make to the signed endpoints (0 = no limit); a request signed by a registered originator always gets through"},
	{"http.client_burst", 20, "burst of requests one client address may make before http.client_rate applies"},
	{"regions", []any{map[string]any{
		"file": "builtin:us_counties", "id_property": "fips", "name_property": "name",
		"prefix": "us-county-", "geocode": "fips",
	}}, ""},
	{"originators_file", "", "file of the officers allowed to issue alerts (default <data_dir>/originators.yaml)"},
	{"sms.provider", "log", "SMS provider: log or twilio"},
	{"sms.sender_type", "long_code", "kind of sending number, for the carriers' rate preset: long_code (1 segment/s), toll_free (3/s) or short_code (100/s)"},
	{"sms.rate_per_second", 0.0, "SMS message segments per second per sender across all Herald processes, as carriers count them (0 = the sms.sender_type preset)"},
	{"sms.sender_name", "Herald health alerts", "who residents are told sends the alerts (HELP replies)"},
	{"sms.help_contact", "", "contact given in HELP replies (a phone number or URL)"},
	{"sms.max_segments.gsm7", 2, "segments one SMS may use when its text is GSM-7 (153 characters each)"},
	{"sms.max_segments.ucs2", 5, "segments one SMS may use when its text needs UCS-2 (67 characters each; the default gives about the same text as GSM-7's)"},
	{"twilio.account_sid", "", "Twilio account SID (AC...)"},
	{"twilio.auth_token", "", "Twilio auth token; prefer HERALD_TWILIO_AUTH_TOKEN, flags show in ps"},
	{"twilio.from", "", "Twilio sender number (or use --twilio-messaging-service-sid)"},
	{"twilio.messaging_service_sid", "", "Twilio Messaging Service SID (MG...)"},
	{"twilio.api_base_url", "https://api.twilio.com", "Twilio API base URL, for compatible gateways and tests"},
	{"webhooks.allow_private_addresses", false, "allow webhook URLs that resolve to loopback or private addresses"},
	{"webhooks.max_in_flight", 4, "concurrent webhook posts to one host"},
	{"webhooks.rotation_grace", 24 * time.Hour, "after herald webhook rotate, how long the old secret keeps signing beside the new one"},
	{"deliveries.retention", 7 * 24 * time.Hour, "how long delivery records, failure lists and plans are kept after their alert expires, and counters after an alert's last delivery (0 = forever)"},
	{"webhooks.breaker_threshold", 5, "consecutive transient failures that pause posts to a host"},
	{"webhooks.breaker_cooldown", 30 * time.Second, "first pause of a failing host (doubles up to 10m)"},
	{"acks.required_for.severity", []string{string(cap.SeverityExtreme)}, "severities of alerts that ask hospitals to confirm receipt (escalating when they do not)"},
	{"acks.required_for.han_types", []string{string(cap.HANAlert)}, "CDC HAN types of alerts that ask hospitals to confirm receipt"},
	{"acks.timeout", 15 * time.Minute, "how long a hospital (then each escalation tier) has to confirm before the next tier is texted"},
	{"console.tile_url", "", "officer console base-map tiles, an https URL template with {z}, {x} and {y} (empty: region outlines only, no other origin contacted)"},
	{"console.tile_attribution", "", "attribution the tile provider requires, shown under the console's map"},
	{"console.session_ttl", 8 * time.Hour, "how long an officer's console sign-in lasts"},
	{"social.mastodon.server", "", "Mastodon server URL"},
	{"social.mastodon.access_token", "", "Mastodon access token; prefer HERALD_SOCIAL_MASTODON_ACCESS_TOKEN, flags show in ps"},
	{"social.bluesky.server", "", "Bluesky: the account's PDS URL (https://bsky.social for most accounts)"},
	{"social.bluesky.handle", "", "Bluesky: the account's handle (health.example.org) or DID"},
	{"social.bluesky.app_password", "", "Bluesky: an app password (Settings > App passwords); prefer HERALD_SOCIAL_BLUESKY_APP_PASSWORD"},
	{"social.hashtags", []string{"HealthAlert"}, "hashtags added to every social post"},
	{"social.languages", []string{}, "alert languages posted to social accounts, each its own post in one thread (empty: every language of the alert)"},
	{"approval.required_for.severity", []string{string(cap.SeverityExtreme)}, "severities of Actual alerts that need a second officer's approval"},
	{"approval.required_for.min_recipients", 0, "alerts reaching at least this many residents need approval (0: off)"},
	{"approval.required_for.min_area_km2", 0.0, "alerts covering at least this area in km² need approval (0: off)"},
	{"approval.timeout", 30 * time.Minute, "an alert not approved within this time expires unsent"},
	{"jurisdiction.tolerance_m", 100.0, "metres an alert's area may reach outside the originator's jurisdiction"},
	{"geo.max_vertices", 10000, "largest number of vertices accepted in one alert area"},
	{"retry.sms.base", 2 * time.Second, "first SMS retry delay"},
	{"retry.sms.max", 5 * time.Minute, "longest SMS retry delay"},
	{"retry.sms.max_attempts", 12, "SMS attempts before a delivery is failed"},
	{"retry.sms.max_age", 6 * time.Hour, "give up an SMS delivery this long after it was queued"},
	{"retry.webhook.base", 5 * time.Second, "first webhook retry delay"},
	{"retry.webhook.max", 30 * time.Minute, "longest webhook retry delay"},
	{"retry.webhook.max_attempts", 60, "webhook attempts before a delivery is failed"},
	{"retry.webhook.max_age", 24 * time.Hour, "give up a webhook delivery this long after it was queued"},
	{"retry.social.base", 10 * time.Second, "first social post retry delay"},
	{"retry.social.max", 15 * time.Minute, "longest social post retry delay"},
	{"retry.social.max_attempts", 12, "social post attempts before a delivery is failed"},
	{"retry.social.max_age", 6 * time.Hour, "give up a social post this long after it was queued"},
	{"log.level", "info", "log level: debug, info, warn or error"},
	{"log.format", "text", "log format: text or json"},
}

type setting struct {
	name  string
	def   any
	usage string
}

const envPrefix = "HERALD"

// clientEnv are HERALD_* variables of the CLI's client commands; Load must
// not mistake them for misspelt server keys.
var clientEnv = []string{"HERALD_SERVER", "HERALD_ADMIN_TOKEN"}

// flagName is the command-line flag for a configuration key: "http.admin_token"
// is --http-admin-token.
func flagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// envName is the environment variable for a configuration key:
// "http.admin_token" is HERALD_HTTP_ADMIN_TOKEN.
func envName(key string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// BindFlags registers one flag per configuration key on fs (see flagName),
// with lists as comma-separated string slices. regions has no flag: a list of
// records belongs in the file. The flag defaults only document; Load uses a
// flag's value only when the user set it. --config is the caller's to add.
func BindFlags(fs *pflag.FlagSet) {
	for _, k := range keys {
		name := flagName(k.name)
		switch def := k.def.(type) {
		case string:
			fs.String(name, def, k.usage)
		case bool:
			fs.Bool(name, def, k.usage)
		case int:
			fs.Int(name, def, k.usage)
		case float64:
			fs.Float64(name, def, k.usage)
		case time.Duration:
			fs.Duration(name, def, k.usage)
		case []string:
			fs.StringSlice(name, def, k.usage)
		}
	}
}

// Load returns the configuration from the defaults, the YAML file configFile
// (skipped when ""), the HERALD_* environment and the flags of fs that the user
// set (fs may be nil), validated and resolved. The error names every unknown
// key and invalid value, one per line.
func Load(configFile string, fs *pflag.FlagSet) (*Config, error) {
	v := newViper()
	v.SetEnvPrefix(envPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AllowEmptyEnv(true)
	v.AutomaticEnv()

	var errs []error
	if configFile != "" {
		raw, err := readYAML(configFile)
		if err != nil {
			return nil, err
		}
		errs = append(errs, unknownFileKeys(raw, "")...)
		if err := v.MergeConfigMap(raw); err != nil {
			return nil, fmt.Errorf("config: %s: %w", configFile, err)
		}
	}
	errs = append(errs, unknownEnv(os.Environ())...)
	if fs != nil {
		for _, k := range keys {
			if f := fs.Lookup(flagName(k.name)); f != nil {
				if err := v.BindPFlag(k.name, f); err != nil {
					return nil, fmt.Errorf("config: flag --%s: %w", f.Name, err)
				}
			}
		}
	}

	c, err := decode(v)
	if err != nil {
		// A value that failed to decode is left zero, and validating it would
		// only add misleading errors.
		return nil, errors.Join(append(errs, err)...)
	}
	c.resolve()
	errs = append(errs, c.Validate())
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Default returns the built-in configuration, resolved; it ignores the
// environment and any file.
func Default() *Config {
	c, err := decode(newViper())
	if err != nil {
		panic(fmt.Sprintf("config: built-in defaults do not decode: %v", err))
	}
	c.resolve()
	return c
}

// MemoryLimitBytes is memory_limit in bytes; 0 when unset.
func (c *Config) MemoryLimitBytes() (int64, error) {
	n, err := ParseMemoryLimit(c.MemoryLimit)
	if err != nil {
		return 0, keyErrorf("memory_limit", "%v", err)
	}
	return n, nil
}

// ParseMemoryLimit reads a memory limit such as 1200MiB or 2GiB (what
// memory_limit takes); "" is 0, no limit.
func ParseMemoryLimit(s string) (int64, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size such as 1200MiB or 2GiB", s)
	}
	// Below this the embedded NATS server and the regions alone do not fit:
	// the collector would run without pause.
	if n < minMemoryLimit || n > math.MaxInt64 {
		return 0, fmt.Errorf("%q: give at least %s", s, humanize.IBytes(minMemoryLimit))
	}
	return int64(n), nil
}

// minMemoryLimit is the smallest memory_limit accepted.
const minMemoryLimit = 256 << 20

// Print writes the configuration as YAML, the same shape a config file takes,
// with secrets shown as "REDACTED" ("" when unset) so the output can be shared.
// nats.creds and nats.nkey_seed_file are paths, not secrets, and are shown.
func (c *Config) Print(w io.Writer) error {
	r := *c
	r.HTTP.AdminToken = redact(r.HTTP.AdminToken)
	r.Twilio.AuthToken = redact(r.Twilio.AuthToken)
	r.NATS.Password = redact(r.NATS.Password)
	r.NATS.Users = append([]NATSUser(nil), c.NATS.Users...) // a copy: c keeps its passwords
	for i := range r.NATS.Users {
		r.NATS.Users[i].Password = redact(r.NATS.Users[i].Password)
	}
	r.Social.Mastodon.AccessToken = redact(r.Social.Mastodon.AccessToken)
	r.Social.Bluesky.AppPassword = redact(r.Social.Bluesky.AppPassword)

	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&r); err != nil {
		return fmt.Errorf("config: print: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("config: print: %w", err)
	}
	return nil
}

func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return "REDACTED"
}

func newViper() *viper.Viper {
	v := viper.New()
	for _, k := range keys {
		v.SetDefault(k.name, k.def)
	}
	return v
}

// resolve fills the values whose defaults derive from other keys and
// normalizes the public URL so callers can append paths to it.
func (c *Config) resolve() {
	if c.OriginatorsFile == "" && c.DataDir != "" {
		c.OriginatorsFile = filepath.Join(c.DataDir, "originators.yaml")
	}
	if c.HTTP.PublicURL == "" {
		// An invalid addr is left for Validate to report, once.
		if checkHostPort(c.HTTP.Addr) == nil {
			host, port, _ := net.SplitHostPort(c.HTTP.Addr)
			// A wildcard listen address is no place to send a browser.
			if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
				host = "localhost"
			}
			c.HTTP.PublicURL = "http://" + net.JoinHostPort(host, port)
		}
	}
	c.HTTP.PublicURL = strings.TrimRight(c.HTTP.PublicURL, "/")
}

func readYAML(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return raw, nil
}

// unknownFileKeys reports every key of the file, at any depth, that is not a
// configuration key, and deletes it from m so the rest can still be decoded
// and validated and all problems reported at once. Keys are compared
// case-insensitively, as viper does.
func unknownFileKeys(m map[string]any, prefix string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		key := prefix + strings.ToLower(k)
		switch {
		case key == "nats.users":
			list, _ := m[k].([]any)
			for i, item := range list {
				entry, _ := item.(map[string]any)
				for _, f := range slices.Sorted(maps.Keys(entry)) {
					if !slices.Contains(natsUserFields, strings.ToLower(f)) {
						errs = append(errs, keyErrorf(fmt.Sprintf("nats.users[%d].%s", i, f), "unknown key"))
						delete(entry, f)
					}
				}
			}
		case key == "regions":
			list, _ := m[k].([]any)
			for i, item := range list {
				entry, _ := item.(map[string]any)
				for _, f := range slices.Sorted(maps.Keys(entry)) {
					if !slices.Contains(regionFields, strings.ToLower(f)) {
						errs = append(errs, keyErrorf(fmt.Sprintf("regions[%d].%s", i, f), "unknown key"))
						delete(entry, f)
					}
				}
			}
		case isKey(key):
		case isSection(key):
			sub, ok := m[k].(map[string]any)
			if !ok && m[k] != nil { // "nats:" with every child commented out is fine
				errs = append(errs, keyErrorf(key, "must be a mapping of keys"))
				delete(m, k)
				continue
			}
			errs = append(errs, unknownFileKeys(sub, key+".")...)
		default:
			errs = append(errs, keyErrorf(key, "unknown key"))
			delete(m, k)
		}
	}
	return errs
}

var natsUserFields = []string{"user", "password", "nkey", "role"}

var regionFields = []string{"file", "id_property", "name_property", "prefix", "geocode"}

func isKey(name string) bool {
	return slices.ContainsFunc(keys, func(k setting) bool { return k.name == name })
}

func isSection(name string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k.name, name+".") {
			return true
		}
	}
	return false
}

// unknownEnv reports HERALD_* variables that name no configuration key.
func unknownEnv(environ []string) []error {
	known := slices.Clone(clientEnv)
	for _, k := range keys {
		known = append(known, envName(k.name))
	}
	var errs []error
	for _, kv := range slices.Sorted(slices.Values(environ)) {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix+"_") && !slices.Contains(known, name) {
			errs = append(errs, keyErrorf(name, "unknown configuration variable"))
		}
	}
	return errs
}

// decode unmarshals v into a Config, refusing keys that map to no field and
// turning each of mapstructure's errors into one line naming its key.
func decode(v *viper.Viper) (*Config, error) {
	var c Config
	hook := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		toDuration,
		stringToRegions,
		stringToNATSUsers,
		stringToStrings,
	))
	if err := v.UnmarshalExact(&c, hook); err != nil {
		return nil, errors.Join(flattenDecodeError(err, nil)...)
	}
	return &c, nil
}

// toDuration parses durations written with a unit. It refuses bare numbers,
// which would otherwise decode as nanoseconds: "timeout: 30" is a mistake.
func toDuration(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() || from == to {
		return data, nil
	}
	if s, ok := data.(string); ok {
		if d, err := time.ParseDuration(s); err == nil {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%q is not a duration with a unit, such as 90s, 30m or 1h", fmt.Sprint(data))
}

// stringToStrings splits a comma-separated environment value into a list,
// trimming the spaces people put after commas.
func stringToStrings(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != reflect.TypeFor[[]string]() {
		return data, nil
	}
	var out []string
	for s := range strings.SplitSeq(data.(string), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// stringToRegions parses HERALD_REGIONS, a YAML flow list, into the generic
// form mapstructure then decodes (and checks for unknown fields) as usual.
func stringToRegions(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != reflect.TypeFor[[]RegionSource]() {
		return data, nil
	}
	var list []any
	if err := yaml.Unmarshal([]byte(data.(string)), &list); err != nil {
		return nil, fmt.Errorf("not a YAML list of region sources: %w", err)
	}
	return list, nil
}

// stringToNATSUsers reads HERALD_NATS_USERS as a YAML flow list.
func stringToNATSUsers(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != reflect.TypeFor[[]NATSUser]() {
		return data, nil
	}
	var list []any
	if err := yaml.Unmarshal([]byte(data.(string)), &list); err != nil {
		return nil, fmt.Errorf("not a YAML list of users: %w", err)
	}
	return list, nil
}

func flattenDecodeError(err error, out []error) []error {
	var (
		de *mapstructure.DecodeError
		pe *mapstructure.ParseError
	)
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			out = flattenDecodeError(inner, out)
		}
		return out
	case *mapstructure.DecodeError:
		if errors.As(e, &pe) {
			// mapstructure's own message leaves out the offending value.
			return append(out, keyErrorf(e.Name(), "%q is not a valid %s", fmt.Sprint(pe.Value), pe.Expected.Type()))
		}
		return append(out, keyErrorf(e.Name(), "%v", e.Unwrap()))
	default:
		if errors.As(err, &de) {
			// Strip mapstructure's "decoding failed due to..." preamble.
			return flattenDecodeError(errors.Unwrap(err), out)
		}
		return append(out, fmt.Errorf("config: %w", err))
	}
}
