package cap

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// doc wraps body in a CAP 1.2 <alert> with the required top-level fields.
func doc(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>ID-1</identifier>
  <sender>s@herald.example</sender>
  <sent>2026-11-25T10:00:00-08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>` + body + `
</alert>`
}

func errIs(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func isVersion(v string) func(error) bool {
	return func(err error) bool {
		var ve *VersionError
		return errors.As(err, &ve) && ve.Version == v
	}
}

func isRoot(local string) func(error) bool {
	return func(err error) bool {
		var re *RootError
		return errors.As(err, &re) && re.Name.Local == local
	}
}

func isSyntax(line int, fragment string) func(error) bool {
	return func(err error) bool {
		var se *SyntaxError
		return errors.As(err, &se) && (line == 0 || se.Line == line) && strings.Contains(se.Msg, fragment)
	}
}

func TestParseErrors(t *testing.T) {
	valid := doc("")
	padded := valid + "<!--" + strings.Repeat("x", MaxSize-len(valid)-7) + "-->"
	tests := []struct {
		name    string
		in      string
		wantErr func(error) bool // nil: must parse
	}{
		{"minimal alert", valid, nil},
		{"exactly MaxSize", padded, nil},
		{"one byte over MaxSize", padded + " ", errIs(ErrTooLarge)},
		{"doctype", `<!DOCTYPE alert>` + valid[strings.Index(valid, "<alert"):], errIs(ErrDTD)},
		{"external entity (XXE)", `<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>`, errIs(ErrDTD)},
		{"undeclared entity", strings.Replace(valid, "ID-1", "&xxe;", 1), isSyntax(3, "entity")},
		{"CAP 1.1", `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>`, isVersion("1.1")},
		{"CAP 1.0 OASIS namespace", `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.0"/>`, isVersion("1.0")},
		{"CAP 1.0 published namespace", `<alert xmlns="http://www.incident.com/cap/1.0"/>`, isVersion("1.0")},
		{"Atom feed", `<feed xmlns="http://www.w3.org/2005/Atom"><entry/></feed>`, isRoot("feed")},
		{"EDXL-DE wrapper", `<EDXLDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:1.0"/>`, isRoot("EDXLDistribution")},
		{"alert without namespace", `<alert><identifier>x</identifier></alert>`, isRoot("alert")},
		{"trailing element", valid + "\n<alert/>", isSyntax(0, "after the root")},
		{"trailing text", valid + "\ngarbage", isSyntax(0, "outside the root")},
		{"trailing comment and whitespace", valid + "\n<!-- end -->\n\n", nil},
		{"text before root", "hello" + valid[strings.Index(valid, "<alert"):], isSyntax(1, "outside the root")},
		{"declaration after whitespace", "\n " + valid, isSyntax(0, "XML declaration")},
		{"mismatched tags", doc("\n<info></event>"), isSyntax(9, "")},
		{"unclosed root", strings.TrimSuffix(valid, "</alert>"), isSyntax(0, "unexpected EOF")},
		{"empty document", "", isSyntax(0, "no root element")},
		{"whitespace only", " \n", isSyntax(0, "no root element")},
		{"unsupported encoding", strings.Replace(valid, "UTF-8", "windows-1252", 1), errIs(ErrCharset)},
		{"US-ASCII declared", strings.Replace(valid, "UTF-8", "US-ASCII", 1), nil},
		{"XML 1.1", strings.Replace(valid, `version="1.0"`, `version="1.1"`, 1), func(err error) bool { return err != nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte(tt.in))
			if tt.wantErr == nil {
				if err != nil || a == nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse succeeded; want an error")
			}
			if !tt.wantErr(err) {
				t.Fatalf("Parse error %q (%T) is not the one expected", err, err)
			}
		})
	}
}

func TestVersionErrorMessage(t *testing.T) {
	_, err := Parse([]byte(`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>`))
	if got, want := err.Error(), "CAP 1.1 is not supported; Herald accepts CAP 1.2"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name string
		in   string
		got  func(*Alert) string
		want string
	}{
		{"text is trimmed", doc("<note>\n\t  two words \r\n</note>"), func(a *Alert) string { return a.Note }, "two words"},
		{"text split by comment and CDATA is trimmed as a whole",
			doc("<note> a <!-- c --> b <![CDATA[ <c> ]]>\n</note>"), func(a *Alert) string { return a.Note }, "a  b  <c>"},
		{"entities are decoded", doc("<note>&lt;&amp;&#233;</note>"), func(a *Alert) string { return a.Note }, "<&é"},
		{"foreign element with a CAP name is skipped",
			doc(`<x:note xmlns:x="urn:example">foreign</x:note><note>ours</note>`), func(a *Alert) string { return a.Note }, "ours"},
		{"foreign subtree is skipped whole",
			doc(`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><note>sig</note></Signature>`), func(a *Alert) string { return a.Note }, ""},
		{"prefixed CAP namespace",
			`<cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2"><cap:identifier>P-1</cap:identifier></cap:alert>`,
			func(a *Alert) string { return a.Identifier }, "P-1"},
		{"repeated elements in order", doc("<code>a</code><code> b </code>"), func(a *Alert) string { return strings.Join(a.Code, "|") }, "a|b"},
		{"empty polygon kept", doc("<info><area><areaDesc>x</areaDesc><polygon/></area></info>"),
			func(a *Alert) string { return fmt.Sprintf("%q", a.Info[0].Area[0].Polygon) }, `[""]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := tt.got(a); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTestdata(t *testing.T) {
	tests := []struct {
		file      string
		event     string
		areaDesc  string
		infoCount int
	}{
		{"boil_water.xml", "Boil Water Advisory", "Renton, Tukwila and Newcastle, King County, Washington", 2},
		{"iso-8859-1.xml", "Éclosion de rougeole", "Montréal, Québec", 1},
		{"bom.xml", "Measles exposure", "Downtown Seattle", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if ps := a.Validate(); ps != nil {
				t.Errorf("Validate: %v", ps)
			}
			if len(a.Info) != tt.infoCount {
				t.Fatalf("%d infos, want %d", len(a.Info), tt.infoCount)
			}
			if got := a.Info[0].Event; got != tt.event {
				t.Errorf("event = %q, want %q", got, tt.event)
			}
			if got := a.Info[0].Area[0].AreaDesc; got != tt.areaDesc {
				t.Errorf("areaDesc = %q, want %q", got, tt.areaDesc)
			}
		})
	}
}

func TestParseDepthBound(t *testing.T) {
	deep := `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><info><parameter>` +
		strings.Repeat("<x xmlns=\"urn:example\">", 40) + strings.Repeat("</x>", 40) + `</parameter></info></alert>`
	_, err := Parse([]byte(deep))
	var de *DepthError
	if !errors.As(err, &de) || !strings.HasPrefix(de.Path, "alert/info/parameter/x/…/x") {
		t.Fatalf("Parse = %v, want a DepthError with the path", err)
	}
	ok := `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier>` +
		strings.Repeat("<x xmlns=\"urn:example\">", 20) + strings.Repeat("</x>", 20) + `</alert>`
	if _, err := Parse([]byte(ok)); err != nil {
		t.Fatalf("nesting within the bound refused: %v", err)
	}
}

func TestToUTF8(t *testing.T) {
	latin1 := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><note>Exposici\xf3n</note></alert>")
	got, err := ToUTF8(latin1)
	if err != nil {
		t.Fatal(err)
	}
	want := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><note>Exposición</note></alert>"
	if string(got) != want {
		t.Fatalf("ToUTF8 = %q\nwant %q", got, want)
	}
	a, err := Parse(got)
	if err != nil || a.Note != "Exposición" {
		t.Fatalf("converted document parses to %+v, %v", a, err)
	}
	for _, same := range []string{
		`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>`,
		`<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>`,
	} {
		if got, err := ToUTF8([]byte(same)); err != nil || string(got) != same {
			t.Errorf("ToUTF8(%q) = %q, %v; want it unchanged", same, got, err)
		}
	}
	if _, err := ToUTF8([]byte(`<?xml version="1.0" encoding="EBCDIC"?><a/>`)); !errors.Is(err, ErrCharset) {
		t.Errorf("unsupported charset: %v", err)
	}
}
