// Package console serves the officer console: the page, script and styles
// at /console/, embedded in the binary, with the third-party browser
// libraries it vendors (assets/vendor/README.md lists them with their
// versions and licences). Every response carries a strict
// Content-Security-Policy: scripts, styles and requests only from Herald
// itself (plus the base-map tile origin when console.tile_url is set).
//
// The console is a client of the HTTP API like the CLI: it signs what it
// sends in the browser with the officer's key and holds no privilege of its
// own. This package serves files; it does not handle API calls.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

//go:embed assets
var assets embed.FS

// Handler serves the console under /console/. tileURL is the base-map
// template (console.tile_url); its origin is allowed for images only.
func Handler(tileURL string) http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix("/console/", http.FileServerFS(sub))
	csp := Policy(tileURL)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// Policy is the console's Content-Security-Policy: no inline script or
// style, no framing, no form posts, requests to Herald only.
func Policy(tileURL string) string {
	img := "'self' data:"
	if u, err := url.Parse(strings.NewReplacer("{s}", "a", "{z}", "0", "{x}", "0", "{y}", "0").Replace(tileURL)); err == nil && u.Host != "" {
		host := u.Host
		if strings.Contains(tileURL, "{s}.") { // Leaflet's subdomains a, b, c
			host = "*." + strings.SplitN(host, ".", 2)[1]
		}
		img += " " + u.Scheme + "://" + host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + img +
		"; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}
