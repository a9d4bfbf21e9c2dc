// Command efactori runs the eFactori stand-in for the local dev stack and the demo, and talks to
// a running one.
//
//	efactori [serve] -addr 127.0.0.1:8085 -dev-token local-dev -seed default,fanout=100000
//	efactori mint -url http://127.0.0.1:8085 -dev-token local-dev -company acme
//	efactori publish -url http://127.0.0.1:8085 -dev-token local-dev -project demo \
//	  -company acme -document acme-000001 -title 'Facture révisée'
//
// serve prints its URLs and a freshly minted frontend token, and stops on SIGINT or SIGTERM.
// mint asks a running stand-in for a token (its signing key lives in that process) and prints
// it. publish changes a document through the admin API and publishes the event eFactori would
// publish to the Pub/Sub emulator named by PUBSUB_EMULATOR_HOST; it refuses to run without it.
// The dev token defaults to $EFACTORI_DEV_TOKEN.
package main

import (
	"context"
	"encoding/json"
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

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/drivesync"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Stdout, log); err != nil {
		log.Error("efactori", "err", err)
		os.Exit(1)
	}
}

const devTokenEnv = "EFACTORI_DEV_TOKEN"

func run(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, log)
	case "mint":
		return mint(ctx, args, stdout)
	case "publish":
		return publish(ctx, args, stdout)
	default:
		return fmt.Errorf("unknown subcommand %q: want serve, mint or publish", cmd)
	}
}

func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

func serve(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8085", "listen address (port 0 picks a free one)")
	baseURL := fs.String("base-url", "", "URL clients reach the server at (default http://ADDR)")
	devToken := fs.String("dev-token", os.Getenv(devTokenEnv), "bearer token the API accepts (default $"+devTokenEnv+")")
	seed := fs.String("seed", "default", `companies: "default" (acme, empty, bulk), NAME, or NAME=COUNT, comma-separated`)
	randomSeed := fs.Uint64("random-seed", 1, "seed of the generated documents; the same seed gives the same bytes")
	issuer := fs.String("issuer", "", "iss of minted tokens (default the base URL)")
	audience := fs.String("audience", "drivesync", "aud of minted tokens")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	companies, err := efactori.ParseCompanies(*seed)
	if err != nil {
		return err
	}
	s, err := efactori.New(efactori.Options{
		DevToken: *devToken, Seed: *randomSeed, Companies: companies,
		Issuer: *issuer, Audience: *audience, Logger: log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	if *baseURL == "" {
		*baseURL = "http://" + ln.Addr().String()
	}
	if err := s.SetBaseURL(*baseURL); err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if err := printBanner(stdout, s, companies); err != nil {
		return err
	}
	log.Info("efactori stand-in started", "url", s.BaseURL(), "companies", len(companies))
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("efactori stand-in stopped")
	return nil
}

func printBanner(w io.Writer, s *efactori.Server, companies []efactori.CompanySpec) error {
	sample := efactori.Claims{
		Subject: "user-1", Email: "anne@acme.example", CompanyID: "acme", CompanyName: efactori.Acme.Name,
		Roles: []string{efactori.RoleIntegrationsManage},
	}
	if len(companies) > 0 {
		sample.CompanyID, sample.CompanyName = companies[0].ID, companies[0].Name
	}
	tok, err := s.MintToken(sample)
	if err != nil {
		return err
	}
	base := s.BaseURL()
	var names []string
	for _, c := range companies {
		names = append(names, c.ID)
	}
	_, err = fmt.Fprintf(w, `efactori stand-in listening on %s
  documents:  %s/v1/companies/{companyId}/documents
  content:    %s/v1/documents/{documentId}/content?revision=N
  discovery:  %s/.well-known/openid-configuration
  admin:      %s/admin/
  companies:  %s
  issuer:     %s
  audience:   %s
sample frontend token (company %s, role %s, valid 1h):
%s
`, base, base, base, base, base, strings.Join(names, ", "), s.Issuer(), s.Audience(),
		sample.CompanyID, efactori.RoleIntegrationsManage, tok)
	return err
}

func mint(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mint", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8085", "URL of the running stand-in")
	devToken := fs.String("dev-token", os.Getenv(devTokenEnv), "the stand-in's dev token (default $"+devTokenEnv+")")
	var req efactori.TokenRequest
	fs.StringVar(&req.Subject, "sub", "user-1", "sub claim")
	fs.StringVar(&req.Email, "email", "anne@acme.example", "email claim")
	fs.StringVar(&req.CompanyID, "company", "acme", "company_id claim")
	fs.StringVar(&req.CompanyName, "company-name", "", "company_name claim")
	roles := fs.String("roles", efactori.RoleIntegrationsManage, "comma-separated roles claim")
	fs.StringVar(&req.TTL, "ttl", "1h", "lifetime")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	req.Roles = splitList(*roles)
	c, err := efactori.NewAdminClient(*url, *devToken, nil)
	if err != nil {
		return err
	}
	tr, err := c.MintToken(ctx, req)
	if err != nil {
		return fmt.Errorf("mint: %w", err)
	}
	_, err = fmt.Fprintln(stdout, tr.Token)
	return err
}

func splitList(s string) []string {
	out := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func publish(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8085", "URL of the running stand-in")
	devToken := fs.String("dev-token", os.Getenv(devTokenEnv), "the stand-in's dev token (default $"+devTokenEnv+")")
	project := fs.String("project", "", "Pub/Sub emulator project (required)")
	topic := fs.String("topic", efactori.Topic, "topic ID; created if missing")
	company := fs.String("company", "acme", "company of the document")
	document := fs.String("document", "", "document ID (required)")
	del := fs.Bool("delete", false, "delete the document instead of upserting it")
	var u efactori.Upsert
	fs.Func("kind", "document kind", func(v string) error { u.Kind = drivesync.Kind(v); return nil })
	fs.StringVar(&u.Number, "number", "", "document number")
	fs.StringVar(&u.Date, "date", "", "document date, YYYY-MM-DD")
	fs.StringVar(&u.Title, "title", "", "document title")
	fs.StringVar(&u.FileName, "file-name", "", "file name")
	fs.Int64Var(&u.Size, "size", 0, "approximate size of the generated PDF in bytes")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	var errs []error
	if *project == "" {
		errs = append(errs, errors.New("-project is required"))
	}
	if *document == "" {
		errs = append(errs, errors.New("-document is required"))
	}
	// Without the emulator the client library would publish to real Google Cloud.
	if os.Getenv("PUBSUB_EMULATOR_HOST") == "" {
		errs = append(errs, errors.New("PUBSUB_EMULATOR_HOST is not set; publish only talks to the emulator"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	admin, err := efactori.NewAdminClient(*url, *devToken, nil)
	if err != nil {
		return err
	}
	client, err := pubsub.NewClient(ctx, *project)
	if err != nil {
		return fmt.Errorf("pubsub client: %w", err)
	}
	defer client.Close()
	name := "projects/" + *project + "/topics/" + *topic
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: name}); err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	var e drivesync.Event
	if *del {
		e, err = admin.Delete(ctx, *company, *document)
	} else {
		e, err = admin.Upsert(ctx, *company, *document, u)
	}
	if err != nil {
		return err
	}
	p, err := efactori.NewPublisher(client, name)
	if err != nil {
		return err
	}
	defer p.Stop()
	id, err := p.Publish(ctx, e)
	if err != nil {
		return err
	}
	out, err := json.MarshalIndent(struct {
		MessageID string          `json:"messageId"`
		Event     drivesync.Event `json:"event"`
	}{id, e}, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", out)
	return err
}
