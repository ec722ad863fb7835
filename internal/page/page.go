// Package page renders an alert's web page for people (GET /a/{id}, the
// short link in every SMS and post): the alert in the reader's language, a
// severity banner, what to do, what happened, where (described and drawn:
// an SVG made on the server from the alert's shapes over its regions'
// outlines, no map tiles, no JavaScript), who sent it and how to reach
// them, its times in the sender's local time, and its status.
//
// It writes HTML (html/template) and nothing else: which alert, which
// language and which status are the caller's (httpapi) to decide.
package page

import (
	"bytes"
	_ "embed"
	"fmt"
	"hash/fnv"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/simplify"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/geo"
)

// Status is where the alert stands, as the page says it.
type Status string

// Statuses.
const (
	Active    Status = "active"
	Updated   Status = "updated"   // a newer message replaces it: NewerURL
	Cancelled Status = "cancelled" // called off
	Expired   Status = "expired"   // past its expiry
)

// Data is what one page shows.
type Data struct {
	Alert *cap.Alert
	// Lang is the reader's language (BCP 47); the page uses the alert's
	// <info> in it, else the first.
	Lang   string
	Status Status
	// NewerURL links the newest Update of an updated alert.
	NewerURL string
	// Regions are the regions the alert reaches, drawn under its shapes.
	Regions []*geo.Region
	// Languages link the page in the alert's other languages.
	Languages []Link
}

// Link is a labelled URL.
type Link struct{ Label, URL string }

//go:embed page.html
var pageHTML string

var tmpl = template.Must(template.New("page").Parse(pageHTML))

// words are the page's own texts, by primary language subtag.
var words = map[string]map[string]string{
	"en": {
		"todo": "What to do", "what": "What happened", "where": "Where", "from": "From", "contact": "Contact",
		"sent": "Sent", "expires": "Expires", "map": "Map of the alert area", "other": "Other languages",
		"active": "In effect", "updated": "This alert has been updated.", "newer": "Read the latest version",
		"cancelled": "This alert has been cancelled.", "expired": "This alert has expired.",
		"exercise": "EXERCISE: this is not a real alert.", "test": "TEST: this is not a real alert.",
		"Extreme": "Extreme threat", "Severe": "Severe threat", "Moderate": "Moderate threat", "Minor": "Minor threat", "Unknown": "Alert",
		"han": "CDC Health Alert Network",
	},
	"es": {
		"todo": "Qué hacer", "what": "Qué pasó", "where": "Dónde", "from": "De", "contact": "Contacto",
		"sent": "Enviado", "expires": "Vence", "map": "Mapa de la zona de la alerta", "other": "Otros idiomas",
		"active": "Vigente", "updated": "Esta alerta ha sido actualizada.", "newer": "Lea la versión más reciente",
		"cancelled": "Esta alerta ha sido cancelada.", "expired": "Esta alerta ha vencido.",
		"exercise": "SIMULACRO: esta no es una alerta real.", "test": "PRUEBA: esta no es una alerta real.",
		"Extreme": "Amenaza extrema", "Severe": "Amenaza grave", "Moderate": "Amenaza moderada", "Minor": "Amenaza menor", "Unknown": "Alerta",
		"han": "Red de Alertas de Salud de los CDC",
	},
}

// Banner colours by severity, each with white text at a contrast ratio of
// at least 4.5:1 (WCAG AA; a test checks it).
var Banner = map[cap.Severity]string{
	cap.SeverityExtreme:  "#7a0010",
	cap.SeveritySevere:   "#b3261e",
	cap.SeverityModerate: "#8a4b00",
	cap.SeverityMinor:    "#1f4e79",
	cap.SeverityUnknown:  "#404040",
}

// view is what the template reads.
type view struct {
	Lang, Dir                   string
	Title, Banner, BannerColour string
	Marker                      string
	HANType                     string // the CDC HAN message type, as CDC names it
	StatusText, NewerText       string
	NewerURL                    string
	Headline, Event             string
	Instruction, Description    []string // paragraphs
	AreaDesc                    string
	Sender, Contact, Web        string
	Sent, Expires               string
	L                           map[string]string
	Map                         template.HTML
	MapLabel                    string
	Languages                   []Link
	Active                      bool
}

// Render writes the page.
func Render(w io.Writer, d Data) error {
	a := d.Alert
	in := a.InfoFor(d.Lang)
	if in == nil {
		in = &cap.Info{}
	}
	lang := in.Lang()
	p, _, _ := strings.Cut(strings.ToLower(lang), "-")
	l, ok := words[p]
	if !ok {
		l = words["en"]
	}
	sev := a.MostSevere()
	if _, ok := Banner[sev]; !ok {
		sev = cap.SeverityUnknown
	}
	v := view{
		Lang: lang, Dir: "ltr", L: l,
		Headline:    firstText(in.Headline, in.Event, a.Identifier),
		Instruction: paragraphs(in.Instruction), Description: paragraphs(in.Description),
		Sender: firstText(in.SenderName, a.Sender), Contact: in.Contact, Web: safeWeb(in.Web),
		Sent: localTime(a.Sent), Expires: localTime(in.Expires),
		Banner: l[string(sev)], BannerColour: Banner[sev],
		NewerURL: d.NewerURL, Languages: d.Languages, Active: d.Status == Active,
		MapLabel: l["map"],
	}
	if t, err := a.HANType(); err == nil {
		v.HANType = string(t)
	}
	if v.Lang == "" {
		v.Lang = "en"
	}
	var areas []string
	for _, ar := range in.Area {
		if s := strings.TrimSpace(ar.AreaDesc); s != "" {
			areas = append(areas, s)
		}
	}
	v.AreaDesc = strings.Join(areas, "; ")
	if v.AreaDesc != "" {
		v.MapLabel += ": " + v.AreaDesc
	}
	switch a.Status {
	case cap.StatusExercise:
		v.Marker = l["exercise"]
	case cap.StatusTest:
		v.Marker = l["test"]
	}
	switch d.Status {
	case Updated:
		v.StatusText, v.NewerText = l["updated"], l["newer"]
	case Cancelled:
		v.StatusText = l["cancelled"]
	case Expired:
		v.StatusText = l["expired"]
	default:
		v.StatusText = l["active"]
	}
	v.Title = v.Headline
	v.Map = template.HTML(drawMap(in, d.Regions, v.MapLabel)) // built from numbers and escaped text only
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return fmt.Errorf("render page: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// firstText is the first of vals with text, trimmed.
func firstText(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// paragraphs splits text at blank lines, folding the rest of its layout.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if f := strings.Join(strings.Fields(p), " "); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// safeWeb keeps only http(s) links from the alert's <web>.
func safeWeb(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		return s
	}
	return ""
}

// localTime writes a CAP time in the offset the sender wrote it in, which
// is the area's local time for a local health department.
func localTime(s string) string {
	t, err := cap.ParseTime(s)
	if err != nil {
		return ""
	}
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign, off = "−", -off
	}
	return fmt.Sprintf("%s (UTC%s%02d:%02d)", t.Format("2006-01-02 15:04"), sign, off/3600, off%3600/60)
}

// drawMap is the SVG of the alert's shapes over its regions' outlines,
// scaled to the shapes (with a margin), or "" when the alert has none.
func drawMap(in *cap.Info, regions []*geo.Region, label string) string {
	var shapes []orb.Ring
	for _, ar := range in.Area {
		for _, p := range ar.Polygon {
			if r, err := cap.ParsePolygon(p); err == nil {
				shapes = append(shapes, r)
			}
		}
		for _, c := range ar.Circle {
			if center, km, err := cap.ParseCircle(c); err == nil {
				shapes = append(shapes, circle(center, km))
			}
		}
	}
	var b orb.Bound
	switch {
	case len(shapes) > 0:
		b = shapes[0].Bound()
		for _, s := range shapes[1:] {
			b = b.Union(s.Bound())
		}
	case len(regions) > 0:
		b = regions[0].Bound
		for _, r := range regions[1:] {
			b = b.Union(r.Bound)
		}
	default:
		return ""
	}
	// A margin of a third of the size on each side shows the neighbourhood.
	dx, dy := math.Max(b.Max[0]-b.Min[0], 0.01), math.Max(b.Max[1]-b.Min[1], 0.01)
	b = orb.Bound{Min: orb.Point{b.Min[0] - dx/3, b.Min[1] - dy/3}, Max: orb.Point{b.Max[0] + dx/3, b.Max[1] + dy/3}}
	k := math.Cos((b.Min[1] + b.Max[1]) / 2 * math.Pi / 180)
	const width = 600.0
	scale := width / ((b.Max[0] - b.Min[0]) * k)
	height := math.Round((b.Max[1] - b.Min[1]) * scale)
	project := func(p orb.Point) (float64, float64) {
		return (p[0] - b.Min[0]) * k * scale, (b.Max[1] - p[1]) * scale
	}
	path := func(r orb.Ring) string {
		var sb strings.Builder
		for i, p := range r {
			x, y := project(p)
			if i == 0 {
				fmt.Fprintf(&sb, "M%.1f %.1f", x, y)
			} else {
				fmt.Fprintf(&sb, "L%.1f %.1f", x, y)
			}
		}
		sb.WriteString("Z")
		return sb.String()
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="map-title" class="map">`, width, height)
	fmt.Fprintf(&sb, `<title id="map-title">%s</title>`, template.HTMLEscapeString(label))
	fmt.Fprintf(&sb, `<rect width="%.0f" height="%.0f" fill="#f4f4f0"/>`, width, height)
	// Region outlines, simplified to what the drawing can show.
	dp := simplify.DouglasPeucker((b.Max[0] - b.Min[0]) / 300)
	for _, reg := range regions {
		for _, poly := range dp.MultiPolygon(reg.Geometry.Clone()) {
			for _, ring := range poly {
				if ring.Bound().Intersects(b) {
					fmt.Fprintf(&sb, `<path d="%s" fill="#ffffff" stroke="#777" stroke-width="1"/>`, path(ring))
				}
			}
		}
	}
	for _, s := range shapes {
		fmt.Fprintf(&sb, `<path d="%s" fill="#b3261e" fill-opacity="0.35" stroke="#7a0010" stroke-width="2"/>`, path(s))
	}
	sb.WriteString(`</svg>`)
	return sb.String()
}

// circle approximates a CAP circle (km) by a 48-gon.
func circle(c orb.Point, km float64) orb.Ring {
	r := make(orb.Ring, 0, 49)
	dLat := km / 111.32
	dLon := dLat / math.Max(math.Cos(c[1]*math.Pi/180), 0.01)
	for i := 0; i <= 48; i++ {
		a := 2 * math.Pi * float64(i) / 48
		r = append(r, orb.Point{c[0] + dLon*math.Cos(a), c[1] + dLat*math.Sin(a)})
	}
	return r
}

// ETag is a strong entity tag of a rendered page.
func ETag(body []byte) string {
	h := fnv.New64a()
	_, _ = h.Write(body)
	return fmt.Sprintf(`"%x"`, h.Sum64())
}
