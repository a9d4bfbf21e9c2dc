package api

import (
	"fmt"
	"net/http"

	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/problem"
)

type integrationJSON struct {
	Enabled         bool `json:"enabled"`
	ConnectionCount int  `json:"connectionCount"`
}

func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request, c auth.Caller) error {
	in, err := s.opts.Integrations.Integration(r.Context(), c.CompanyID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, integrationJSON{Enabled: in.Enabled, ConnectionCount: in.ConnectionCount})
}

func (s *Server) putIntegration(w http.ResponseWriter, r *http.Request, c auth.Caller) error {
	if !c.Has(auth.RoleManage) {
		return problem.Forbidden
	}
	var body struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if body.Enabled == nil {
		return problem.Validation("Say whether the integration is enabled.", []problem.FieldError{{Pointer: "/enabled", Detail: "is required"}})
	}
	if err := s.opts.Integrations.SetIntegration(r.Context(), c.CompanyID, *body.Enabled); err != nil {
		return err
	}
	s.opts.Logger.InfoContext(r.Context(), "integration switched", "companyId", c.CompanyID, "enabled", *body.Enabled)
	in, err := s.opts.Integrations.Integration(r.Context(), c.CompanyID)
	if err != nil {
		return fmt.Errorf("read back integration: %w", err)
	}
	return writeJSON(w, http.StatusOK, integrationJSON{Enabled: in.Enabled, ConnectionCount: in.ConnectionCount})
}
