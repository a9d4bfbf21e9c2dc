// Command googleemu serves the Google OAuth 2.0 and Drive emulators on one port for the local
// dev stack, until SIGINT or SIGTERM.
//
//	googleemu -addr 127.0.0.1:8089 \
//	  -accounts 'alice@example.com=Alice Example,bob@example.com' \
//	  -clients 'local-client,local-secret,http://127.0.0.1:8080/oauth/callback'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/efactori/drivesync/local/googleemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Stdout, log); err != nil {
		log.Error("googleemu", "err", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	addr        string
	baseURL     string
	accounts    []googleemu.Account
	clients     []oauthemu.Client
	tokenTTL    time.Duration
	dataDir     string
	autoConsent string
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("googleemu", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8089", "listen address (port 0 picks a free one)")
	fs.StringVar(&c.baseURL, "base-url", "", "URL clients reach the server at (default http://ADDR)")
	fs.DurationVar(&c.tokenTTL, "token-ttl", time.Hour, "access token lifetime")
	fs.StringVar(&c.dataDir, "data-dir", "", "directory keeping Drive files across restarts (default: memory only)")
	fs.StringVar(&c.autoConsent, "auto-consent", "", "account to consent as without showing the page (headless demos)")
	fs.Func("accounts", "comma-separated EMAIL[=Display Name] (repeatable)", func(v string) error {
		for _, item := range strings.Split(v, ",") {
			email, name, _ := strings.Cut(strings.TrimSpace(item), "=")
			if email == "" {
				return fmt.Errorf("empty account in %q", v)
			}
			c.accounts = append(c.accounts, googleemu.Account{Email: email, DisplayName: name})
		}
		return nil
	})
	fs.Func("clients", "client as ID,SECRET,REDIRECT_URI[,REDIRECT_URI...] (repeat the flag for more clients)", func(v string) error {
		parts := strings.Split(v, ",")
		if len(parts) < 3 {
			return fmt.Errorf("client %q: want ID,SECRET,REDIRECT_URI[,...]", v)
		}
		c.clients = append(c.clients, oauthemu.Client{ID: parts[0], Secret: parts[1], RedirectURIs: parts[2:]})
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if len(c.accounts) == 0 {
		errs = append(errs, errors.New("-accounts is required"))
	}
	if len(c.clients) == 0 {
		errs = append(errs, errors.New("-clients is required"))
	}
	if c.tokenTTL <= 0 {
		errs = append(errs, errors.New("-token-ttl must be positive"))
	}
	return c, errors.Join(errs...)
}

func run(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	c, err := parseFlags(args, stdout)
	if err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	emu, err := googleemu.New(googleemu.Options{
		Accounts:       c.accounts,
		Clients:        c.clients,
		AccessTokenTTL: c.tokenTTL,
		DataDir:        c.dataDir,
		AutoConsent:    c.autoConsent,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := c.baseURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	if err := emu.SetBaseURL(base); err != nil {
		ln.Close()
		return err
	}
	ep := emu.OAuth.Endpoint()
	fmt.Fprintf(stdout, "googleemu listening on %s\n", base)
	fmt.Fprintf(stdout, "  issuer:         %s\n", emu.OAuth.Issuer())
	fmt.Fprintf(stdout, "  auth URL:       %s\n", ep.AuthURL)
	fmt.Fprintf(stdout, "  token URL:      %s\n", ep.TokenURL)
	fmt.Fprintf(stdout, "  revoke URL:     %s\n", emu.OAuth.RevokeURL())
	fmt.Fprintf(stdout, "  drive endpoint: %s\n", emu.DriveEndpoint())

	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
