package render

import (
	"cmp"
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
			"Boil water notice\nBoil tap water for one minute before drinking.\nSeattle; Shoreline\n" + link + "\n- Seattle-King County Public Health"},
		{"event without headline", alert("Actual", "Alert", noHeadline), "en",
			"Water contamination\nBoil tap water for one minute before drinking.\nSeattle; Shoreline\n" + link + "\n- Seattle-King County Public Health"},
		{"exercise update prefix", alert("Exercise", "Update", boilWater()), "en",
			"EXERCISE UPDATE: Boil water notice\nBoil tap water for one minute before drinking.\nSeattle; Shoreline\n" + link + "\n- Seattle-King County Public Health"},
		{"spanish resident", alert("Test", "Alert", boilWater(), hervirAgua()), "es-MX",
			"PRUEBA: Hervir el agua\nHierva el agua 1 minuto.\nSeattle\n" + link + "\n- Salud Pública"},
		{"primary subtag picks the regional info", alert("Test", "Alert", boilWater(), hervirAgua()), "es",
			"PRUEBA: Hervir el agua\nHierva el agua 1 minuto.\nSeattle\n" + link + "\n- Salud Pública"},
		{"no info in the language takes the first", alert("Test", "Alert", boilWater(), hervirAgua()), "vi",
			"TEST: Boil water notice\nBoil tap water for one minute before drinking.\nSeattle; Shoreline\n" + link + "\n- Seattle-King County Public Health"},
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

// Real alert texts (a measles exposure from Public Health - Seattle & King
// County, a wildfire smoke advisory, a boil-water notice in Russian), in
// the shape officers write them.
func measles() cap.Info {
	return cap.Info{
		Language: "en-US", Event: "Measles exposure",
		Headline:    "Measles exposure at Sea-Tac Airport and a Bellevue clinic",
		Instruction: "If you were at Sea-Tac Airport Concourse B on Nov 28 from 1 to 5 p.m. and are not vaccinated, call your doctor before going in. Watch for fever and rash until Dec 19.",
		SenderName:  "Public Health – Seattle & King County",
		Area:        []cap.Area{{AreaDesc: "Sea-Tac Airport, SeaTac; Overlake clinic, Bellevue"}},
	}
}

func sarampion() cap.Info {
	return cap.Info{
		Language: "es-US", Event: "Exposición al sarampión",
		Headline:    "Exposición al sarampión en el aeropuerto Sea-Tac y una clínica de Bellevue",
		Instruction: "Si estuvo en el Concourse B del aeropuerto Sea-Tac el 28 de nov. de 1 a 5 p.m. y no está vacunado, llame a su médico antes de ir. Vigile fiebre y sarpullido hasta el 19 de dic.",
		SenderName:  "Salud Pública de Seattle y el Condado de King",
		Area:        []cap.Area{{AreaDesc: "Aeropuerto Sea-Tac, SeaTac; clínica Overlake, Bellevue"}},
	}
}

func smoke() cap.Info {
	return cap.Info{
		Language: "en-US", Event: "Air Quality Alert",
		Headline:    "Wildfire smoke: air unhealthy for everyone today",
		Instruction: "Stay indoors with windows closed. Run an air purifier if you have one. People with asthma or heart disease should keep medicine at hand. If you have chest pain or trouble breathing, call 911.",
		SenderName:  "Public Health – Seattle & King County",
		Area:        []cap.Area{{AreaDesc: "All of King County"}},
	}
}

func kipyatit() cap.Info {
	return cap.Info{
		Language: "ru", Event: "Загрязнение воды",
		Headline:    "Кипятите воду перед питьём",
		Instruction: "Кипятите водопроводную воду одну минуту перед питьём и приготовлением пищи. Бутилированная вода безопасна.",
		SenderName:  "Служба здравоохранения округа Кинг",
		Area:        []cap.Area{{AreaDesc: "Рентон и Туквила"}},
	}
}

// TestSMSBudget renders real alerts in English, Spanish and Russian at the
// default budget and at tight ones: the headline and the link are always
// whole, and what goes first is the sender, then the area, then the end of
// the instruction.
func TestSMSBudget(t *testing.T) {
	const page = "https://alerts.example.gov/a/abcdefghijklmnopqrstuvwxyza?lang=es"
	tests := []struct {
		name       string
		info       cap.Info
		gsm, ucs   int
		enc        string
		cut        []string // in order
		wholeLines []string // must appear as whole lines
	}{
		{"english measles keeps headline and instruction", measles(), 0, 0, "GSM-7", []string{"sender", "area"}, []string{
			"Measles exposure at Sea-Tac Airport and a Bellevue clinic",
			"If you were at Sea-Tac Airport Concourse B on Nov 28 from 1 to 5 p.m. and are not vaccinated, call your doctor before going in. Watch for fever and rash until Dec 19.",
		}},
		{"spanish measles keeps the same parts (UCS-2)", sarampion(), 0, 0, "UCS-2", []string{"sender", "area"}, []string{
			"Exposición al sarampión en el aeropuerto Sea-Tac y una clínica de Bellevue",
			"Si estuvo en el Concourse B del aeropuerto Sea-Tac el 28 de nov. de 1 a 5 p.m. y no está vacunado, llame a su médico antes de ir. Vigile fiebre y sarpullido hasta el 19 de dic.",
		}},
		{"smoke keeps call 911", smoke(), 0, 0, "GSM-7", []string{"sender", "area"}, []string{
			"Wildfire smoke: air unhealthy for everyone today",
			"Stay indoors with windows closed. Run an air purifier if you have one. People with asthma or heart disease should keep medicine at hand. If you have chest pain or trouble breathing, call 911.",
		}},
		{"russian fits whole", kipyatit(), 0, 0, "UCS-2", []string{}, []string{"Кипятите воду перед питьём", "Рентон и Туквила"}},
		{"tight english: sender, area, then the instruction's end", measles(), 1, 1, "GSM-7", []string{"sender", "area", "instruction"},
			[]string{"Measles exposure at Sea-Tac Airport and a Bellevue clinic"}},
		{"tight spanish", sarampion(), 2, 2, "UCS-2", []string{"sender", "area", "instruction"},
			[]string{"Exposición al sarampión en el aeropuerto Sea-Tac y una clínica de Bellevue"}},
		{"tight russian", kipyatit(), 1, 1, "UCS-2", []string{"sender", "area", "instruction"}, []string{"Кипятите воду перед питьём"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RenderSMS(alert("Actual", "Alert", tt.info), tt.info.Language, SMSOptions{Link: page, GSM7Segments: tt.gsm, UCS2Segments: tt.ucs})
			lines := strings.Split(got.Text, "\n")
			if got.Encoding != tt.enc {
				t.Errorf("encoding %s, want %s", got.Encoding, tt.enc)
			}
			for _, w := range append(tt.wholeLines, page) {
				if !contains(lines, w) {
					t.Errorf("line %q not whole in\n%s", w, got.Text)
				}
			}
			if strings.Join(got.Cut, ",") != strings.Join(tt.cut, ",") {
				t.Errorf("cut %v, want %v\n%s", got.Cut, tt.cut, got.Text)
			}
			budget := map[string]int{"GSM-7": cmp.Or(tt.gsm, DefaultGSM7Segments), "UCS-2": cmp.Or(tt.ucs, DefaultUCS2Segments)}[got.Encoding]
			if got.Segments > budget && len(got.Cut) < 3 {
				t.Errorf("%d segments over a budget of %d while parts remain:\n%s", got.Segments, budget, got.Text)
			}
		})
	}
}

// The default gives at least 300 characters of text in either encoding.
func TestSMSDefaultBudget(t *testing.T) {
	for _, enc := range []struct {
		name string
		unit string
	}{{"GSM-7", "a"}, {"UCS-2", "ó"}} {
		in := boilWater()
		in.Headline = strings.TrimSpace(strings.Repeat(enc.unit+"bc ", 100))
		got := RenderSMS(alert("Actual", "Alert", in), "en", SMSOptions{})
		if got.Encoding != enc.name || len([]rune(got.Text)) < 300 {
			t.Errorf("%s: %d characters in %d segments", enc.name, len([]rune(got.Text)), got.Segments)
		}
	}
}

func TestSMSFaithfulGSM7(t *testing.T) {
	in := boilWater()
	in.Headline = "“Boil water” – now…"
	in.Instruction = "Don’t drink tap water."
	got := RenderSMS(alert("Actual", "Alert", in), "en", SMSOptions{Link: link})
	if got.Encoding != "GSM-7" || !strings.Contains(got.Text, `"Boil water" - now...`) || !strings.Contains(got.Text, "Don't") {
		t.Errorf("%s:\n%s", got.Encoding, got.Text)
	}
	es := hervirAgua()
	es.Headline = "Atención: hervir el agua"
	if got := RenderSMS(alert("Actual", "Alert", es), "es", SMSOptions{Link: link}); !strings.Contains(got.Text, "Atención") {
		t.Errorf("accented letters must stay:\n%s", got.Text)
	}
}

func TestSMSCancel(t *testing.T) {
	orig := boilWater()
	cancel := orig // a Cancel that copies the original's info, as many do
	t.Run("the original's instruction never shows", func(t *testing.T) {
		got := SMS(alert("Actual", "Cancel", cancel), "en", SMSOptions{Link: link, Repeat: []string{orig.Instruction, orig.Description}})
		if strings.Contains(got, orig.Instruction) || !strings.HasPrefix(got, "CANCELLED: Boil water notice") {
			t.Errorf("cancel text:\n%s", got)
		}
	})
	t.Run("the cancel's own words show", func(t *testing.T) {
		own := cancel
		own.Instruction = "You may drink tap water again."
		got := SMS(alert("Actual", "Cancel", own), "en", SMSOptions{Link: link, Repeat: []string{orig.Instruction}})
		if !strings.Contains(got, "You may drink tap water again.") {
			t.Errorf("cancel text:\n%s", got)
		}
	})
}

func TestSMSUsesCMAMText(t *testing.T) {
	in := boilWater()
	in.Parameter = []cap.NamedValue{{ValueName: ParamCMAMText, Value: "Boil water before drinking. Details at link."},
		{ValueName: ParamCMAMLongText, Value: "Boil tap water 1 minute before drinking or cooking. Bottled water is safe."}}
	got := SMS(alert("Actual", "Alert", in), "en", SMSOptions{Link: link})
	want := "Boil tap water 1 minute before drinking or cooking. Bottled water is safe.\n" + link + "\n- Seattle-King County Public Health"
	if got != want {
		t.Errorf("SMS =\n%s\nwant\n%s", got, want)
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

// words returns n distinct GSM-7 words, so a cut can be located exactly.
func words(n int, extra string) string {
	w := make([]string, n)
	for i := range w {
		w[i] = "step" + strings.Repeat("x", i%5) + extra
	}
	return strings.Join(w, " ")
}
