package console

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestPolicy(t *testing.T) {
	tests := []struct {
		tileURL, wantImg string
	}{
		{"", "img-src 'self' data:;"},
		{"https://tile.openstreetmap.org/{z}/{x}/{y}.png", "img-src 'self' data: https://tile.openstreetmap.org;"},
		{"https://{s}.tile.example.org/{z}/{x}/{y}.png", "img-src 'self' data: https://*.tile.example.org;"},
	}
	for _, tt := range tests {
		p := Policy(tt.tileURL)
		if !strings.Contains(p, tt.wantImg) {
			t.Errorf("Policy(%q) = %q, want %q", tt.tileURL, p, tt.wantImg)
		}
		for _, must := range []string{"default-src 'none'", "script-src 'self';", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(p, must) {
				t.Errorf("Policy(%q) lacks %q", tt.tileURL, must)
			}
		}
	}
}

func TestServesWithHeaders(t *testing.T) {
	srv := httptest.NewServer(Handler(""))
	defer srv.Close()
	for _, path := range []string{"/console/", "/console/app.js", "/console/vendor/leaflet/leaflet.js"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: security headers missing: %v", path, resp.Header)
		}
	}
}

// TestNoInlineCode: the policy forbids inline script and style, so the
// page must not need any (a violation would break the console silently).
func TestNoInlineCode(t *testing.T) {
	inline := []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s+type="module")?\s*>`), // a script without src
		regexp.MustCompile(`\son[a-z]+\s*=`),                   // onclick= and friends
		regexp.MustCompile(`\sstyle\s*=`),
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`(?i)https?://(?:unpkg|cdn|fonts\.)`), // no other origin
	}
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		b, _ := assets.ReadFile(path)
		for _, re := range inline {
			if m := re.Find(b); m != nil {
				t.Errorf("%s: %q is blocked by the console's CSP", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"assets/vendor/README.md", "assets/vendor/leaflet/LICENSE"} {
		if _, err := assets.ReadFile(f); err != nil {
			t.Errorf("vendored library record %s: %v", f, err)
		}
	}
}
