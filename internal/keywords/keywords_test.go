package keywords

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// spanishCmd is c sent with a Spanish keyword.
func spanishCmd(c Command) Command {
	c.Lang = "es"
	return c
}

func TestParse(t *testing.T) {
	join := func(kw, zip string) Command { return Command{Kind: Join, Keyword: kw, Arg: zip} }
	badZIP := func(kw string) Command { return Command{Kind: Join, Keyword: kw, Problem: BadZIP} }
	stop := func(kw string) Command { return Command{Kind: Stop, Keyword: kw} }
	help := func(kw string) Command { return Command{Kind: Help, Keyword: kw} }
	lang := func(kw, tag string) Command { return Command{Kind: Lang, Keyword: kw, Arg: tag} }
	badLang := func(kw string, p Problem) Command { return Command{Keyword: kw, Problem: p} }
	unknown := Command{}
	ack := func(kw, code string) Command { return Command{Kind: Ack, Keyword: kw, Arg: code} }

	tests := []struct {
		name, body string
		want       Command
	}{
		// A duty officer's confirmation.
		{"ack with code", "ACK 482913", ack("ACK", "482913")},
		{"ack lower case, punctuation", "ack: 482913.", ack("ACK", "482913")},
		{"confirm", "Confirm 000123", ack("CONFIRM", "000123")},
		{"ack without code", "ACK", ack("ACK", "")},
		{"ack short code", "ACK 4829", ack("ACK", "")},
		{"ack letters", "ACK ABCDEF", ack("ACK", "")},
		{"ack two codes", "ACK 482913 482914", ack("ACK", "")},
		// Join and its synonyms.
		{"join with zip", "JOIN 98101", join("JOIN", "98101")},
		{"start lower case zip+4", "start 98101-1234", join("START", "98101")},
		{"join alone", "join", join("JOIN", "")},
		{"start alone", "START", join("START", "")},
		{"subscribe", "Subscribe 10001", join("SUBSCRIBE", "10001")},
		{"unstop", "unstop", join("UNSTOP", "")},
		{"yes with punctuation", "Yes!", join("YES", "")},
		{"join colon", "JOIN: 98101", join("JOIN", "98101")},
		{"join zip full stop", "join 98101.", join("JOIN", "98101")},
		{"join hash zip", "JOIN #98101", join("JOIN", "98101")},
		{"join full-width", "ＪＯＩＮ　９８１０１", join("JOIN", "98101")},
		{"join line break", "JOIN\n98101\n", join("JOIN", "98101")},
		{"join leading zero zip", "join 00601", join("JOIN", "00601")},
		{"join four digits", "JOIN 9810", badZIP("JOIN")},
		{"join six digits", "JOIN 981011", badZIP("JOIN")},
		{"join nine digits", "JOIN 981011234", badZIP("JOIN")},
		{"join bad plus four", "JOIN 98101-12", badZIP("JOIN")},
		{"join letters", "join seattle", badZIP("JOIN")},
		{"join two words", "JOIN 98101 please", badZIP("JOIN")},
		{"join zip split", "JOIN 98101 1234", badZIP("JOIN")},
		{"join arabic-indic digits", "JOIN ٩٨١٠١", badZIP("JOIN")},

		// Twilio's opt-out words, in the shapes phones and people send them.
		{"stop", "STOP", stop("STOP")},
		{"stop lower", "stop", stop("STOP")},
		{"stop title full stop", "Stop.", stop("STOP")},
		{"stop spaces bang", " stop! ", stop("STOP")},
		{"stop newline", "STOP\n", stop("STOP")},
		{"stop crlf tab", "\tSTOP\r\n", stop("STOP")},
		{"stop ellipsis", "stop...", stop("STOP")},
		{"stop quoted", `"Stop"`, stop("STOP")},
		{"stop spanish exclamation", "¡STOP!", stop("STOP")},
		{"stop emoji", "STOP 🛑", stop("STOP")},
		{"stop emoji variation selector", "stop ✋\ufe0f", stop("STOP")},
		{"stop full-width", "ＳＴＯＰ", stop("STOP")},
		{"stop ideographic space", "\u3000STOP\u3000", stop("STOP")},
		{"stop no-break spaces", "\u00a0stop\u202f", stop("STOP")},
		{"stop zero-width space", "STOP\u200b", stop("STOP")},
		{"stop byte order mark", "\ufeffstop", stop("STOP")},
		{"stop nul", "STOP\x00", stop("STOP")},
		{"stopall", "stopall", stop("STOPALL")},
		{"unsubscribe", "Unsubscribe", stop("UNSUBSCRIBE")},
		{"cancel", "cancel", stop("CANCEL")},
		{"end", "END", stop("END")},
		{"quit", "Quit", stop("QUIT")},
		{"revoke", "revoke", stop("REVOKE")},
		{"optout", "OptOut", stop("OPTOUT")},

		// Only the whole message counts.
		{"stop inside a sentence", "please don't stop", unknown},
		{"stop then words", "stop please", unknown},
		{"stop all as two words", "STOP ALL", unknown},
		{"opt out as two words", "opt out", unknown},
		{"stop doubled", "STOP STOP", unknown},
		{"stop misspelt", "STOPP", unknown},
		{"stopping", "stopping", unknown},
		{"spaced letters", "S T O P", unknown},
		{"end of sentence", "the end", unknown},

		// Help.
		{"help", "HELP", help("HELP")},
		{"help question", "help?", help("HELP")},
		{"info", "Info", help("INFO")},
		{"help me", "help me", unknown},

		// Lang.
		{"lang es", "LANG es", lang("LANG", "es")},
		{"lang upper", "lang ES", lang("LANG", "es")},
		{"lang region", "LANG es-MX", lang("LANG", "es-MX")},
		{"lang region lower", "lang es-mx.", lang("LANG", "es-MX")},
		{"lang underscore", "LANG es_MX", lang("LANG", "es-MX")},
		{"lang script", "lang zh-hant-tw", lang("LANG", "zh-Hant-TW")},
		{"lang three letters", "LANG spa", lang("LANG", "es")},
		{"lang deprecated code", "LANG iw", lang("LANG", "he")},
		{"lang english name", "LANG Spanish", lang("LANG", "es")},
		{"lang spanish name", "idioma español", spanishCmd(lang("IDIOMA", "es"))},
		{"lang spanish name without tilde", "IDIOMA ESPANOL", spanishCmd(lang("IDIOMA", "es"))},
		{"spanish stop", "Alto", spanishCmd(Command{Kind: Stop, Keyword: "ALTO"})},
		{"spanish stop, other words", "parar", spanishCmd(Command{Kind: Stop, Keyword: "PARAR"})},
		{"spanish cancel", "CANCELAR", spanishCmd(Command{Kind: Stop, Keyword: "CANCELAR"})},
		{"spanish help", "¡Ayuda!", spanishCmd(Command{Kind: Help, Keyword: "AYUDA"})},
		{"spanish start", "inicio", spanishCmd(Command{Kind: Join, Keyword: "INICIO"})},
		{"language", "language en", lang("LANGUAGE", "en")},
		{"lang alone", "LANG", badLang("LANG", NoLanguage)},
		{"lang undetermined", "LANG und", badLang("LANG", BadLanguage)},
		{"lang private use", "LANG x-klingon", badLang("LANG", BadLanguage)},
		{"lang unknown name", "LANG klingon", badLang("LANG", BadLanguage)},
		{"lang digits", "LANG 12", badLang("LANG", BadLanguage)},
		{"lang two words", "LANG es mx", badLang("LANG", BadLanguage)},
		{"lang too long", "LANG en-" + strings.Repeat("abcdefgh-", 4) + "x", badLang("LANG", BadLanguage)},

		// Anything else.
		{"empty", "", unknown},
		{"blank", " \n\t ", unknown},
		{"punctuation only", "?!", unknown},
		{"emoji only", "🛑", unknown},
		{"greeting", "hello", unknown},
		{"keyword prefix", "JOINS 98101", unknown},
		{"question", "what is this?", unknown},
		{"zip alone", "98101", unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.body); got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestKindAndProblemStrings(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"unknown", Unknown.String(), "unknown"},
		{"join", Join.String(), "join"},
		{"stop", Stop.String(), "stop"},
		{"help", Help.String(), "help"},
		{"lang", Lang.String(), "lang"},
		{"out of range kind", Kind(99).String(), "unknown"},
		{"no problem", NoProblem.String(), "none"},
		{"bad zip", BadZIP.String(), "not a ZIP code (want 5 digits or ZIP+4)"},
		{"no language", NoLanguage.String(), "no language given"},
		{"bad language", BadLanguage.String(), "not a language tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// FuzzParse checks what must hold for any message a phone can send.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"JOIN 98101", "start 98101-1234", "Stop.", " stop! ", "ＳＴＯＰ", "please don't stop",
		"HELP", "LANG es-MX", "LANG x-klingon", "idioma español", "\ufeffSTOP\u200b", "JOIN ٩٨١٠١", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c := Parse(body)
		switch c.Kind {
		case Join:
			if c.Arg != "" && (len(c.Arg) != 5 || !asciiDigits(c.Arg)) {
				t.Fatalf("Parse(%q) = ZIP %q, want 5 ASCII digits", body, c.Arg)
			}
			if c.Arg != "" && c.Problem != NoProblem || c.Problem != NoProblem && c.Problem != BadZIP {
				t.Fatalf("Parse(%q) = %+v: inconsistent ZIP and problem", body, c)
			}
		case Lang:
			tag, err := language.Parse(c.Arg)
			if err != nil || tag.String() != c.Arg || len(c.Arg) > maxTag || c.Problem != NoProblem {
				t.Fatalf("Parse(%q) = %+v: want a canonical BCP 47 tag and no problem", body, c)
			}
		case Stop, Help:
			if c.Arg != "" || c.Problem != NoProblem {
				t.Fatalf("Parse(%q) = %+v: STOP and HELP take no argument", body, c)
			}
			if n := len(fields(body)); n != 1 {
				t.Fatalf("Parse(%q) = %v from %d words, want only a one-word message", body, c.Kind, n)
			}
		case Unknown:
			if c.Arg != "" {
				t.Fatalf("Parse(%q) = %+v: Unknown with an argument", body, c)
			}
		default:
			t.Fatalf("Parse(%q) = kind %d", body, c.Kind)
		}
		if c.Keyword != "" && !utf8.ValidString(c.Keyword) {
			t.Fatalf("Parse(%q) = keyword %q, not UTF-8", body, c.Keyword)
		}
		// Blank space and punctuation around the message change nothing.
		if padded := Parse(" \u3000¡" + body + "\n!. "); padded != c {
			t.Fatalf("Parse(%q) = %+v but with padding %+v", body, c, padded)
		}
	})
}
