package render

import (
	"strings"
	"testing"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

const link = "https://herald.example.org/v1/alerts/01J9ZK.cap"

func alert(status cap.Status, msgType cap.MsgType, infos ...cap.Info) *cap.Alert {
	return &cap.Alert{Status: status, MsgType: msgType, Info: infos}
}

func boilWater() cap.Info {
	return cap.Info{
		Language:    "en-US",
		Event:       "Water contamination",
		Headline:    "Boil water notice",
		Instruction: "Boil tap water for one minute before drinking.",
		SenderName:  "Seattle-King County Public Health",
		Area:        []cap.Area{{AreaDesc: "Seattle"}, {AreaDesc: "Shoreline"}},
	}
}

func hervirAgua() cap.Info {
	return cap.Info{
		Language:    "es-US",
		Event:       "Contaminación del agua",
		Headline:    "Hervir el agua",
		Instruction: "Hierva el agua 1 minuto.",
		SenderName:  "Salud Pública",
		Area:        []cap.Area{{AreaDesc: "Seattle"}},
	}
}

func TestSMSContent(t *testing.T) {
	noHeadline := boilWater()
	noHeadline.Headline = ""
	tests := []struct {
		name  string
		alert *cap.Alert
		lang  string
		want  string
	}{
		{"actual alert", alert("Actual", "Alert", boilWater()), "en-US",
			"Boil water notice\nSeattle; Shoreline\nBoil tap water for one minute before drinking.\n- Seattle-King County Public Health\n" + link},
		{"event without headline", alert("Actual", "Alert", noHeadline), "en",
			"Water contamination\nSeattle; Shoreline\nBoil tap water for one minute before drinking.\n- Seattle-King County Public Health\n" + link},
		{"exercise update prefix", alert("Exercise", "Update", boilWater()), "en",
			"EXERCISE UPDATE: Boil water notice\nSeattle; Shoreline\nBoil tap water for one minute before drinking.\n- Seattle-King County Public Health\n" + link},
		{"spanish resident", alert("Test", "Alert", boilWater(), hervirAgua()), "es-MX",
			"PRUEBA: Hervir el agua\nSeattle\nHierva el agua 1 minuto.\n- Salud Pública\n" + link},
		{"primary subtag picks the regional info", alert("Test", "Alert", boilWater(), hervirAgua()), "es",
			"PRUEBA: Hervir el agua\nSeattle\nHierva el agua 1 minuto.\n- Salud Pública\n" + link},
		{"no language preference takes the first", alert("Test", "Alert", hervirAgua(), boilWater()), "",
			"PRUEBA: Hervir el agua\nSeattle\nHierva el agua 1 minuto.\n- Salud Pública\n" + link},
		{"no info in the language takes the first", alert("Test", "Alert", boilWater(), hervirAgua()), "vi",
			"TEST: Boil water notice\nSeattle; Shoreline\nBoil tap water for one minute before drinking.\n- Seattle-King County Public Health\n" + link},
		{"cancel without info keeps marker and link", alert("Actual", "Cancel"), "es",
			"CANCELADO:\n" + link},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SMS(tt.alert, tt.lang, SMSOptions{Link: link}); got != tt.want {
				t.Errorf("SMS =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// words returns n distinct GSM-7 words, so a cut can be located exactly.
func words(n int, extra string) string {
	w := make([]string, n)
	for i := range w {
		w[i] = "step" + strings.Repeat("x", i%5) + extra
	}
	return strings.Join(w, " ")
}

func TestSMSFitsSegments(t *testing.T) {
	tests := []struct {
		name        string
		info        func(*cap.Info)
		maxSegments int
		enc         Encoding
		ellipsis    string
		cut         func(cap.Info) string // the field expected to be cut
		intact      []string              // lines that must survive whole
	}{
		{
			name:     "long instruction cut with GSM ellipsis",
			info:     func(in *cap.Info) { in.Instruction = words(120, "") },
			enc:      GSM7,
			ellipsis: "...",
			cut:      func(in cap.Info) string { return in.Instruction },
			intact:   []string{"Boil water notice", "Seattle; Shoreline", "- Seattle-King County Public Health", link},
		},
		{
			name:     "non-GSM text past the cut does not flip the encoding",
			info:     func(in *cap.Info) { in.Instruction = words(120, "") + " información" },
			enc:      GSM7,
			ellipsis: "...",
			cut:      func(in cap.Info) string { return in.Instruction },
			intact:   []string{"Boil water notice", link},
		},
		{
			name:     "UCS-2 text cut with unicode ellipsis",
			info:     func(in *cap.Info) { in.Instruction = words(80, "ó") },
			enc:      UCS2,
			ellipsis: "…",
			cut:      func(in cap.Info) string { return in.Instruction },
			intact:   []string{"Boil water notice", "Seattle; Shoreline", link},
		},
		{
			name: "area cut once the instruction is gone",
			info: func(in *cap.Info) {
				in.Area = []cap.Area{{AreaDesc: words(60, "")}}
			},
			enc:      GSM7,
			ellipsis: "...",
			cut:      func(in cap.Info) string { return in.Area[0].AreaDesc },
			intact:   []string{"Boil water notice", "- Seattle-King County Public Health", link},
		},
		{
			name:        "one segment",
			info:        func(in *cap.Info) { in.Instruction = words(30, "") },
			maxSegments: 1,
			enc:         GSM7,
			ellipsis:    "...",
			cut:         func(in cap.Info) string { return in.Instruction },
			intact:      []string{"Boil water notice", link},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := boilWater()
			tt.info(&in)
			got := SMS(alert("Actual", "Alert", in), "en", SMSOptions{Link: link, MaxSegments: tt.maxSegments})
			limit := tt.maxSegments
			if limit == 0 {
				limit = 2
			}
			if n, enc := Segments(got); n > limit || enc != tt.enc {
				t.Fatalf("Segments = %d, %v; want <= %d, %v\n%s", n, enc, limit, tt.enc, got)
			}
			lines := strings.Split(got, "\n")
			for _, want := range tt.intact {
				if !contains(lines, want) {
					t.Errorf("line %q missing from\n%s", want, got)
				}
			}
			var cut string
			for _, l := range lines {
				if strings.HasSuffix(l, tt.ellipsis) {
					cut = strings.TrimSuffix(l, tt.ellipsis)
				}
			}
			full := tt.cut(in)
			if cut == "" || !strings.HasPrefix(full, cut+" ") {
				t.Errorf("no line is a word-boundary cut of %.40q... with %q:\n%s", full, tt.ellipsis, got)
			}
			if tt.ellipsis == "..." && strings.Contains(got, "…") {
				t.Errorf("unicode ellipsis in a GSM-7 text")
			}
		})
	}
}

func TestSMSLinkWins(t *testing.T) {
	tests := []struct {
		name string
		link string
	}{
		{"link leaves room for little else", "https://herald.example.org/" + strings.Repeat("a", 260)},
		{"link alone is too long", "https://herald.example.org/" + strings.Repeat("a", 400)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SMS(alert("Exercise", "Alert", boilWater()), "en", SMSOptions{Link: tt.link})
			if !strings.HasSuffix(got, tt.link) {
				t.Fatalf("link lost or cut:\n%s", got)
			}
			if n, _ := Segments(got); n > 2 && got != tt.link {
				t.Errorf("%d segments, and more than the link:\n%s", n, got)
			}
		})
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}
