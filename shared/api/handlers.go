package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	apidoc "github.com/efactori/drivesync/docs/api"
	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/problem"
)

// Route is one path of the API and the methods it serves, for the OpenAPI test and for readers.
type Route struct {
	Path    string   // a net/http pattern path, e.g. /v1/connections/{id}
	Methods []string // sorted
}

// route is a Route with its handlers. A public route needs no token.
type route struct {
	Path     string
	handlers map[string]handlerFunc
	public   bool
}

func (s *Server) routes() []route {
	return append([]route{
		{Path: "/v1/openapi.yaml", handlers: map[string]handlerFunc{http.MethodGet: serveOpenAPI}, public: true},
		{Path: "/v1/integration", handlers: map[string]handlerFunc{
			http.MethodGet: s.getIntegration,
			http.MethodPut: manage(s.putIntegration),
		}},
		{Path: "/v1/connections", handlers: map[string]handlerFunc{
			http.MethodGet:  s.listConnections,
			http.MethodPost: manage(s.createConnection),
		}},
		{Path: "/v1/connections/{id}", handlers: map[string]handlerFunc{
			http.MethodGet:    withID(s.getConnection),
			http.MethodPatch:  manage(withID(s.updateConnection)),
			http.MethodDelete: manage(withID(s.deleteConnection)),
		}},
		{Path: "/v1/connections/{id}/authorization", handlers: map[string]handlerFunc{
			http.MethodPost: manage(withID(s.authorize)),
		}},
		{Path: "/v1/connections/{id}/folders", handlers: map[string]handlerFunc{
			http.MethodGet:  withID(s.listFolders),
			http.MethodPost: manage(withID(s.createFolder)),
		}},
		{Path: "/v1/connections/{id}/picker", handlers: map[string]handlerFunc{
			http.MethodGet: manage(withID(s.picker)),
		}},
		{Path: "/v1/connections/{id}/target", handlers: map[string]handlerFunc{
			http.MethodPut: manage(withID(s.setTarget)),
		}},
		{Path: "/v1/connections/{id}/resync", handlers: map[string]handlerFunc{
			http.MethodPost: manage(withID(s.resync)),
		}},
	}, s.documentRoutes()...)
}

// manage guards a route that changes state with the role that allows it. It runs before the
// body is read or the ID looked up, so a caller without the role learns nothing else.
func manage(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c auth.Caller) error {
		if !c.Has(auth.RoleManage) {
			return problem.Forbidden
		}
		return h(w, r, c)
	}
}

// idHandlerFunc serves a route under /v1/connections/{id} with a well-formed id.
type idHandlerFunc func(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error

// withID rejects a malformed connection ID as not found, the same answer as an unknown one.
func withID(h idHandlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c auth.Caller) error {
		id := r.PathValue("id")
		if !validID(id) {
			return problem.NotFound
		}
		return h(w, r, c, id)
	}
}

// openAPIETag is the strong validator of the served document: its SHA-256.
var openAPIETag = func() string {
	sum := sha256.Sum256(apidoc.OpenAPI)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// serveOpenAPI answers the API's own OpenAPI document, docs/api/openapi.yaml as built in. It is
// public, like any API's contract; it changes only with a deployment, so clients revalidate
// with If-None-Match (http.ServeContent answers 304, HEAD and ranges).
func serveOpenAPI(w http.ResponseWriter, r *http.Request, _ auth.Caller) error {
	h := w.Header()
	h.Set("Content-Type", "application/yaml") // RFC 9512; YAML is UTF-8
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", openAPIETag)
	http.ServeContent(w, r, "openapi.yaml", time.Time{}, bytes.NewReader(apidoc.OpenAPI))
	return nil
}

func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request, c auth.Caller) error {
	in, err := s.opts.Service.Integration(r.Context(), c.CompanyID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.integrationOf(in))
}

func (s *Server) putIntegration(w http.ResponseWriter, r *http.Request, c auth.Caller) error {
	if err := checkJSON(r); err != nil {
		return err
	}
	enabled, err := decodeIntegration(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return err
	}
	in, err := s.opts.Service.SetIntegration(r.Context(), c.CompanyID, enabled)
	if err != nil {
		return err
	}
	s.opts.Logger.InfoContext(r.Context(), "integration switched", "companyId", c.CompanyID, "enabled", enabled, "by", c.Subject)
	return writeJSON(w, http.StatusOK, s.integrationOf(in))
}

func (s *Server) listConnections(w http.ResponseWriter, r *http.Request, c auth.Caller) error {
	conns, err := s.opts.Service.List(r.Context(), c.CompanyID)
	if err != nil {
		return err
	}
	out := connectionsJSON{Connections: make([]connectionJSON, 0, len(conns))}
	for _, conn := range conns {
		out.Connections = append(out.Connections, connectionOf(conn))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) createConnection(w http.ResponseWriter, r *http.Request, c auth.Caller) error {
	if err := checkJSON(r); err != nil {
		return err
	}
	in, err := decodeCreate(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return err
	}
	conn, authURL, err := s.opts.Service.Create(r.Context(), c.CompanyID, c.CompanyName, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/connections/"+conn.ID)
	return writeJSON(w, http.StatusCreated, createdJSON{Connection: connectionOf(conn), AuthorizationURL: authURL})
}

func (s *Server) getConnection(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	conn, err := s.opts.Service.Get(r.Context(), c.CompanyID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, connectionOf(conn))
}

func (s *Server) updateConnection(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	if err := checkJSON(r); err != nil {
		return err
	}
	in, err := decodeUpdate(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return err
	}
	conn, err := s.opts.Service.Update(r.Context(), c.CompanyID, id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, connectionOf(conn))
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	if err := s.opts.Service.Delete(r.Context(), c.CompanyID, id); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	u, err := s.opts.Service.Authorize(r.Context(), c.CompanyID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, authorizationJSON{AuthorizationURL: u})
}

func (s *Server) listFolders(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	q := r.URL.Query()
	fq, err := decodeFolderQuery(q.Get("parent"), q.Get("pageToken"))
	if err != nil {
		return err
	}
	l, err := s.opts.Service.Folders(r.Context(), c.CompanyID, id, fq.Parent, fq.PageToken)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, folderListingOf(l))
}

func (s *Server) createFolder(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	if err := checkJSON(r); err != nil {
		return err
	}
	nf, err := decodeNewFolder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return err
	}
	f, err := s.opts.Service.CreateFolder(r.Context(), c.CompanyID, id, nf.ParentID, nf.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, folderJSON{ID: f.ID, Name: f.Name})
}

func (s *Server) setTarget(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	if err := checkJSON(r); err != nil {
		return err
	}
	folderID, err := decodeTarget(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return err
	}
	conn, err := s.opts.Service.SetTarget(r.Context(), c.CompanyID, id, folderID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, connectionOf(conn))
}

func (s *Server) resync(w http.ResponseWriter, r *http.Request, c auth.Caller, id string) error {
	conn, err := s.opts.Service.Resync(r.Context(), c.CompanyID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, connectionOf(conn))
}
