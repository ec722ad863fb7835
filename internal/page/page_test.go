package page

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/geo"
)

var update = flag.Bool("update", false, "rewrite the golden pages")

var (
	regOnce sync.Once
	reg     *geo.Registry
	regErr  error
)

// king is King County's region, drawn under the alert.
func king(t *testing.T) []*geo.Region {
	t.Helper()
	regOnce.Do(func() {
		reg, regErr = geo.Load([]geo.Source{{File: "builtin:us_counties", IDProperty: "fips", NameProperty: "name", Prefix: "us-county-", Geocode: "fips"}})
	})
	if regErr != nil {
		t.Fatal(regErr)
	}
	r, ok := reg.Region("us-county-53033")
	if !ok {
		t.Fatal("no King County")
	}
	return []*geo.Region{r}
}

func measles() *cap.Alert {
	info := func(lang, headline, instruction, desc, sender string) cap.Info {
		return cap.Info{
			Language: lang, Category: []string{"Health"}, Event: "Measles", Urgency: cap.UrgencyExpected,
			Severity: cap.SeveritySevere, Certainty: cap.CertaintyObserved, Expires: "2026-12-19T17:00:00-08:00",
			SenderName: sender, Headline: headline, Instruction: instruction, Description: desc,
			Contact: "206-296-4600", Web: "https://kingcounty.gov/measles",
			Area: []cap.Area{{AreaDesc: "Sea-Tac Airport, SeaTac", Circle: []string{"47.4502,-122.3088 3"}}},
		}
	}
	return &cap.Alert{
		Identifier: "KCPH-MEASLES-7", Sender: "phskc@kingcounty.gov", Sent: "2026-12-03T10:00:00-08:00",
		Status: cap.StatusActual, MsgType: cap.MsgAlert, Scope: cap.ScopePublic,
		Info: []cap.Info{
			info("en-US", "Measles exposure at Sea-Tac Airport", "If you were at Concourse B on Nov 28 from 1 to 5 p.m. and are not vaccinated, call your doctor before going in.\n\nWatch for fever and rash until Dec 19.",
				"A traveller with measles passed through the airport.", "Public Health - Seattle & King County"),
			info("es-US", "Exposición al sarampión en el aeropuerto Sea-Tac", "Si estuvo en el Concourse B el 28 de nov. de 1 a 5 p.m. y no está vacunado, llame a su médico antes de ir.",
				"Un viajero con sarampión pasó por el aeropuerto.", "Salud Pública de Seattle y el Condado de King"),
		},
	}
}

func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		d    Data
	}{
		{"en", Data{Alert: measles(), Lang: "en", Status: Active, Languages: []Link{{"Español", "/a/a1?lang=es"}}}},
		{"es", Data{Alert: measles(), Lang: "es", Status: Updated, NewerURL: "/a/a2?lang=es", Languages: []Link{{"English", "/a/a1?lang=en"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.d.Regions = king(t)
			var buf bytes.Buffer
			if err := Render(&buf, tt.d); err != nil {
				t.Fatal(err)
			}
			golden := "testdata/measles-" + tt.name + ".golden.html"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/page -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("page differs from %s (run with -update and review the diff)", golden)
			}
			if buf.Len() > 30<<10 {
				t.Errorf("page is %d bytes, want under 30 KB", buf.Len())
			}
			checkAccessible(t, buf.Bytes(), tt.name)
		})
	}
}

// checkAccessible: a lang attribute, one h1 and no skipped heading level,
// every image (the SVG) with a text alternative, no script.
func checkAccessible(t *testing.T, page []byte, lang string) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	level, h1s := 0, 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "html":
				if v := attr(n, "lang"); !strings.HasPrefix(v, lang) {
					t.Errorf("html lang=%q, want %s", v, lang)
				}
			case "h1", "h2", "h3", "h4":
				l := int(n.Data[1] - '0')
				if l > level+1 {
					t.Errorf("heading <%s> after level %d skips a level", n.Data, level)
				}
				level = l
				if l == 1 {
					h1s++
				}
			case "svg", "img":
				if attr(n, "role") != "img" || (attr(n, "aria-labelledby") == "" && attr(n, "alt") == "") || !hasTitle(n) {
					t.Errorf("<%s> without a text alternative", n.Data)
				}
			case "script":
				t.Error("the page has a script")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if h1s != 1 {
		t.Errorf("%d h1 headings, want 1", h1s)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasTitle(n *html.Node) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == "title" && c.FirstChild != nil && strings.TrimSpace(c.FirstChild.Data) != "" {
			return true
		}
	}
	return false
}

// TestBannerContrast: white text on every banner colour reads at WCAG AA
// (4.5:1 or more).
func TestBannerContrast(t *testing.T) {
	for sev, colour := range Banner {
		if r := contrast(colour, "#ffffff"); r < 4.5 {
			t.Errorf("%s banner %s: contrast %.2f, want >= 4.5", sev, colour, r)
		}
	}
	if r := contrast("#ffe08a", "#1a1a1a"); r < 4.5 {
		t.Errorf("exercise marker contrast %.2f", r)
	}
}

var hexColour = regexp.MustCompile(`^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$`)

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(c string) float64 {
	m := hexColour.FindStringSubmatch(c)
	if m == nil {
		panic(fmt.Sprintf("bad colour %q", c))
	}
	var l [3]float64
	for i := range l {
		v, _ := strconv.ParseUint(m[i+1], 16, 8)
		s := float64(v) / 255
		if s <= 0.03928 {
			l[i] = s / 12.92
		} else {
			l[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

func TestStatusesAndLanguages(t *testing.T) {
	for _, tt := range []struct {
		d    Data
		want []string
	}{
		{Data{Alert: measles(), Lang: "es-MX", Status: Cancelled}, []string{`lang="es-US"`, "Esta alerta ha sido cancelada.", "Exposición al sarampión"}},
		{Data{Alert: measles(), Lang: "fr", Status: Expired}, []string{`lang="en-US"`, "This alert has expired.", "Measles exposure"}},
		{Data{Alert: measles(), Lang: "en", Status: Updated, NewerURL: "/a/a9"}, []string{`href="/a/a9"`, "Read the latest version"}},
	} {
		var buf bytes.Buffer
		if err := Render(&buf, tt.d); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%s page lacks %q", tt.d.Status, w)
			}
		}
	}
}
