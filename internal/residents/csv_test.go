package residents

import (
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseCSV(t *testing.T) {
	type row struct {
		phone    string
		lat, lon float64
		lang     string
		exercise bool
	}
	tests := []struct {
		name     string
		in       string
		region   string
		want     []row
		problems []RowError
		err      error
	}{
		{
			name: "good rows with all columns",
			in: "phone,lat,lon,language,exercise\n" +
				"(206) 555-0100,47.6,-122.3,es,true\n" +
				"+12065550101,47.7,-122.4,,false\n" +
				"206.555.0102,-90,180,EN-us,\n",
			want: []row{
				{"+12065550100", 47.6, -122.3, "es", true},
				{"+12065550101", 47.7, -122.4, "en", false},
				{"+12065550102", -90, 180, "en-US", false},
			},
		},
		{
			name: "required columns only",
			in:   "phone,lat,lon\n2065550100,1,2\n",
			want: []row{{"+12065550100", 1, 2, "en", false}},
		},
		{
			name: "reordered columns, header case and spaces",
			in:   " Exercise , LON,language,Lat,PHONE\nyes,-122.3,fr-CA,47.6,+12065550100\n",
			want: []row{{"+12065550100", 47.6, -122.3, "fr-CA", true}},
		},
		{
			name: "BOM, CRLF, quoted fields and blank lines",
			in: "\uFEFFphone,lat,lon,language\r\n\r\n" +
				"\"+1 (206) 555-0100\",\"47.6\",-122.3,\"es\"\r\n" +
				" , , , \r\n" +
				"2065550101,\"1\n\",2,en\r\n" +
				"2065550102,1,2,en-,\r\n", // line 7: the quoted newline counts
			want: []row{
				{"+12065550100", 47.6, -122.3, "es", false},
				{"+12065550101", 1, 2, "en", false},
			},
			problems: []RowError{{7, "want 4 fields, got 5"}},
		},
		{
			name:   "national numbers read in the default region",
			in:     "phone,lat,lon\n07911 123456,51.5,-0.1\n+12065550100,1,1\n",
			region: "GB",
			want: []row{
				{"+447911123456", 51.5, -0.1, "en", false},
				{"+12065550100", 1, 1, "en", false},
			},
		},
		{
			name: "duplicate phones: the last row wins in the first's place",
			in: "phone,lat,lon,language\n" +
				"+12065550100,1,1,en\n" +
				"+12065550101,2,2,en\n" +
				"(206) 555-0100,3,3,es\n",
			want: []row{
				{"+12065550100", 3, 3, "es", false},
				{"+12065550101", 2, 2, "en", false},
			},
		},
		{
			name: "bad rows are reported by line and skipped",
			in: "phone,lat,lon,language,exercise\n" + // 1
				"+12065550100,47.6,-122.3,en,true\n" + // 2 good
				"2065550,1,1,en,true\n" + // 3
				"+442071838750,1,1,en,true\n" + // 4 landline
				",1,1,en,true\n" + // 5
				"+12065550101,91,1,en,true\n" + // 6
				"+12065550102,north,1,en,true\n" + // 7
				"+12065550103,1,-180.5,en,true\n" + // 8
				"+12065550104,1,Inf,en,true\n" + // 9
				"+12065550105,1,1,english,true\n" + // 10
				"+12065550106,1,1,en,maybe\n" + // 11
				"+12065550107,1,1\n" + // 12
				"+12065550108,1,1,en,true,extra\n" + // 13
				"123,NaN,1,zz zz,2\n" + // 14: every problem at once
				"+12065550109,1,\"1\"x,en,true\n" + // 15 bad quote
				"+12065550110,5,6,,\n", // 16 good
			want: []row{
				{"+12065550100", 47.6, -122.3, "en", true},
				{"+12065550110", 5, 6, "en", false},
			},
			problems: []RowError{
				{3, "phone: not a valid number"},
				{4, "phone: number cannot receive SMS"},
				{5, "phone: missing"},
				{6, "lat: not a number in [-90,90]"},
				{7, "lat: not a number in [-90,90]"},
				{8, "lon: not a number in [-180,180]"},
				{9, "lon: not a number in [-180,180]"},
				{10, "language: not a BCP 47 tag"},
				{11, "exercise: want true or false"},
				{12, "want 5 fields, got 3"},
				{13, "want 5 fields, got 6"},
				{14, "phone: not a valid number; lat: not a number in [-90,90]; language: not a BCP 47 tag; exercise: want true or false"},
				{15, `not valid CSV: extraneous or missing " in quoted-field`},
			},
		},
		{name: "empty file", in: "", err: ErrHeader},
		{name: "missing header", in: "+12065550100,47.6,-122.3\n", err: ErrHeader},
		{name: "missing required column", in: "phone,lat\n", err: ErrHeader},
		{name: "unknown column", in: "phone,lat,lon,name\n", err: ErrHeader},
		{name: "duplicate column", in: "phone,lat,lon,lat\n", err: ErrHeader},
		{name: "header only", in: "phone,lat,lon\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, problems, err := ParseCSV(strings.NewReader(tt.in), tt.region)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			var got []row
			for _, r := range rows {
				got = append(got, row{r.Phone, r.Lat, r.Lon, r.Language, r.Exercise})
				if err := r.Validate(); err != nil {
					t.Errorf("returned row does not validate: %v", err)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rows:\n got %v\nwant %v", got, tt.want)
			}
			if !slices.Equal(problems, tt.problems) {
				t.Errorf("problems:\n got %v\nwant %v", problems, tt.problems)
			}
		})
	}
}

func TestParseCSVHeaderErrorDoesNotEchoNumbers(t *testing.T) {
	_, _, err := ParseCSV(strings.NewReader("+12065550100,47.6,-122.3\n"), "")
	if err == nil || strings.Contains(err.Error(), "5550100") {
		t.Fatalf("err = %v: want a header error without the number", err)
	}
	_, _, err = ParseCSV(strings.NewReader("phone,lat,lon,Name\n"), "")
	if err == nil || !strings.Contains(err.Error(), `"name"`) {
		t.Fatalf("err = %v: want the unknown column named", err)
	}
}

func TestParseCSVLimits(t *testing.T) {
	const header = "phone,lat,lon\n"
	tests := []struct {
		name    string
		in      io.Reader
		maxRows int
		err     error
	}{
		{"endless rows", io.MultiReader(strings.NewReader(header), endless("+12065550100,1,1\n")), 1 << 30, ErrTooLarge},
		{"endless line", io.MultiReader(strings.NewReader(header), endless("x")), 1 << 30, ErrTooLarge},
		{"endless quoted field", io.MultiReader(strings.NewReader(header+`"`), endless("x")), 1 << 30, ErrTooLarge},
		{"rows beyond the limit", strings.NewReader(header + "1,1,1\n2,2,2\n3,3,3\n"), 2, ErrTooLarge},
		{"bad CSV rows count too", strings.NewReader(header + "1,1,1\n\"x\"y,1,1\n3,3,3\n"), 2, ErrTooLarge},
		{"blank lines do not count", strings.NewReader(header + "1,1,1\n\n,,\n2,2,2\n"), 2, nil},
		{"exactly the byte limit", strings.NewReader(header + strings.Repeat("1,1,1\n", 1000)), 1 << 30, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseCSV(tt.in, "", tt.maxRows, int64(len(header)+6000))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
}

type repeatReader struct{ s string }

func endless(s string) io.Reader { return &repeatReader{s} }

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], r.s)
	}
	return n, nil
}

// digitRun finds what could be part of a phone number in a message.
var digitRun = regexp.MustCompile(`[0-9]{4,}`)

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("phone,lat,lon,language,exercise\n(206) 555-0100,47.6,-122.3,es,true\n"), "US")
	f.Add([]byte("\uFEFFlon,phone,lat\r\n-122.3,\"+1 206 555 0101\",47.6\r\n\r\n"), "")
	f.Add([]byte("phone,lat,lon\n07911 123456,51.5,-0.1\n123,x,\"1\"x\n"), "GB")
	f.Add([]byte("phone,lat,lon,exercise\n+12065550100,91,NaN,maybe\n+12065550100,1,1,yes\n"), "us")
	f.Fuzz(func(t *testing.T, data []byte, region string) {
		rows, problems, err := ParseCSV(strings.NewReader(string(data)), region)
		if err != nil {
			return
		}
		for _, r := range rows {
			again, err := normalize(r, "ZZ") // an E.164 number needs no region
			if err != nil {
				t.Fatalf("returned row does not validate: %v", err)
			}
			if again != r {
				t.Fatalf("returned row is not normalized: %v vs %v", again, r)
			}
		}
		for _, p := range problems {
			if p.Line < 2 || digitRun.MatchString(p.Message) {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}
