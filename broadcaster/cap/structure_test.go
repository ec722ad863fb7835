package cap

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// schemaAlert is a schema-valid alert exercising most elements, in the
// schema's order, for the variants below to break one rule each.
const schemaAlert = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KCPH-1</identifier>
  <sender>alerts@kingcounty.example</sender>
  <sent>2026-12-03T10:00:00-08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <code>IPAWSv1.0</code>
  <info>
    <language>en-US</language>
    <category>Health</category>
    <event>Boil Water Advisory</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <eventCode><valueName>SAME</valueName><value>BWW</value></eventCode>
    <expires>2026-12-04T10:00:00-08:00</expires>
    <senderName>Public Health</senderName>
    <headline>Boil water</headline>
    <description>Bacteria were found.</description>
    <parameter><valueName>CMAMtext</valueName><value>Boil water</value></parameter>
    <resource><resourceDesc>Map</resourceDesc><mimeType>image/png</mimeType><size>1024</size></resource>
    <area>
      <areaDesc>Renton</areaDesc>
      <polygon>47.53,-122.26 47.53,-122.14 47.46,-122.11 47.53,-122.26</polygon>
      <geocode><valueName>SAME</valueName><value>053033</value></geocode>
      <altitude>10.5</altitude>
    </area>
  </info>
</alert>
`

func TestCheckStructure(t *testing.T) {
	if probs := CheckStructure([]byte(schemaAlert)); len(probs) > 0 {
		t.Fatalf("the valid alert: %v", probs)
	}
	swap := func(a, b string) func(string) string {
		return func(s string) string {
			s = strings.Replace(s, a, "\x00", 1)
			s = strings.Replace(s, b, a, 1)
			return strings.Replace(s, "\x00", b, 1)
		}
	}
	replace := func(old, new string) func(string) string {
		return func(s string) string { return strings.Replace(s, old, new, 1) }
	}
	sig := `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature>`
	tests := []struct {
		name  string
		edit  func(string) string
		path  string // "" when the variant is valid
		words string
		// libxml2 is the independent check; where it is known to differ
		// from the schema's text, why.
		xmllintDiffers string
	}{
		{"geocode before polygon", swap("<polygon>47.53,-122.26 47.53,-122.14 47.46,-122.11 47.53,-122.26</polygon>", "<geocode><valueName>SAME</valueName><value>053033</value></geocode>"),
			"alert/info[0]/area[0]/polygon[0]", "out of order", ""},
		{"senderName after headline", swap("<senderName>Public Health</senderName>", "<headline>Boil water</headline>"), "alert/info[0]/senderName", "out of order", ""},
		{"value before valueName", swap("<valueName>SAME</valueName>", "<value>BWW</value>"), "alert/info[0]/eventCode[0]/valueName", "out of order", ""},
		{"code before scope", swap("<scope>Public</scope>", "<code>IPAWSv1.0</code>"), "alert/scope", "out of order", ""},
		{"second sent", replace("<status>", "<sent>2026-12-03T11:00:00-08:00</sent><status>"), "alert/sent", "only once", ""},
		{"second identifier", replace("<sender>", "<identifier>KCPH-2</identifier><sender>"), "alert/identifier", "only once", ""},
		{"markup inside description", replace("Bacteria were found.", "Bacteria <b>were</b> found."), "alert/info[0]/description", "markup", ""},
		{"padded status", replace("<status>Actual</status>", "<status> Actual </status>"), "alert/status", "spaces around", ""},
		{"padded severity", replace("<severity>Severe</severity>", "<severity>Severe\n</severity>"), "alert/info[0]/severity", "spaces around", ""},
		{"unknown CAP element", replace("<scope>Public</scope>", "<scope>Public</scope><priority>1</priority>"), "alert/priority", "unknown element", ""},
		{"foreign element", replace("<scope>Public</scope>", `<scope>Public</scope><x:note xmlns:x="urn:example">hi</x:note>`), "alert/note", "not allowed here", ""},
		{"foreign element in info", replace("<headline>", `<x:y xmlns:x="urn:example"/><headline>`), "alert/info[0]/y", "not allowed here", ""},
		{"XML signature at the end", replace("</info>\n</alert>", "</info>"+sig+"</alert>"), "", "", ""},
		{"info after the signature", replace("<info>", sig+"<info>"), "alert/info[0]", "after the XML signature",
			"libxml2 lets an element of the sequence follow the lax xmldsig wildcard that the schema puts last"},
		{"attribute on an element", replace("<status>", `<status lang="en">`), "alert/status", "attribute", ""},
		{"missing event", replace("<event>Boil Water Advisory</event>", ""), "alert/info[0]/event", "required", ""},
		{"missing areaDesc", replace("<areaDesc>Renton</areaDesc>", ""), "alert/info[0]/area[0]/areaDesc", "required", ""},
		{"bad size", replace("<size>1024</size>", "<size>1 KB</size>"), "alert/info[0]/resource[0]/size", "not an integer", ""},
		{"bad altitude", replace("<altitude>10.5</altitude>", "<altitude>ten</altitude>"), "alert/info[0]/area[0]/altitude", "not a decimal", ""},
		{"bad time", replace("<sent>2026-12-03T10:00:00-08:00</sent>", "<sent>2026-12-03T10:00:00Z</sent>"), "alert/sent", "not a CAP time", ""},
		{"padded time is fine", replace("<sent>2026-12-03T10:00:00-08:00</sent>", "<sent> 2026-12-03T10:00:00-08:00 </sent>"), "", "", ""},
		{"text between elements", replace("<scope>Public</scope>", "<scope>Public</scope>stray"), "alert", "not allowed between", ""},
		{"comment inside text", replace("Bacteria were found.", "Bacteria <!-- c --> were found."), "", "", ""},
	}
	xmllint, _ := exec.LookPath("xmllint")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.edit(schemaAlert)
			if doc == schemaAlert {
				t.Fatal("the edit changed nothing")
			}
			if _, err := Parse([]byte(doc)); err != nil {
				t.Fatalf("Parse: %v (the variants must reach CheckStructure)", err)
			}
			probs := CheckStructure([]byte(doc))
			if tt.path == "" {
				if len(probs) > 0 {
					t.Fatalf("valid variant refused: %v", probs)
				}
			} else if len(probs) == 0 || probs[0].Path != tt.path || !strings.Contains(probs[0].Message, tt.words) {
				t.Fatalf("problems %v; want first at %s containing %q", probs, tt.path, tt.words)
			}
			if xmllint != "" {
				// The OASIS schema, run by an independent validator, agrees.
				f := filepath.Join(t.TempDir(), "alert.xml")
				if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(xmllint, "--noout", "--schema", "testdata/schema/CAP-v1.2.xsd", f).CombinedOutput()
				if xsdValid := err == nil; xsdValid != (tt.path == "") && tt.xmllintDiffers == "" {
					t.Errorf("xmllint disagrees (valid=%v):\n%s", xsdValid, bytes.TrimSpace(out))
				}
			}
		})
	}
}

func FuzzCheckStructure(f *testing.F) {
	f.Add([]byte(schemaAlert))
	f.Add([]byte(`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><info><area><geocode><value/></geocode></area></info></alert>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Parse(data); err != nil {
			return
		}
		for _, p := range CheckStructure(data) {
			if !strings.HasPrefix(p.Path, "alert") || p.Message == "" {
				t.Fatalf("problem without a path or message: %+v", p)
			}
		}
	})
}

// TestMarshalIsSchemaValid: what Herald writes itself (Marshal, CancelOf)
// passes CheckStructure and, when xmllint is installed, the OASIS schema.
func TestMarshalIsSchemaValid(t *testing.T) {
	a, err := Parse([]byte(schemaAlert))
	if err != nil {
		t.Fatal(err)
	}
	xmllint, _ := exec.LookPath("xmllint")
	for name, doc := range map[string]*Alert{"alert": a, "cancel": CancelOf(a, time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC))} {
		b, err := Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if probs := CheckStructure(b); len(probs) > 0 {
			t.Errorf("%s: %v\n%s", name, probs, b)
		}
		if xmllint == "" {
			continue
		}
		f := filepath.Join(t.TempDir(), name+".xml")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(xmllint, "--noout", "--schema", "testdata/schema/CAP-v1.2.xsd", f).CombinedOutput(); err != nil {
			t.Errorf("%s is not schema-valid:\n%s", name, out)
		}
	}
}

func TestIPAWSWarnings(t *testing.T) {
	a, err := Parse([]byte(schemaAlert))
	if err != nil {
		t.Fatal(err)
	}
	// The sample is close to the profile: it has the code, an English
	// info, an expiry, SAME codes and a CMAMtext.
	if w := a.IPAWSWarnings(); len(w) != 0 {
		t.Fatalf("warnings on the IPAWS-shaped sample: %v", w)
	}
	a.Code = nil
	a.Info[0].Urgency = UrgencyFuture
	a.Info[0].Parameter[0].Value = strings.Repeat("x", 91)
	a.Info[0].Area[0].Geocode = nil
	var paths []string
	for _, w := range a.IPAWSWarnings() {
		paths = append(paths, w.Path)
	}
	want := []string{"alert/code", "alert/info[0]/parameter", "alert/info[0]/urgency", "alert/info[0]/area[0]/geocode"}
	if !slices.Equal(paths, want) {
		t.Errorf("warnings at %v, want %v", paths, want)
	}
}
