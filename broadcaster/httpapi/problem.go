package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/herald-alerts/herald/broadcaster/cap"
)

// Problem is an RFC 9457 problem detail; Errors lists validation problems
// with their CAP element paths.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors cap.Problems `json:"errors,omitempty"`
}

func writeProblem(w http.ResponseWriter, status int, title, detail string, errs cap.Problems) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Errors: errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
