package cap

import "testing"

func TestMostSerious(t *testing.T) {
	info := func(s Severity, u Urgency, c Certainty) Info { return Info{Severity: s, Urgency: u, Certainty: c} }
	tests := []struct {
		name  string
		infos []Info
		sev   Severity
		urg   Urgency
		cert  Certainty
	}{
		{"none", nil, "", "", ""},
		{"one", []Info{info(SeverityMinor, UrgencyFuture, CertaintyLikely)}, SeverityMinor, UrgencyFuture, CertaintyLikely},
		{"Extreme in the second info counts", []Info{info(SeverityMinor, UrgencyFuture, CertaintyPossible), info(SeverityExtreme, UrgencyImmediate, CertaintyObserved)},
			SeverityExtreme, UrgencyImmediate, CertaintyObserved},
		{"first wins ties and Unknown ranks lowest", []Info{info(SeverityUnknown, UrgencyUnknown, CertaintyUnknown), info(SeverityModerate, UrgencyPast, CertaintyUnlikely)},
			SeverityModerate, UrgencyPast, CertaintyUnlikely},
		{"mixed", []Info{info(SeveritySevere, UrgencyExpected, CertaintyObserved), info(SeverityModerate, UrgencyImmediate, CertaintyLikely)},
			SeveritySevere, UrgencyImmediate, CertaintyObserved},
	}
	for _, tt := range tests {
		a := &Alert{Info: tt.infos}
		if got := a.MostSevere(); got != tt.sev {
			t.Errorf("%s: MostSevere = %q, want %q", tt.name, got, tt.sev)
		}
		if got := a.MostUrgent(); got != tt.urg {
			t.Errorf("%s: MostUrgent = %q, want %q", tt.name, got, tt.urg)
		}
		if got := a.MostCertain(); got != tt.cert {
			t.Errorf("%s: MostCertain = %q, want %q", tt.name, got, tt.cert)
		}
	}
}

func TestSeverityRank(t *testing.T) {
	for i, s := range Severities {
		if s.Rank() != i {
			t.Errorf("%s ranks %d, want %d", s, s.Rank(), i)
		}
	}
	if Severity("bogus").Rank() != 0 || Severity("extreme").Rank() != 4 {
		t.Error("unknown values must rank as Unknown; case is ignored")
	}
}
