// Package cap is the OASIS Common Alerting Protocol 1.2 model: it parses,
// validates and emits CAP XML.
//
// Parse reads a document safely (bounded size, no DTDs or external
// entities, UTF-8 or ISO-8859-1) into an Alert; Validate reports every
// problem with its element path; Marshal emits XML that parses back to the
// same Alert. Geometry strings are converted to orb types (lon,lat) here,
// once.
//
// The package checks CAP's own rules only. It does not check the schema's
// element order, verify XML signatures (elements outside the CAP namespace
// are skipped, so Marshal's output carries none), resolve geocodes or judge
// whether a polygon is simple; and it knows nothing of originators, regions
// or delivery.
package cap

import "encoding/xml"

// Namespace is the CAP 1.2 XML namespace.
const Namespace = "urn:oasis:names:tc:emergency:cap:1.2"

// Alert is a CAP 1.2 <alert>. Fields hold the document's text, trimmed
// (times stay strings so that emit(parse(x)) keeps them); use the accessor
// methods for parsed values.
//
// Repeated text elements carry no omitempty: encoding/xml would drop an
// empty <polygon/> from a list, and Marshal must keep what Parse read.
type Alert struct {
	XMLName     xml.Name `xml:"urn:oasis:names:tc:emergency:cap:1.2 alert" json:"-"`
	Identifier  string   `xml:"identifier" json:"identifier"`
	Sender      string   `xml:"sender" json:"sender"`
	Sent        string   `xml:"sent" json:"sent"`
	Status      Status   `xml:"status" json:"status"`
	MsgType     MsgType  `xml:"msgType" json:"msgType"`
	Source      string   `xml:"source,omitempty" json:"source,omitempty"`
	Scope       Scope    `xml:"scope" json:"scope"`
	Restriction string   `xml:"restriction,omitempty" json:"restriction,omitempty"`
	Addresses   string   `xml:"addresses,omitempty" json:"addresses,omitempty"`
	Code        []string `xml:"code" json:"code,omitempty"`
	Note        string   `xml:"note,omitempty" json:"note,omitempty"`
	References  string   `xml:"references,omitempty" json:"references,omitempty"`
	Incidents   string   `xml:"incidents,omitempty" json:"incidents,omitempty"`
	Info        []Info   `xml:"info" json:"info,omitempty"`
}

// Info is a CAP <info> block: the alert's content in one language.
type Info struct {
	Language     string       `xml:"language,omitempty" json:"language,omitempty"`
	Category     []string     `xml:"category" json:"category"`
	Event        string       `xml:"event" json:"event"`
	ResponseType []string     `xml:"responseType" json:"responseType,omitempty"`
	Urgency      Urgency      `xml:"urgency" json:"urgency"`
	Severity     Severity     `xml:"severity" json:"severity"`
	Certainty    Certainty    `xml:"certainty" json:"certainty"`
	Audience     string       `xml:"audience,omitempty" json:"audience,omitempty"`
	EventCode    []NamedValue `xml:"eventCode,omitempty" json:"eventCode,omitempty"`
	Effective    string       `xml:"effective,omitempty" json:"effective,omitempty"`
	Onset        string       `xml:"onset,omitempty" json:"onset,omitempty"`
	Expires      string       `xml:"expires,omitempty" json:"expires,omitempty"`
	SenderName   string       `xml:"senderName,omitempty" json:"senderName,omitempty"`
	Headline     string       `xml:"headline,omitempty" json:"headline,omitempty"`
	Description  string       `xml:"description,omitempty" json:"description,omitempty"`
	Instruction  string       `xml:"instruction,omitempty" json:"instruction,omitempty"`
	Web          string       `xml:"web,omitempty" json:"web,omitempty"`
	Contact      string       `xml:"contact,omitempty" json:"contact,omitempty"`
	Parameter    []NamedValue `xml:"parameter,omitempty" json:"parameter,omitempty"`
	Resource     []Resource   `xml:"resource,omitempty" json:"resource,omitempty"`
	Area         []Area       `xml:"area,omitempty" json:"area,omitempty"`
}

// NamedValue is the valueName/value pair used by eventCode, parameter and
// geocode.
type NamedValue struct {
	ValueName string `xml:"valueName" json:"valueName"`
	Value     string `xml:"value" json:"value"`
}

// Resource is a CAP <resource>.
type Resource struct {
	ResourceDesc string `xml:"resourceDesc" json:"resourceDesc"`
	MimeType     string `xml:"mimeType" json:"mimeType"`
	Size         string `xml:"size,omitempty" json:"size,omitempty"`
	URI          string `xml:"uri,omitempty" json:"uri,omitempty"`
	DerefURI     string `xml:"derefUri,omitempty" json:"derefUri,omitempty"`
	Digest       string `xml:"digest,omitempty" json:"digest,omitempty"`
}

// Area is a CAP <area>: the union of its polygons, circles and geocodes.
type Area struct {
	AreaDesc string       `xml:"areaDesc" json:"areaDesc"`
	Polygon  []string     `xml:"polygon" json:"polygon,omitempty"`
	Circle   []string     `xml:"circle" json:"circle,omitempty"`
	Geocode  []NamedValue `xml:"geocode,omitempty" json:"geocode,omitempty"`
	Altitude string       `xml:"altitude,omitempty" json:"altitude,omitempty"`
	Ceiling  string       `xml:"ceiling,omitempty" json:"ceiling,omitempty"`
}
