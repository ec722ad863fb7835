package render

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

func TestHashtags(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		regions []string
		extra   []string
		want    []string
	}{
		{"accents kept", "Contaminación del agua", nil, nil, []string{"#ContaminaciónDelAgua"}},
		{"punctuation dropped", "King County, WA", nil, nil, []string{"#KingCountyWA"}},
		{"apostrophe joins", "Children's Hospital", nil, nil, []string{"#ChildrensHospital"}},
		{"typographic apostrophe joins", "Children’s Hospital", nil, nil, []string{"#ChildrensHospital"}},
		{"digits kept", "COVID-19 outbreak", nil, nil, []string{"#COVID19Outbreak"}},
		{"digits only dropped", "98101", nil, nil, nil},
		{"empty dropped", "", []string{" ", "--"}, nil, nil},
		{"extra with or without #", "", nil, []string{"HealthAlert", "#PublicHealth"}, []string{"#HealthAlert", "#PublicHealth"}},
		{"order extra, event, regions", "Measles", []string{"King County, WA", "Pierce County, WA"}, []string{"HealthAlert"},
			[]string{"#HealthAlert", "#Measles", "#KingCountyWA", "#PierceCountyWA"}},
		{"duplicates dropped keeping first", "health alert", []string{"Seattle", "SEATTLE"}, []string{"HealthAlert", "#healthalert"},
			[]string{"#HealthAlert", "#Seattle"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Hashtags(tt.event, tt.regions, tt.extra); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Hashtags = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSocialLen(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{"plain runes", "Agua contaminada…", 17},
		{"long URL counts 23", "see https://herald.example.org/" + strings.Repeat("a", 200), 4 + 23},
		{"short URL counts 23", "https://a.io", 23},
		{"URL on its own line", "a\nhttps://a.io\nb", 2 + 23 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := socialLen(tt.text); got != tt.want {
				t.Errorf("socialLen = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSocial(t *testing.T) {
	var manyTags []string
	for i := 1; i <= 60; i++ {
		manyTags = append(manyTags, fmt.Sprintf("#Tag%d", i))
	}
	longLink := "https://herald.example.org/v1/alerts/" + strings.Repeat("0", 300) + ".cap"
	tests := []struct {
		name     string
		instr    string
		link     string
		tags     []string
		max      int
		wantTags []string // hashtags on the last line
		cut      bool     // the instruction ends in an ellipsis
	}{
		{"fits whole", "Boil tap water.", link, []string{"#HealthAlert", "#Seattle"}, 0,
			[]string{"#HealthAlert", "#Seattle"}, false},
		{"long instruction cut before hashtags", words(150, ""), link, []string{"#HealthAlert", "#Seattle"}, 0,
			[]string{"#HealthAlert", "#Seattle"}, true},
		{"long URL counts 23", words(150, ""), longLink, []string{"HealthAlert"}, 0,
			[]string{"#HealthAlert"}, true},
		// The area goes before any hashtag; the 78 characters left before
		// the tags leave room for #Tag1 to #Tag18.
		{"area then trailing hashtags dropped", "", link, manyTags, 200,
			manyTags[:18], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := boilWater()
			in.Instruction = tt.instr
			got := Social(alert("Actual", "Alert", in), SocialOptions{Link: tt.link, Hashtags: tt.tags, MaxChars: tt.max})
			limit := tt.max
			if limit == 0 {
				limit = 500
			}
			if n := socialLen(got); n > limit {
				t.Errorf("%d characters, want <= %d:\n%s", n, limit, got)
			}
			lines := strings.Split(got, "\n")
			if !strings.HasPrefix(got, "Boil water notice\n") || !contains(lines, tt.link) {
				t.Errorf("headline or link lost:\n%s", got)
			}
			if last := lines[len(lines)-1]; last != strings.Join(tt.wantTags, " ") {
				t.Errorf("hashtags %q, want %q", last, strings.Join(tt.wantTags, " "))
			}
			if cut := strings.Contains(got, "…"); cut != tt.cut {
				t.Errorf("cut = %v, want %v:\n%s", cut, tt.cut, got)
			}
			if tt.link == longLink && utf8.RuneCountInString(got) <= limit {
				t.Errorf("a long URL should let the text run past %d runes", limit)
			}
		})
	}
}

func TestInert(t *testing.T) {
	tests := []struct{ in, want string }{
		{"call @health@mastodon.social now", "call @\u2060health@\u2060mastodon.social now"},
		{"see https://evil.example/x", "see https:\u2060//evil.example/x"},
		{"#boilwater now", "#\u2060boilwater now"},
		{"email info@example.org", "email info@\u2060example.org"},
		{"plain text, 50% off & more", "plain text, 50% off & more"},
		{"a # b @ c", "a # b @ c"},
	}
	for _, tt := range tests {
		if got := Inert(tt.in); got != tt.want {
			t.Errorf("Inert(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSocialKeepsOnlyItsOwnLinkActive(t *testing.T) {
	a := &cap.Alert{Status: cap.StatusActual, MsgType: cap.MsgAlert, Info: []cap.Info{{
		Headline: "Boil water @everyone", Instruction: "Details at https://phish.example/login #scam",
	}}}
	got := Social(a, SocialOptions{Link: "https://herald.example/a/a1", Hashtags: []string{"#BoilWater"}})
	for _, active := range []string{"@everyone", "https://phish", "#scam"} {
		if strings.Contains(got, active) {
			t.Errorf("post keeps %q active:\n%s", active, got)
		}
	}
	for _, kept := range []string{"https://herald.example/a/a1", "#BoilWater"} {
		if !strings.Contains(got, kept) {
			t.Errorf("post lost %q:\n%s", kept, got)
		}
	}
}
