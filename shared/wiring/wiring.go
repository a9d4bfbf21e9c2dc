// Package wiring builds drivesync's production dependencies from configuration: it is the one
// place that knows which Firestore database, OAuth provider, Drive endpoint, keyset and Pub/Sub
// topic a function talks to. Functions call it once per instance, through Lazy.
package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/pubsub/v2"

	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/auth"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/oauth"
	"github.com/efactori/drivesync/shared/queue"
	"github.com/efactori/drivesync/shared/store"
	"github.com/efactori/drivesync/shared/tokencrypt"
)

// userAgent tells Google's logs which program called.
const userAgent = "drivesync"

// Connections builds the connection API of the Connections function.
func Connections(ctx context.Context, cfg config.Connections, log *slog.Logger) (*api.Server, error) {
	if log == nil {
		return nil, errors.New("wire connections: nil logger")
	}
	svc, err := service(ctx, cfg.Common, cfg.Google, log)
	if err != nil {
		return nil, fmt.Errorf("wire connections: %w", err)
	}
	verifier, err := auth.NewVerifier(cfg.EFactoriIssuer, cfg.EFactoriAudience, nil)
	if err != nil {
		return nil, fmt.Errorf("wire connections: %w", err)
	}
	srv, err := api.New(api.Options{Verifier: verifier, Service: svc, Logger: log, FrontendOrigins: cfg.FrontendOrigins})
	if err != nil {
		return nil, fmt.Errorf("wire connections: %w", err)
	}
	return srv, nil
}

// OAuthCallback builds the OAuth callback of the OAuthCallback function.
func OAuthCallback(ctx context.Context, cfg config.OAuthCallback, log *slog.Logger) (*api.Callback, error) {
	if log == nil {
		return nil, errors.New("wire oauth callback: nil logger")
	}
	svc, err := service(ctx, cfg.Common, cfg.Google, log)
	if err != nil {
		return nil, fmt.Errorf("wire oauth callback: %w", err)
	}
	cb, err := api.NewCallback(api.CallbackOptions{Callbacks: svc, Logger: log, FrontendURL: cfg.FrontendURL})
	if err != nil {
		return nil, fmt.Errorf("wire oauth callback: %w", err)
	}
	return cb, nil
}

// driveScopes maps DRIVE_SCOPE to the OAuth scope asked for.
var driveScopes = map[string]string{
	"drive":      oauth.ScopeDrive,
	"drive.file": "https://www.googleapis.com/auth/drive.file",
}

// service builds the connection service both HTTP functions use. Nothing here does I/O except
// tokencrypt.Load with a KMS key; the clients connect on first use.
func service(ctx context.Context, common config.Common, g config.Google, log *slog.Logger) (svc *connection.Service, err error) {
	// Clients made before a later step fails are closed, so a retried initialisation does not
	// leak a connection per attempt.
	var closers []func() error
	defer func() {
		if err != nil {
			for _, c := range closers {
				_ = c()
			}
		}
	}()

	scope, ok := driveScopes[g.DriveScope]
	if !ok {
		return nil, fmt.Errorf("unknown drive scope %q", g.DriveScope)
	}
	cipher, err := tokencrypt.Load(ctx, tokencrypt.Source{
		Keyset:         []byte(g.TokenKeyset),
		KEKURI:         g.TokenKEKURI,
		AllowCleartext: g.TokenKeysetCleartext,
	})
	if err != nil {
		return nil, err
	}
	provider := oauth.Google()
	var driveOpts drive.Options
	if g.EmulatorURL != "" {
		provider = oauth.EmulatorProvider(g.EmulatorURL)
		// The emulator serves Drive under the same base URL as OAuth (local/googleemu).
		driveOpts.Endpoint = g.EmulatorURL + "/drive/v3/"
	}
	driveOpts.UserAgent = userAgent
	oc, err := oauth.New(oauth.Options{
		ClientID:     g.OAuthClientID,
		ClientSecret: g.OAuthClientSecret,
		RedirectURL:  g.OAuthRedirectURL,
		Scopes:       []string{oauth.ScopeOpenID, oauth.ScopeEmail, scope},
		Provider:     provider,
	})
	if err != nil {
		return nil, err
	}

	// The clients outlive the request that happens to build them.
	bg := context.WithoutCancel(ctx)
	fs, err := firestore.NewClientWithDatabase(bg, common.ProjectID, common.FirestoreDatabase)
	if err != nil {
		return nil, fmt.Errorf("firestore client: %w", err)
	}
	closers = append(closers, fs.Close)
	st, err := store.New(fs, nil)
	if err != nil {
		return nil, err
	}
	ps, err := pubsub.NewClient(bg, common.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	closers = append(closers, ps.Close)
	copies, err := queue.NewPublisher(ps.Publisher(config.TopicCopyRequests))
	if err != nil {
		return nil, err
	}
	svc, err = connection.New(connection.Options{
		Store:      st,
		OAuth:      oc,
		Cipher:     cipher,
		Drive:      driveOpts,
		DriveScope: g.DriveScope,
		Copies:     copies,
		Logger:     log,
	})
	if err != nil {
		return nil, err
	}
	return svc, nil
}

// Lazy returns a handler that builds its real handler with build on the first request and
// reuses it afterwards. Building on a request rather than in init() keeps I/O out of start-up;
// a failed build is retried on the next request instead of leaving the instance broken for its
// lifetime, and meanwhile the request is answered 503. Concurrent first requests wait for one
// build.
func Lazy(build func(ctx context.Context) (http.Handler, error), log *slog.Logger, unavailable http.Handler) http.Handler {
	var (
		mu sync.Mutex
		h  http.Handler
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if h == nil {
			built, err := build(r.Context())
			if err != nil {
				mu.Unlock()
				log.ErrorContext(r.Context(), "function not ready", "err", err)
				unavailable.ServeHTTP(w, r)
				return
			}
			h = built
		}
		ready := h
		mu.Unlock()
		ready.ServeHTTP(w, r)
	})
}
