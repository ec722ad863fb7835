// Package keywords understands what a resident texts to Herald's number and
// holds what Herald texts back.
//
// [Parse] turns an inbound SMS body into a [Command]: JOIN (with an optional
// ZIP code), STOP and Twilio's other opt-out words, HELP, or LANG with a BCP
// 47 language tag. [Texts] holds the replies, per language, in the embedded
// file texts.yaml, and [TwiML] wraps a reply for Twilio's inbound-message
// webhook.
//
// The package is pure. It does not check Twilio signatures, store
// subscriptions or opt-outs, look up ZIP codes (geo/zips does) or send
// anything; the HTTP handler does that with the Command it gets here.
package keywords

import (
	"strings"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// Kind is what a message asks for.
type Kind int

const (
	Unknown Kind = iota // not a keyword, or a keyword used in a way we do not accept
	Join                // subscribe, or subscribe again after STOP
	Stop                // opt out of everything from this number
	Help                // who sends this, how to stop, whom to contact
	Lang                // set the language of replies and alerts
	Ack                 // a hospital's duty officer confirms an alert: ACK <code>
)

func (k Kind) String() string {
	switch k {
	case Join:
		return "join"
	case Stop:
		return "stop"
	case Help:
		return "help"
	case Lang:
		return "lang"
	case Ack:
		return "ack"
	}
	return "unknown"
}

// words maps each keyword, upper-case, to its kind. The English opt-out,
// opt-in and help words are Twilio's defaults, so that Herald and Twilio's
// own opt-out handling agree on who is opted out; the Spanish ones are
// those US carriers and Twilio's Advanced Opt-Out use for Spanish.
var words = map[string]Kind{
	"JOIN": Join, "SUBSCRIBE": Join, "START": Join, "UNSTOP": Join, "YES": Join,

	"STOP": Stop, "STOPALL": Stop, "UNSUBSCRIBE": Stop, "CANCEL": Stop,
	"END": Stop, "QUIT": Stop, "REVOKE": Stop, "OPTOUT": Stop,

	"HELP": Help, "INFO": Help,

	"LANG": Lang, "LANGUAGE": Lang, "IDIOMA": Lang,

	"ACK": Ack, "CONFIRM": Ack, "CONFIRMAR": Ack,

	// Spanish.
	"INICIO": Join, "ALTA": Join, "COMENZAR": Join, "UNIRSE": Join, "SUSCRIBIR": Join, "SI": Join, "SÍ": Join,
	"ALTO": Stop, "PARAR": Stop, "CANCELAR": Stop, "BAJA": Stop, "DETENER": Stop, "TERMINAR": Stop,
	"AYUDA": Help,
}

// spanish are the keywords only a Spanish speaker sends: the reply to a
// number Herald does not know yet is then in Spanish.
var spanish = map[string]bool{
	"IDIOMA": true, "INICIO": true, "ALTA": true, "COMENZAR": true, "UNIRSE": true, "SUSCRIBIR": true, "SI": true, "SÍ": true,
	"CONFIRMAR": true, "ALTO": true, "PARAR": true, "CANCELAR": true, "BAJA": true, "DETENER": true, "TERMINAR": true, "AYUDA": true,
}

// languageNames lets a resident name a language instead of knowing its code.
var languageNames = map[string]string{
	"ENGLISH": "en", "INGLES": "en", "INGLÉS": "en",
	"SPANISH": "es", "ESPANOL": "es", "ESPAÑOL": "es",
}

// Problem says why a keyword's argument was refused, so the reply can say
// what to send instead.
type Problem int

const (
	NoProblem   Problem = iota
	BadZIP              // JOIN followed by something that is not a ZIP code
	NoLanguage          // LANG with nothing after it
	BadLanguage         // LANG followed by something that is not a BCP 47 tag
)

func (p Problem) String() string {
	switch p {
	case NoProblem:
		return "none"
	case BadZIP:
		return "not a ZIP code (want 5 digits or ZIP+4)"
	case NoLanguage:
		return "no language given"
	case BadLanguage:
		return "not a language tag"
	}
	return "unknown problem"
}

// Command is what an inbound message asks for.
type Command struct {
	Kind Kind
	// Keyword is the keyword as matched, upper-case ("START"), so callers
	// can tell START (resubscribe) from JOIN (asks for a ZIP). It is empty
	// when Kind is Unknown, except for a refused LANG.
	Keyword string
	// Arg is the argument, normalized: for Join the 5-digit ZIP (ZIP+4 cut
	// to its first 5 digits) or "" when none or a bad one was given, for
	// Lang a canonical BCP 47 tag ("es-MX"), for Ack the 6-digit code (""
	// when none or a malformed one was given). Empty for other kinds.
	Arg string
	// Problem is set when an argument was refused: Join with BadZIP, or
	// Unknown with NoLanguage or BadLanguage.
	Problem Problem
	// Lang is the language the keyword itself is in ("es" for AYUDA), ""
	// for the English ones every carrier knows: the reply's language when
	// the resident has chosen none.
	Lang string
}

// Parse reads an inbound SMS body. Matching is case-insensitive and
// forgiving of what phones and people add: Unicode compatibility forms
// (full-width letters and digits, odd spaces), invisible format characters,
// and punctuation, symbols or emoji around each word ("Stop.", "¡STOP!",
// "JOIN: 98101").
//
// STOP and HELP words count only as the whole message, as Twilio counts
// them: "please don't stop" and "stop sending" are Unknown. JOIN and LANG
// take the rest of the message as their argument, which must be one word.
func Parse(body string) Command {
	w := fields(body)
	if len(w) == 0 {
		return Command{}
	}
	kind := words[w[0]]
	cmd := Command{Kind: kind, Keyword: w[0]}
	if spanish[w[0]] {
		cmd.Lang = "es"
	}
	args := w[1:]
	switch kind {
	case Stop, Help:
		if len(args) > 0 {
			return Command{}
		}
	case Join:
		switch {
		case len(args) == 0:
		case len(args) == 1 && isZIP(args[0]):
			cmd.Arg = args[0][:5]
		default:
			cmd.Problem = BadZIP
		}
	case Lang:
		switch {
		case len(args) == 0:
			return Command{Keyword: cmd.Keyword, Problem: NoLanguage, Lang: cmd.Lang}
		case len(args) > 1:
			return Command{Keyword: cmd.Keyword, Problem: BadLanguage, Lang: cmd.Lang}
		}
		tag, ok := parseLanguage(args[0])
		if !ok {
			return Command{Keyword: cmd.Keyword, Problem: BadLanguage, Lang: cmd.Lang}
		}
		cmd.Arg = tag
	case Ack:
		if len(args) == 1 && len(args[0]) == 6 && strings.Trim(args[0], "0123456789") == "" {
			cmd.Arg = args[0]
		}
	default:
		return Command{}
	}
	return cmd
}

// fields normalizes body and splits it into upper-case words with anything
// but letters and digits trimmed from their ends.
func fields(body string) []string {
	s := strings.ToUpper(norm.NFKC.String(body))
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Cf, r): // zero-width spaces, BOMs, direction marks
			return -1
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
	ws := strings.Fields(s)
	out := ws[:0]
	for _, w := range ws {
		w = strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// isZIP accepts "12345" and "12345-6789" in ASCII digits.
func isZIP(s string) bool {
	switch {
	case len(s) == 5:
	case len(s) == 10 && s[5] == '-' && asciiDigits(s[6:]):
	default:
		return false
	}
	return asciiDigits(s[:5])
}

func asciiDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// maxTag is the longest language tag accepted. RFC 5646 (4.4.1) asks for at
// least 35 characters, enough for any tag without extensions; residents
// store at most 64.
const maxTag = 35

// parseLanguage returns the canonical form of a BCP 47 tag or a known
// language name. It refuses tags without a real primary language ("und",
// private use "x-…"), which would leave replies and alerts in no language.
func parseLanguage(s string) (string, bool) {
	if code, ok := languageNames[s]; ok {
		return code, true
	}
	if len(s) > maxTag {
		return "", false
	}
	tag, err := language.Parse(s)
	if err != nil {
		return "", false
	}
	if _, conf := tag.Base(); conf != language.Exact {
		return "", false
	}
	if c := tag.String(); len(c) <= maxTag {
		return c, true
	}
	return "", false
}
