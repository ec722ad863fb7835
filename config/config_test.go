package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// isolate removes any HERALD_* variables of the developer's shell for the
// duration of the test, so results do not depend on who runs them.
func isolate(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "HERALD_") {
			t.Setenv(name, "") // restores the original value after the test
			os.Unsetenv(name)
		}
	}
}

type source struct {
	yaml string            // config file contents; no file when ""
	env  map[string]string // HERALD_* variables
	args []string          // command line, parsed on a FlagSet from BindFlags
}

// load runs Load on src the way the CLI does.
func load(t *testing.T, src source) (*Config, error) {
	t.Helper()
	isolate(t)
	for k, v := range src.env {
		t.Setenv(k, v)
	}
	var file string
	if src.yaml != "" {
		file = filepath.Join(t.TempDir(), "herald.yaml")
		if err := os.WriteFile(file, []byte(src.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fs := pflag.NewFlagSet("herald", pflag.ContinueOnError)
	BindFlags(fs)
	if err := fs.Parse(src.args); err != nil {
		t.Fatalf("parse %q: %v", src.args, err)
	}
	return Load(file, fs)
}

func TestDefaults(t *testing.T) {
	isolate(t)
	loaded, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	c := Default()
	if !reflect.DeepEqual(loaded, c) {
		t.Errorf("Load(\"\", nil) = %+v\nDefault() = %+v", loaded, c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}

	for _, tc := range []struct {
		key       string
		got, want any
	}{
		{"data_dir", c.DataDir, "./herald-data"},
		{"nats.url", c.NATS.URL, ""},
		{"nats.listen", c.NATS.Listen, "127.0.0.1:4222"},
		{"nats.replicas", c.NATS.Replicas, 1},
		{"http.addr", c.HTTP.Addr, "127.0.0.1:8080"},
		{"http.admin_token", c.HTTP.AdminToken, ""},
		{"http.public_url", c.HTTP.PublicURL, "http://127.0.0.1:8080"},
		{"regions", c.Regions, []RegionSource{{File: "builtin:us_counties", IDProperty: "fips", NameProperty: "name", Prefix: "us-county-", Geocode: "fips"}}},
		{"originators_file", c.OriginatorsFile, filepath.Join("herald-data", "originators.yaml")},
		{"sms.provider", c.SMS.Provider, "log"},
		{"sms.rate_per_second", c.SMS.RatePerSecond, 0.0},
		{"sms.sender_type", c.SMS.SenderType, "long_code"},
		{"deliveries.retention", c.Deliveries.Retention, 7 * 24 * time.Hour},
		{"sms segment rate", c.SMS.SegmentRate(), 1.0},
		{"twilio.api_base_url", c.Twilio.APIBaseURL, "https://api.twilio.com"},
		{"webhooks.allow_private_addresses", c.Webhooks.AllowPrivateAddresses, false},
		{"social.hashtags", c.Social.Hashtags, []string{"HealthAlert"}},
		{"approval.required_for.severity", c.Approval.RequiredFor.Severity, []string{"Extreme"}},
		{"approval.required_for.min_recipients", c.Approval.RequiredFor.MinRecipients, 0},
		{"approval.required_for.min_area_km2", c.Approval.RequiredFor.MinAreaKm2, 0.0},
		{"approval.timeout", c.Approval.Timeout, 30 * time.Minute},
		{"jurisdiction.tolerance_m", c.Jurisdiction.ToleranceM, 100.0},
		{"geo.max_vertices", c.Geo.MaxVertices, 10000},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.key, tc.got, tc.want)
		}
	}
}

func TestLoadPrecedence(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   source
		check func(*Config) (got, want any)
	}{
		{"file overrides default",
			source{yaml: "http:\n  addr: 0.0.0.0:9000\n"},
			func(c *Config) (any, any) { return c.HTTP.Addr, "0.0.0.0:9000" }},
		{"env overrides file",
			source{yaml: "nats:\n  url: nats://file:4222\n", env: map[string]string{"HERALD_NATS_URL": "nats://env:4222"}},
			func(c *Config) (any, any) { return c.NATS.URL, "nats://env:4222" }},
		{"flag overrides env",
			source{env: map[string]string{"HERALD_HTTP_ADDR": "127.0.0.1:1"}, args: []string{"--http-addr=127.0.0.1:2"}},
			func(c *Config) (any, any) { return c.HTTP.Addr, "127.0.0.1:2" }},
		{"unset flag does not override file",
			source{yaml: "sms:\n  provider: log\n  rate_per_second: 3\n"},
			func(c *Config) (any, any) { return c.SMS.RatePerSecond, 3.0 }},
		{"env secret",
			source{env: map[string]string{"HERALD_TWILIO_AUTH_TOKEN": "tok"}},
			func(c *Config) (any, any) { return c.Twilio.AuthToken, "tok" }},
		{"env list",
			source{env: map[string]string{"HERALD_SOCIAL_HASHTAGS": "HealthAlert, PublicHealth"}},
			func(c *Config) (any, any) { return c.Social.Hashtags, []string{"HealthAlert", "PublicHealth"} }},
		{"env nested list",
			source{env: map[string]string{"HERALD_APPROVAL_REQUIRED_FOR_SEVERITY": "Extreme,Severe"}},
			func(c *Config) (any, any) { return c.Approval.RequiredFor.Severity, []string{"Extreme", "Severe"} }},
		{"env empty list",
			source{env: map[string]string{"HERALD_APPROVAL_REQUIRED_FOR_SEVERITY": ""}},
			func(c *Config) (any, any) { return len(c.Approval.RequiredFor.Severity), 0 }},
		{"env empty value is set",
			source{env: map[string]string{"HERALD_NATS_LISTEN": ""}},
			func(c *Config) (any, any) { return c.NATS.Listen, "" }},
		{"env typed values",
			source{env: map[string]string{"HERALD_NATS_REPLICAS": "3", "HERALD_APPROVAL_TIMEOUT": "5m", "HERALD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "true"}},
			func(c *Config) (any, any) {
				return []any{c.NATS.Replicas, c.Approval.Timeout, c.Webhooks.AllowPrivateAddresses}, []any{3, 5 * time.Minute, true}
			}},
		{"env regions",
			source{env: map[string]string{"HERALD_REGIONS": "[{file: wa.geojson, id_property: GEOID, prefix: wa-, geocode: ugc}]"}},
			func(c *Config) (any, any) {
				return c.Regions, []RegionSource{{File: "wa.geojson", IDProperty: "GEOID", Prefix: "wa-", Geocode: "ugc"}}
			}},
		{"file regions replace the default",
			source{yaml: "regions:\n  - file: a.geojson\n    prefix: a-\n  - {file: b.geojson, prefix: b-, name_property: NAME}\n"},
			func(c *Config) (any, any) {
				return c.Regions, []RegionSource{{File: "a.geojson", Prefix: "a-"}, {File: "b.geojson", Prefix: "b-", NameProperty: "NAME"}}
			}},
		{"typed flags",
			source{args: []string{"--nats-replicas=3", "--approval-timeout=90s", "--sms-rate-per-second=2.5",
				"--webhooks-allow-private-addresses", "--social-hashtags=A,B", "--approval-required-for-severity=Severe"}},
			func(c *Config) (any, any) {
				return []any{c.NATS.Replicas, c.Approval.Timeout, c.SMS.RatePerSecond, c.Webhooks.AllowPrivateAddresses, c.Social.Hashtags, c.Approval.RequiredFor.Severity},
					[]any{3, 90 * time.Second, 2.5, true, []string{"A", "B"}, []string{"Severe"}}
			}},
		{"public_url follows addr",
			source{args: []string{"--http-addr=10.0.0.5:8443"}},
			func(c *Config) (any, any) { return c.HTTP.PublicURL, "http://10.0.0.5:8443" }},
		{"public_url of a wildcard addr",
			source{args: []string{"--http-addr=:8080"}},
			func(c *Config) (any, any) { return c.HTTP.PublicURL, "http://localhost:8080" }},
		{"public_url trailing slash stripped",
			source{yaml: "http:\n  public_url: https://alerts.example.org/herald/\n"},
			func(c *Config) (any, any) { return c.HTTP.PublicURL, "https://alerts.example.org/herald" }},
		{"originators_file follows data_dir",
			source{yaml: "data_dir: /var/lib/herald\n"},
			func(c *Config) (any, any) { return c.OriginatorsFile, "/var/lib/herald/originators.yaml" }},
		{"originators_file explicit",
			source{env: map[string]string{"HERALD_ORIGINATORS_FILE": "/etc/herald/o.yaml"}},
			func(c *Config) (any, any) { return c.OriginatorsFile, "/etc/herald/o.yaml" }},
		{"client variables ignored",
			source{env: map[string]string{"HERALD_SERVER": "http://x", "HERALD_ADMIN_TOKEN": "t"}},
			func(c *Config) (any, any) { return c.HTTP.AdminToken, "" }},
		{"empty section",
			source{yaml: "nats:\n  # url: nats://x:4222\nhttp:\n  addr: 127.0.0.1:9\n"},
			func(c *Config) (any, any) { return []any{c.NATS.Listen, c.NATS.Replicas}, []any{"127.0.0.1:4222", 1} }},
		{"empty file",
			source{yaml: "# nothing\n"},
			func(c *Config) (any, any) { return c.DataDir, "./herald-data" }},
		{"memory_limit in binary units",
			source{env: map[string]string{"HERALD_MEMORY_LIMIT": "1200MiB"}},
			func(c *Config) (any, any) {
				n, err := c.MemoryLimitBytes()
				return []any{n, err}, []any{int64(1200 << 20), nil}
			}},
		{"memory_limit in decimal units",
			source{yaml: "memory_limit: 1.5 GB\n"},
			func(c *Config) (any, any) {
				n, err := c.MemoryLimitBytes()
				return []any{n, err}, []any{int64(1_500_000_000), nil}
			}},
		{"memory_limit unset",
			source{},
			func(c *Config) (any, any) { n, err := c.MemoryLimitBytes(); return []any{n, err}, []any{int64(0), nil} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.src)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got, want := tc.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

// TestLoadErrors checks that each unknown key and invalid value stops Load
// with an error naming it, and that all of them are reported together.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  source
		want []string
	}{
		{"unknown top-level key", source{yaml: "data_dri: x\n"}, []string{"config: data_dri: unknown key"}},
		{"unknown nested key", source{yaml: "nats:\n  ulr: nats://x:4222\n"}, []string{"config: nats.ulr: unknown key"}},
		{"unknown deep key", source{yaml: "approval:\n  required_for:\n    sevrity: [Extreme]\n"}, []string{"config: approval.required_for.sevrity: unknown key"}},
		{"unknown region key", source{yaml: "regions:\n  - file: a.geojson\n    prefix: a-\n    id_prop: x\n"}, []string{"config: regions[0].id_prop: unknown key"}},
		{"unknown region key in env", source{env: map[string]string{"HERALD_REGIONS": "[{file: a, prefix: a-, pefix: b}]"}}, []string{"regions[0]", "pefix"}},
		{"section given a value", source{yaml: "nats: nats://x:4222\n"}, []string{"config: nats: must be a mapping"}},
		{"unknown env", source{env: map[string]string{"HERALD_NATS_ULR": "x"}}, []string{"config: HERALD_NATS_ULR: unknown"}},
		{"all problems at once",
			source{yaml: "bogus: 1\nhttp:\n  addr: foo\n", env: map[string]string{"HERALD_LOG_LEVEL": "loud"}},
			[]string{"config: bogus: unknown key", `config: http.addr: "foo" is not host:port`, "config: log.level:"}},
		{"not a number", source{env: map[string]string{"HERALD_NATS_REPLICAS": "three"}}, []string{`config: nats.replicas: "three" is not a valid int`}},
		{"not a bool", source{env: map[string]string{"HERALD_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "maybe"}}, []string{"config: webhooks.allow_private_addresses:"}},
		{"not a duration", source{yaml: "approval:\n  timeout: soon\n"}, []string{"config: approval.timeout:"}},
		{"duration without unit", source{yaml: "approval:\n  timeout: 30\n"}, []string{`config: approval.timeout: "30" is not a duration with a unit`}},
		{"data_dir", source{env: map[string]string{"HERALD_DATA_DIR": ""}}, []string{"config: data_dir:"}},
		{"memory_limit not a size", source{env: map[string]string{"HERALD_MEMORY_LIMIT": "lots"}}, []string{`config: memory_limit: "lots" is not a size`}},
		{"memory_limit too small", source{args: []string{"--memory-limit=64MiB"}}, []string{`config: memory_limit: "64MiB": give at least 256 MiB`}},
		{"nats.url scheme", source{env: map[string]string{"HERALD_NATS_URL": "nats://a:4222,http://b:4222"}}, []string{`config: nats.url: "http://b:4222"`}},
		{"nats.listen", source{env: map[string]string{"HERALD_NATS_LISTEN": "4222"}}, []string{"config: nats.listen:"}},
		{"nats.replicas", source{args: []string{"--nats-replicas=6"}}, []string{"config: nats.replicas:"}},
		{"http.addr", source{args: []string{"--http-addr=localhost:http"}}, []string{"config: http.addr:"}},
		{"http.public_url", source{args: []string{"--http-public-url=alerts.example.org"}}, []string{"config: http.public_url:"}},
		{"regions", source{yaml: "regions:\n  - prefix: Bad.Prefix\n    geocode: zip\n"},
			[]string{"config: regions[0].file:", "config: regions[0].prefix:", "config: regions[0].geocode:"}},
		{"sms.provider", source{args: []string{"--sms-provider=carrier-pigeon"}}, []string{"config: sms.provider:"}},
		{"sms.rate_per_second", source{args: []string{"--sms-rate-per-second=-1"}}, []string{"config: sms.rate_per_second:"}},
		{"sms.sender_type", source{args: []string{"--sms-sender-type=pager"}}, []string{"config: sms.sender_type:"}},
		{"deliveries.retention", source{args: []string{"--deliveries-retention=10m"}}, []string{"config: deliveries.retention:"}},
		{"social.bluesky", source{env: map[string]string{"HERALD_SOCIAL_BLUESKY_HANDLE": "health.test"}}, []string{"config: social.bluesky.server:", "config: social.bluesky.app_password:"}},
		{"social.languages", source{args: []string{"--social-languages=en,not a tag"}}, []string{"config: social.languages:"}},
		{"twilio.api_base_url", source{args: []string{"--twilio-api-base-url=ftp://x"}}, []string{"config: twilio.api_base_url:"}},
		{"social.mastodon.access_token", source{args: []string{"--social-mastodon-server=https://m.example"}}, []string{"config: social.mastodon.access_token:"}},
		{"social.mastodon.server", source{env: map[string]string{"HERALD_SOCIAL_MASTODON_ACCESS_TOKEN": "x"}}, []string{"config: social.mastodon.server:"}},
		{"social.hashtags", source{args: []string{"--social-hashtags=#Health Alert"}}, []string{"config: social.hashtags:"}},
		{"severity", source{env: map[string]string{"HERALD_APPROVAL_REQUIRED_FOR_SEVERITY": "Extreme,extreme"}}, []string{`config: approval.required_for.severity: "extreme"`}},
		{"min_recipients", source{args: []string{"--approval-required-for-min-recipients=-1"}}, []string{"config: approval.required_for.min_recipients:"}},
		{"min_area_km2", source{args: []string{"--approval-required-for-min-area-km2=-1"}}, []string{"config: approval.required_for.min_area_km2:"}},
		{"approval.timeout", source{args: []string{"--approval-timeout=0s"}}, []string{"config: approval.timeout:"}},
		{"tolerance_m", source{args: []string{"--jurisdiction-tolerance-m=-5"}}, []string{"config: jurisdiction.tolerance_m:"}},
		{"max_vertices", source{args: []string{"--geo-max-vertices=3"}}, []string{"config: geo.max_vertices:"}},
		{"log.format", source{args: []string{"--log-format=xml"}}, []string{"config: log.format:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.src)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			t.Log(err)
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	isolate(t)
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: err = %v, want one naming the file", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("nats: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, nil); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("invalid YAML: err = %v, want one naming the file", err)
	}
}

func TestTwilioRequirements(t *testing.T) {
	twilio := func(edit func(*Twilio)) *Config {
		c := Default()
		c.SMS.Provider = "twilio"
		c.Twilio = Twilio{AccountSID: "AC123", AuthToken: "secret", From: "+15005550006", APIBaseURL: "https://api.twilio.com"}
		edit(&c.Twilio)
		return c
	}
	for _, tc := range []struct {
		name string
		cfg  *Config
		want string // "" for valid
	}{
		{"with from", twilio(func(*Twilio) {}), ""},
		{"with messaging service", twilio(func(t *Twilio) { t.From, t.MessagingServiceSID = "", "MG123" }), ""},
		{"log provider needs nothing", Default(), ""},
		{"no account", twilio(func(t *Twilio) { t.AccountSID = "" }), "config: twilio.account_sid: is required"},
		{"account not AC", twilio(func(t *Twilio) { t.AccountSID = "SK123" }), "config: twilio.account_sid: must start with AC"},
		{"no token", twilio(func(t *Twilio) { t.AuthToken = "" }), "config: twilio.auth_token: is required"},
		{"no sender", twilio(func(t *Twilio) { t.From = "" }), "config: twilio.from: exactly one"},
		{"both senders", twilio(func(t *Twilio) { t.MessagingServiceSID = "MG123" }), "config: twilio.from: exactly one"},
		{"service not MG", twilio(func(t *Twilio) { t.From, t.MessagingServiceSID = "", "AB123" }), "config: twilio.messaging_service_sid: must start with MG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPrintRedactsSecrets(t *testing.T) {
	c := Default()
	secrets := []string{"admin-s3cret", "twilio-s3cret", "nats-s3cret", "mastodon-s3cret"}
	c.HTTP.AdminToken, c.Twilio.AuthToken, c.NATS.Password, c.Social.Mastodon.AccessToken = secrets[0], secrets[1], secrets[2], secrets[3]
	c.NATS.Creds = "/etc/herald/nats.creds"

	var buf bytes.Buffer
	if err := c.Print(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("Print shows secret %q:\n%s", s, out)
		}
	}
	if got := strings.Count(out, "REDACTED"); got != len(secrets) {
		t.Errorf("Print shows REDACTED %d times, want %d:\n%s", got, len(secrets), out)
	}
	if !strings.Contains(out, "/etc/herald/nats.creds") {
		t.Errorf("Print hides nats.creds, a path:\n%s", out)
	}
	if c.HTTP.AdminToken != secrets[0] {
		t.Errorf("Print modified its receiver")
	}
}

// TestPrintRoundTrips checks that printed output is a valid config file that
// loads back to the same configuration, so "config print" can seed a file.
func TestPrintRoundTrips(t *testing.T) {
	isolate(t)
	want := Default()
	want.Social.Hashtags = []string{"HealthAlert", "PublicHealth"}
	want.Approval.Timeout = 90 * time.Second
	var buf bytes.Buffer
	if err := want.Print(&buf); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "herald.yaml")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(file, nil)
	if err != nil {
		t.Fatalf("Load(printed config): %v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestBindFlags(t *testing.T) {
	fs := pflag.NewFlagSet("herald", pflag.ContinueOnError)
	BindFlags(fs)
	for _, k := range keys {
		f := fs.Lookup(flagName(k.name))
		if (f == nil) != (k.name == "regions" || k.name == "nats.users") {
			t.Errorf("flag for %s: %v", k.name, f)
		}
	}
	for _, name := range []string{"data-dir", "nats-url", "http-addr", "http-admin-token", "sms-provider", "twilio-auth-token", "approval-required-for-severity"} {
		if fs.Lookup(name) == nil {
			t.Errorf("no --%s", name)
		}
	}
}

// TestLoadConcurrent guards against shared state between Loads (run with -race).
func TestLoadConcurrent(t *testing.T) {
	isolate(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := Load("", nil); err != nil {
				t.Error(err)
			}
			_ = Default()
		})
	}
	wg.Wait()
}

// TestSegmentRate: the rate is the sender type's preset unless
// sms.rate_per_second sets one.
func TestSegmentRate(t *testing.T) {
	tests := []struct {
		sms  SMS
		want float64
	}{
		{SMS{SenderType: "long_code"}, 1},
		{SMS{SenderType: "toll_free"}, 3},
		{SMS{SenderType: "short_code"}, 100},
		{SMS{SenderType: "short_code", RatePerSecond: 250}, 250},
		{SMS{SenderType: "long_code", RatePerSecond: 0.5}, 0.5},
	}
	for _, tt := range tests {
		if got := tt.sms.SegmentRate(); got != tt.want {
			t.Errorf("%+v: SegmentRate = %v, want %v", tt.sms, got, tt.want)
		}
	}
}
