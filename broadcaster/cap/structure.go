package cap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// XMLDSigNamespace is the namespace of the XML signature an <alert> may
// carry after its <info> blocks: the only foreign element the CAP 1.2
// schema allows.
const XMLDSigNamespace = "http://www.w3.org/2000/09/xmldsig#"

// xsiNamespace is XML Schema instance's: its attributes (schemaLocation)
// are allowed anywhere.
const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

// value is the lexical rule of a simple-typed element of the schema.
type value int

const (
	plain    value = iota // xs:string: any text, kept as written
	enumV                 // xs:string enumeration: exactly one of the values, no padding
	dateTime              // CAP's dateTime pattern (whitespace collapsed)
	language              // xs:language
	integer               // xs:integer
	decimal               // xs:decimal
)

// particle is one element of a content model: its name, how often it may
// occur, and its content (children for a complex type, else a value rule).
type particle struct {
	name     string
	min, max int // max -1: unbounded
	value    value
	enum     []string
	children []particle
}

func one(name string, v value) particle      { return particle{name: name, min: 1, max: 1, value: v} }
func optional(name string, v value) particle { return particle{name: name, max: 1, value: v} }
func many(name string, min int, v value) particle {
	return particle{name: name, min: min, max: -1, value: v}
}
func enumOf[T ~string](p particle, values []T) particle {
	p.value = enumV
	for _, v := range values {
		p.enum = append(p.enum, string(v))
	}
	return p
}

// pair is the content of eventCode, parameter and geocode.
var pair = []particle{one("valueName", plain), one("value", plain)}

// alertModel is the OASIS CAP 1.2 schema's content model, element for
// element (CAP-v1.2.xsd).
var alertModel = particle{name: "alert", min: 1, max: 1, children: []particle{
	one("identifier", plain), one("sender", plain), one("sent", dateTime),
	enumOf(one("status", 0), statuses), enumOf(one("msgType", 0), msgTypes),
	optional("source", plain), enumOf(one("scope", 0), scopes),
	optional("restriction", plain), optional("addresses", plain), many("code", 0, plain),
	optional("note", plain), optional("references", plain), optional("incidents", plain),
	{name: "info", max: -1, children: []particle{
		optional("language", language), enumOf(many("category", 1, 0), categories), one("event", plain),
		enumOf(many("responseType", 0, 0), responseTypes), enumOf(one("urgency", 0), urgencies),
		enumOf(one("severity", 0), severities), enumOf(one("certainty", 0), certainties),
		optional("audience", plain), {name: "eventCode", max: -1, children: pair},
		optional("effective", dateTime), optional("onset", dateTime), optional("expires", dateTime),
		optional("senderName", plain), optional("headline", plain), optional("description", plain),
		optional("instruction", plain), optional("web", plain), optional("contact", plain),
		{name: "parameter", max: -1, children: pair},
		{name: "resource", max: -1, children: []particle{
			one("resourceDesc", plain), one("mimeType", plain), optional("size", integer),
			optional("uri", plain), optional("derefUri", plain), optional("digest", plain),
		}},
		{name: "area", max: -1, children: []particle{
			one("areaDesc", plain), many("polygon", 0, plain), many("circle", 0, plain),
			{name: "geocode", max: -1, children: pair},
			optional("altitude", decimal), optional("ceiling", decimal),
		}},
	}},
}}

var (
	dateTimePattern = regexp.MustCompile(`^\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-,+]\d\d:\d\d$`)
	languagePattern = regexp.MustCompile(`^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$`)
	integerPattern  = regexp.MustCompile(`^[+-]?\d+$`)
	decimalPattern  = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)$`)
)

// CheckStructure checks data, a document Parse accepts, against the
// structural rules of the OASIS CAP 1.2 schema that Parse is lenient
// about: element order and cardinality (a second <sent> is an error, not
// silently the one kept), unknown elements in the CAP namespace, elements
// of other namespaces (only an XML-DSig signature, after the <info>
// blocks), attributes, markup inside text elements, padded enumerations
// and the lexical form of times, languages and numbers. Each problem
// carries its element path. Validate adds the rules the schema cannot
// express.
func CheckStructure(data []byte) Problems {
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	d.CharsetReader = charsetReader
	var s structure
	for {
		tok, err := d.Token()
		if err != nil {
			if err != io.EOF {
				s.add("alert", "%v", err)
			}
			return s.problems
		}
		if start, ok := tok.(xml.StartElement); ok {
			s.element(d, start, alertModel, "alert")
			return s.problems
		}
	}
}

type structure struct{ problems Problems }

func (s *structure) add(path, format string, args ...any) {
	s.problems = append(s.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// attributes refuses attributes: the schema declares none (namespace
// declarations and xsi: attributes are not attributes to it).
func (s *structure) attributes(start xml.StartElement, path string) {
	for _, a := range start.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") || a.Name.Space == xsiNamespace {
			continue
		}
		s.add(path, "attribute %q is not allowed", a.Name.Local)
	}
}

// element checks one element (its start already read) against p and
// reads up to its end.
func (s *structure) element(d *xml.Decoder, start xml.StartElement, p particle, path string) {
	s.attributes(start, path)
	if p.children == nil {
		s.simple(d, p, path)
		return
	}
	i, count := 0, 0 // the particle reached, and how often it occurred
	seen := map[string]int{}
	// A required element passed over is reported where it was missed, and
	// taken back if it turns up out of order (one problem for a swap).
	const missingMsg = "required element is missing"
	miss := func(c particle, before string) { s.add(path+"/"+c.name, "%s%s", missingMsg, before) }
	signed := false // an XML-DSig element was read: only more may follow
	for {
		tok, err := d.Token()
		if err != nil {
			return
		}
		switch t := tok.(type) {
		case xml.EndElement:
			for ; i < len(p.children); i++ {
				if c := p.children[i]; count < c.min {
					miss(c, "")
				}
				count = 0
			}
			return
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				s.add(path, "text %q is not allowed between elements", truncateText(string(t)))
			}
		case xml.StartElement:
			name := t.Name.Local
			if t.Name.Space != Namespace {
				if p.name == "alert" && t.Name.Space == XMLDSigNamespace {
					signed = true
				} else {
					s.add(path+"/"+name, "element in namespace %q is not allowed here (only an XML-DSig signature, after the <info> blocks)", t.Name.Space)
				}
				_ = d.Skip()
				continue
			}
			j := slices.IndexFunc(p.children, func(c particle) bool { return c.name == name })
			if j < 0 {
				s.add(path+"/"+name, "unknown element in the CAP namespace")
				_ = d.Skip()
				continue
			}
			c := p.children[j]
			childPath := path + "/" + name
			if c.max != 1 {
				childPath = fmt.Sprintf("%s/%s[%d]", path, name, seen[name])
			}
			seen[name]++
			switch {
			case signed:
				s.add(childPath, "comes after the XML signature; the signature must be last")
			case j < i:
				s.add(childPath, "out of order: <%s> must come before <%s>", name, p.children[i].name)
				s.problems = slices.DeleteFunc(s.problems, func(m Problem) bool {
					return m.Path == path+"/"+name && strings.HasPrefix(m.Message, missingMsg)
				})
			case j == i && c.max > 0 && count >= c.max:
				s.add(childPath, "<%s> may occur only once here", name)
			default:
				for ; i < j; i++ {
					if m := p.children[i]; count < m.min {
						miss(m, fmt.Sprintf(" (expected before <%s>)", name))
					}
					count = 0
				}
				count++
			}
			s.element(d, t, c, childPath)
		}
	}
}

// simple checks a text-only element: no child elements, and its value's
// lexical form.
func (s *structure) simple(d *xml.Decoder, p particle, path string) {
	var text strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				s.add(path, "markup <%s> is not allowed inside a text element", t.Name.Local)
			}
			depth++
		case xml.EndElement:
			if depth == 0 {
				s.value(p, text.String(), path)
				return
			}
			depth--
		case xml.CharData:
			if depth == 0 {
				text.Write(t)
			}
		}
	}
}

func (s *structure) value(p particle, v, path string) {
	collapsed := strings.Join(strings.Fields(v), " ")
	switch p.value {
	case enumV:
		switch {
		case slices.Contains(p.enum, v):
		case slices.Contains(p.enum, strings.TrimSpace(v)):
			s.add(path, "%q has spaces around the value; the schema allows exactly %q", v, strings.TrimSpace(v))
		default:
			s.add(path, "%q is not one of %s", v, strings.Join(p.enum, ", "))
		}
	case dateTime:
		if !dateTimePattern.MatchString(collapsed) {
			s.add(path, "%q is not a CAP time YYYY-MM-DDThh:mm:ss±hh:mm", truncateText(v))
		}
	case language:
		if collapsed != "" && !languagePattern.MatchString(collapsed) {
			s.add(path, "%q is not a language tag", truncateText(v))
		}
	case integer:
		if !integerPattern.MatchString(collapsed) {
			s.add(path, "%q is not an integer", truncateText(v))
		}
	case decimal:
		if !decimalPattern.MatchString(collapsed) {
			s.add(path, "%q is not a decimal number", truncateText(v))
		}
	}
}

func truncateText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Check parses data and reports every problem: the schema's (CheckStructure)
// and then, for paths the schema did not already fault, the rules Validate
// adds. err is Parse's: a document that cannot be read at all.
func Check(data []byte) (*Alert, Problems, error) {
	a, err := Parse(data)
	if err != nil {
		return nil, nil, err
	}
	problems := CheckStructure(data)
	faulted := make(map[string]bool, len(problems))
	for _, p := range problems {
		faulted[p.Path] = true
	}
	for _, p := range a.Validate() {
		if !faulted[p.Path] {
			problems = append(problems, p)
		}
	}
	return a, problems, nil
}
