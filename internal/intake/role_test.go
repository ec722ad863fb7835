package intake

import (
	"errors"
	"strings"
	"testing"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/originators"
)

func TestAuthorizeRole(t *testing.T) {
	const (
		issuer       = originators.RoleIssuer
		approver     = originators.RoleApprover
		exerciseOnly = originators.RoleExerciseOnly
	)
	tests := []struct {
		name    string
		roles   []originators.Role
		status  cap.Status
		msgType cap.MsgType
		allowed bool
	}{
		{"issuer sends an Actual Alert", []originators.Role{issuer}, "Actual", "Alert", true},
		{"issuer sends an Actual Cancel", []originators.Role{issuer}, "Actual", "Cancel", true},
		{"issuer sends an Exercise", []originators.Role{issuer}, "Exercise", "Alert", true},
		{"issuer and approver send an Actual Alert", []originators.Role{approver, issuer}, "Actual", "Alert", true},
		{"exercise_only sends an Actual Alert", []originators.Role{exerciseOnly}, "Actual", "Alert", false},
		{"exercise_only sends an Actual Update", []originators.Role{exerciseOnly}, "Actual", "Update", false},
		{"exercise_only sends an Exercise Alert", []originators.Role{exerciseOnly}, "Exercise", "Alert", true},
		{"exercise_only sends a Test Alert", []originators.Role{exerciseOnly}, "Test", "Alert", true},
		{"approver sends an Alert", []originators.Role{approver}, "Actual", "Alert", false},
		{"approver sends an Update", []originators.Role{approver}, "Actual", "Update", true},
		{"approver sends a Cancel", []originators.Role{approver}, "Actual", "Cancel", true},
		{"approver sends an Exercise Alert", []originators.Role{approver}, "Exercise", "Alert", false},
		{"no roles", nil, "Exercise", "Alert", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &originators.Originator{ID: "wa-officer", Roles: tc.roles}
			err := authorizeRole(o, &cap.Alert{Status: tc.status, MsgType: tc.msgType})
			if tc.allowed {
				if err != nil {
					t.Errorf("authorizeRole = %v, want allowed", err)
				}
				return
			}
			var ie *Error
			if !errors.As(err, &ie) || ie.Kind != Forbidden {
				t.Fatalf("authorizeRole = %#v, want a Forbidden refusal", err)
			}
			if KindOf(err).HTTPStatus() != 403 {
				t.Errorf("refusal maps to HTTP %d, want 403", KindOf(err).HTTPStatus())
			}
			if !strings.Contains(ie.Detail, "wa-officer") {
				t.Errorf("detail %q does not name the originator", ie.Detail)
			}
		})
	}
}
