package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-alerts/herald/internal/audit"
)

// AuditTrail is what the audit endpoints need.
type AuditTrail interface {
	List(ctx context.Context, since time.Time, limit int) ([]audit.Record, error)
	Verify(ctx context.Context) (int, error)
}

// auditList serves GET /v1/audit?since=RFC3339|duration&limit=N (admin).
func (s *Server) auditList(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, v); err == nil {
			since = t
		} else {
			writeProblem(w, http.StatusBadRequest, "Bad since", "give an RFC 3339 time or a duration like 24h", nil)
			return
		}
	}
	limit := 1000
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeProblem(w, http.StatusBadRequest, "Bad limit", "a positive number", nil)
			return
		}
		limit = n
	}
	recs, err := s.Audit.List(r.Context(), since, limit)
	if err != nil {
		s.unavailable(w, err)
		return
	}
	if recs == nil {
		recs = []audit.Record{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": recs})
}

// auditVerify serves GET /v1/audit/verify (admin): 200 with the number of
// records checked, or 409 naming the first record that breaks the chain.
func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	n, err := s.Audit.Verify(r.Context())
	var ce *audit.ChainError
	switch {
	case errors.As(err, &ce):
		writeJSON(w, http.StatusConflict, map[string]any{"ok": false, "verified": n, "broken_seq": ce.Seq, "reason": ce.Reason})
	case err != nil:
		s.unavailable(w, err)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "verified": n})
	}
}
