package recipients

import (
	"testing"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

func TestAudienceOf(t *testing.T) {
	var (
		nobody       = Audience{None: true}
		everyone     = Audience{Residents: true, Hospitals: true, Social: true}
		hospitals    = Audience{Hospitals: true}
		exercisePub  = Audience{Exercise: true, Residents: true, Hospitals: true}
		exerciseRest = Audience{Exercise: true, Hospitals: true}
		// An exercise reaches no more than the same Actual alert would:
		// Private alerts name addressees Herald does not resolve.
		exercisePriv = Audience{Exercise: true}
	)
	tests := []struct {
		name   string
		status cap.Status
		scope  cap.Scope
		want   Audience
	}{
		{"Actual Public", "Actual", "Public", everyone},
		{"Actual Restricted", "Actual", "Restricted", hospitals},
		{"Actual Private", "Actual", "Private", nobody},
		{"Exercise Public", "Exercise", "Public", exercisePub},
		{"Exercise Restricted", "Exercise", "Restricted", exerciseRest},
		{"Exercise Private", "Exercise", "Private", exercisePriv},
		{"Test Public", "Test", "Public", exercisePub},
		{"Test Restricted", "Test", "Restricted", exerciseRest},
		{"Test Private", "Test", "Private", exercisePriv},
		{"System Public", "System", "Public", nobody},
		{"System Restricted", "System", "Restricted", nobody},
		{"System Private", "System", "Private", nobody},
		{"Draft Public", "Draft", "Public", nobody},
		{"Draft Restricted", "Draft", "Restricted", nobody},
		{"Draft Private", "Draft", "Private", nobody},
		{"unknown scope", "Actual", "Everyone", nobody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AudienceOf(&cap.Alert{Status: tc.status, Scope: tc.scope})
			if got != tc.want {
				t.Errorf("AudienceOf(%s, %s) = %+v, want %+v", tc.status, tc.scope, got, tc.want)
			}
			// Whatever the row, these rules hold: only Actual alerts reach
			// the public timeline, and exercises reach only participants.
			if got.Social && tc.status != "Actual" {
				t.Errorf("a %s alert reaches social media", tc.status)
			}
			if (got.Residents || got.Hospitals) && (tc.status == "Exercise" || tc.status == "Test") && !got.Exercise {
				t.Errorf("a %s alert is not limited to exercise participants", tc.status)
			}
			if got.None && (got.Residents || got.Hospitals || got.Social) {
				t.Errorf("None with recipients: %+v", got)
			}
		})
	}
}
