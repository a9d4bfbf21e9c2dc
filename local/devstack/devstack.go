// Package devstack runs the whole of drivesync on one machine without Google: the official
// Firestore and Pub/Sub emulators, the Google Drive + OAuth emulator, the eFactori stand-in and
// every function in its own process, wired together as production wires them.
//
// Pub/Sub delivers to the event functions through local/pushd, as production pushes: from a
// subscription per topic, with the ack deadline, retry backoff, dead-letter topic and per-instance
// concurrency terraform/delivery.json declares, to K instances of SyncDocument (Options) and one
// of InitialCopy. Every function process is supervised: one that exits or is killed is started
// again on the same port, as Cloud Run replaces a crashed instance.
package devstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"sync"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/local/googleemu"
	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/local/googleemu/pickeremu"
	"github.com/efactori/drivesync/local/proc"
	"github.com/efactori/drivesync/local/pushd"
	"github.com/efactori/drivesync/local/webapp"
	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/tokencrypt"
	"github.com/efactori/drivesync/terraform"
)

// Fixed names of the local stack, printed for people and used by the demo.
const (
	ProjectID     = "drivesync-dev"
	ClientID      = "drivesync-dev.apps.googleusercontent.com"
	ClientSecret  = "drivesync-dev-secret" // an emulator credential, not a secret anywhere else
	Audience      = "drivesync"
	DevToken      = "efactori-dev-token" // the eFactori stand-in's document API credential
	GoogleAccount = "marie.dupont@example.com"
	OtherAccount  = "comptable@example.com"
	// ProjectNumber and PickerAPIKey are the local Cloud project's number and browser API key,
	// which the Google Picker checks in drive.file mode (PICKER_APP_ID, PICKER_API_KEY).
	ProjectNumber = "100000000042"
	PickerAPIKey  = "AIza-drivesync-dev-picker-key" // an emulator credential, not a key anywhere else
)

// DriveWritesPerSecond is the functions' DRIVE_WRITES_PER_SECOND, as in production
// (terraform/syncdocument.tf): a copy of N documents takes at least N/3 s.
const DriveWritesPerSecond = 3

// Options configure Start. A zero port picks a free one.
type Options struct {
	// Dir keeps built binaries and the Drive emulator's files; created if missing.
	Dir string
	// Ports of the stand-ins and functions.
	GooglePort, EFactoriPort, ConnectionsPort, CallbackPort, FrontendPort int
	SyncDocumentPort, InitialCopyPort                                     int
	// Companies seeds the eFactori stand-in; nil means its default sample companies.
	Companies []efactori.CompanySpec
	// Output receives the children's and stand-ins' logs; nil discards them.
	Output io.Writer
	// DriveScope is the functions' DRIVE_SCOPE: "drive" (the default: folders browsed in the
	// page) or "drive.file" (folders picked with the Google emulator's Picker).
	DriveScope string
	// SyncDocumentInstances is K, the SyncDocument processes pushd delivers to (each taking the
	// concurrency terraform/delivery.json declares). 0 means 1: the dev machine has a few cores,
	// and production's max_instances is the fleet bench's to measure.
	SyncDocumentInstances int
	// Env is added to every function's environment, after the stack's own settings.
	Env []string
}

// DeadLetterTopic is where pushd forwards a message after its subscription's maximum delivery
// attempts, as terraform/pubsub.tf's drivesync-dead-letter.
const DeadLetterTopic = "drivesync-dead-letter"

// Stack is a running local drivesync.
type Stack struct {
	Emulators *emulators.Emulators
	Google    *googleemu.Emulator
	EFactori  *efactori.Server

	GoogleURL, EFactoriURL, ConnectionsURL, OAuthCallbackURL, FrontendURL string
	// SyncDocumentURL and InitialCopyURL are the event functions (SyncDocument's first
	// instance), which pushd delivers to; SyncDocumentURLs lists every SyncDocument instance.
	SyncDocumentURL, InitialCopyURL string
	SyncDocumentURLs                []string
	// Pushers deliver each topic (by topic ID) to its function.
	Pushers map[string]*pushd.Pusher
	// Functions are the supervised function processes, by name ("SyncDocument#2" for the
	// instances after the first).
	Functions map[string]*proc.Supervisor

	// DriveScope is the stack's DRIVE_SCOPE.
	DriveScope string

	servers    []*http.Server
	procs      []*proc.Supervisor
	stopPushd  context.CancelFunc
	pushdDone  sync.WaitGroup
	pubsubConn *pubsub.Client
}

// Start brings the stack up and returns once every part answers. On error, whatever was
// started has been stopped again.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{DriveScope: cmp.Or(opts.DriveScope, "drive")}
	if s.DriveScope != "drive" && s.DriveScope != "drive.file" {
		return nil, fmt.Errorf("start devstack: drive scope must be drive or drive.file, not %q", opts.DriveScope)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Stop())
		}
	}()
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("make %s: %w", opts.Dir, err)
	}

	// The functions binary builds while the emulators start; both take a few seconds.
	built := make(chan error, 1)
	bin := filepath.Join(opts.Dir, "functions")
	go func() { built <- build(ctx, bin, "./local/cmd/functions") }()

	if s.Emulators, err = emulators.Start(ctx, emulators.Options{Output: out}); err != nil {
		return nil, err
	}
	for _, kv := range s.Emulators.Env() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v) // the Pub/Sub client below and the demo's clients find the emulators this way
	}
	if err := createTopics(ctx); err != nil {
		return nil, err
	}
	delivery, err := terraform.LoadDelivery()
	if err != nil {
		return nil, err
	}
	k := opts.SyncDocumentInstances
	if k <= 0 {
		k = 1
	}
	ports, err := pickPorts(append([]int{opts.GooglePort, opts.EFactoriPort, opts.ConnectionsPort, opts.CallbackPort, opts.FrontendPort,
		opts.SyncDocumentPort, opts.InitialCopyPort}, make([]int, k-1)...)...)
	if err != nil {
		return nil, err
	}
	s.GoogleURL, s.EFactoriURL = "http://"+proc.HostPort(ports[0]), "http://"+proc.HostPort(ports[1])
	s.ConnectionsURL, s.OAuthCallbackURL = "http://"+proc.HostPort(ports[2]), "http://"+proc.HostPort(ports[3])
	// The reference settings page plays eFactori's frontend: CORS admits it, and the OAuth
	// callback sends the browser back to it.
	s.FrontendURL = "http://" + proc.HostPort(ports[4]) + "/"
	s.SyncDocumentURL, s.InitialCopyURL = "http://"+proc.HostPort(ports[5]), "http://"+proc.HostPort(ports[6])
	syncPorts := append([]int{ports[5]}, ports[7:]...)
	for _, p := range syncPorts {
		s.SyncDocumentURLs = append(s.SyncDocumentURLs, "http://"+proc.HostPort(p))
	}

	s.Google, err = googleemu.New(googleemu.Options{
		Accounts: []googleemu.Account{
			{Email: GoogleAccount, DisplayName: "Marie Dupont"},
			{Email: OtherAccount, DisplayName: "Cabinet comptable"},
		},
		Clients:  []oauthemu.Client{{ID: ClientID, Secret: ClientSecret, RedirectURIs: []string{s.OAuthCallbackURL}}},
		Projects: []pickeremu.Project{{Number: ProjectNumber, ClientIDs: []string{ClientID}, APIKeys: []string{PickerAPIKey}}},
		BaseURL:  s.GoogleURL,
		DataDir:  filepath.Join(opts.Dir, "drive"),
		Logger:   log,
	})
	if err != nil {
		return nil, err
	}
	if err := s.serve(ports[0], s.Google.Handler()); err != nil {
		return nil, err
	}
	companies := opts.Companies
	if companies == nil {
		companies = efactori.DefaultCompanies()
	}
	s.EFactori, err = efactori.New(efactori.Options{
		DevToken: DevToken, Audience: Audience, Companies: companies, BaseURL: s.EFactoriURL, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if err := s.serve(ports[1], s.EFactori); err != nil {
		return nil, err
	}
	page, err := webapp.New(webapp.Options{APIURL: s.ConnectionsURL, Tokens: s.EFactori, PickerScriptURL: s.Google.PickerScriptURL()})
	if err != nil {
		return nil, err
	}
	if err := s.serve(ports[4], page); err != nil {
		return nil, err
	}

	keyset, err := tokencrypt.NewDevKeyset()
	if err != nil {
		return nil, err
	}
	env := append(s.Emulators.Env(),
		"GOOGLE_CLOUD_PROJECT="+ProjectID,
		"LOG_LEVEL=INFO",
		"EFACTORI_ISSUER="+s.EFactori.Issuer(),
		"EFACTORI_AUDIENCE="+Audience,
		"FRONTEND_ORIGINS="+strings.TrimSuffix(s.FrontendURL, "/"),
		"FRONTEND_URL="+s.FrontendURL,
		"OAUTH_CLIENT_ID="+ClientID,
		"OAUTH_CLIENT_SECRET="+ClientSecret,
		"OAUTH_REDIRECT_URL="+s.OAuthCallbackURL,
		"TOKEN_KEYSET="+string(keyset),
		"TOKEN_KEYSET_CLEARTEXT=true",
		"DRIVE_WRITES_PER_SECOND="+strconv.Itoa(DriveWritesPerSecond),
		"GOOGLE_EMULATOR_URL="+s.GoogleURL,
		"DRIVE_SCOPE="+s.DriveScope,
	)
	if s.DriveScope == "drive.file" {
		env = append(env, "PICKER_APP_ID="+ProjectNumber, "PICKER_API_KEY="+PickerAPIKey)
	}
	env = append(env, opts.Env...)
	if err := <-built; err != nil {
		return nil, err
	}
	s.Functions = map[string]*proc.Supervisor{}
	for i, fn := range []string{config.FunctionConnections, config.FunctionOAuthCallback} {
		if err := s.startFunction(ctx, fn, bin, fn, ports[2+i], env, out); err != nil {
			return nil, err
		}
	}
	// The event functions read eFactori's document API with the stand-in's dev token, as an ID
	// token would be presented in production.
	eventEnv := append(slices.Clone(env), "EFACTORI_DOCUMENTS_URL="+s.EFactoriURL, "EFACTORI_DEV_TOKEN="+DevToken)
	eventEnv = append(eventEnv, opts.Env...) // the caller's word still wins over the stack's
	for i, p := range syncPorts {
		name := config.FunctionSyncDocument
		if i > 0 {
			name += "#" + strconv.Itoa(i+1)
		}
		if err := s.startFunction(ctx, name, bin, config.FunctionSyncDocument, p, eventEnv, out); err != nil {
			return nil, err
		}
	}
	if err := s.startFunction(ctx, config.FunctionInitialCopy, bin, config.FunctionInitialCopy, ports[6], eventEnv, out); err != nil {
		return nil, err
	}
	if err := s.startPushd(ctx, delivery, log); err != nil {
		return nil, err
	}
	if err := subscribeEFactori(ctx, s.EFactoriURL); err != nil {
		return nil, err
	}
	return s, nil
}

// Subscription names the subscription pushd delivers topic from.
func Subscription(topic string) string {
	return "projects/" + ProjectID + "/subscriptions/" + topic + "-pushd"
}

// startPushd subscribes to each topic delivery.json declares and delivers it to its function
// with pushd, with the declaration's ack deadline, backoffs and attempts. SyncDocument's
// instances form one pool for both its topics, as a Cloud Run service's instances serve every
// subscription that pushes to it.
func (s *Stack) startPushd(ctx context.Context, delivery terraform.Delivery, log *slog.Logger) error {
	c, err := pubsub.NewClient(ctx, ProjectID)
	if err != nil {
		return fmt.Errorf("pubsub client: %w", err)
	}
	s.pubsubConn = c
	pools := map[string]*pushd.Pool{}
	urls := map[string][]string{config.FunctionSyncDocument: s.SyncDocumentURLs, config.FunctionInitialCopy: {s.InitialCopyURL}}
	for fn, u := range urls {
		f, ok := delivery.Functions[fn]
		if !ok {
			return fmt.Errorf("terraform/delivery.json does not declare %s", fn)
		}
		if pools[fn], err = pushd.NewPool(fn, u, f.Concurrency); err != nil {
			return err
		}
	}
	// The pushers outlive Start's context; Stop ends them.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopPushd = cancel
	s.Pushers = map[string]*pushd.Pusher{}
	dlt := "projects/" + ProjectID + "/topics/" + DeadLetterTopic
	for _, topic := range []string{config.TopicDocumentEvents, config.TopicCopyTasks, config.TopicCopyRequests} {
		_, d, ok := delivery.SubscriptionFor(topic)
		if !ok {
			return fmt.Errorf("terraform/delivery.json declares no subscription for %s", topic)
		}
		name := "projects/" + ProjectID + "/topics/" + topic
		_, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name: Subscription(topic), Topic: name, AckDeadlineSeconds: int32(d.AckDeadlineSeconds)})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("subscription for %s: %w", topic, err)
		}
		p, err := pushd.New(pushd.Options{Client: c, Pool: pools[d.Function], Logger: log.With("topic", topic),
			RequestTimeout: delivery.Functions[d.Function].Timeout(),
			Subscription: pushd.Subscription{Name: Subscription(topic), Topic: name, DeadLetterTopic: dlt,
				AckDeadline: d.AckDeadline(), MinBackoff: d.MinBackoff(), MaxBackoff: d.MaxBackoff(), MaxAttempts: d.MaxDeliveryAttempts}})
		if err != nil {
			return err
		}
		s.Pushers[topic] = p
		s.pushdDone.Add(1)
		go func() {
			defer s.pushdDone.Done()
			_ = p.Run(runCtx) // ends with runCtx's error, at Stop
		}()
	}
	return nil
}

// Stop stops every part of the stack and waits until its processes are gone.
func (s *Stack) Stop() error {
	var errs []error
	if s.stopPushd != nil {
		s.stopPushd()
		s.pushdDone.Wait()
		s.stopPushd = nil
	}
	if s.pubsubConn != nil {
		errs = append(errs, s.pubsubConn.Close())
		s.pubsubConn = nil
	}
	for _, p := range s.procs {
		errs = append(errs, p.Stop())
	}
	for _, srv := range s.servers {
		errs = append(errs, srv.Close())
	}
	if s.Emulators != nil {
		errs = append(errs, s.Emulators.Stop())
	}
	s.procs, s.servers, s.Emulators = nil, nil, nil
	return errors.Join(errs...)
}

// PIDs returns the process IDs of the stack's child processes (functions and emulators).
func (s *Stack) PIDs() []int {
	var pids []int
	for _, p := range s.procs {
		pids = append(pids, p.PID())
	}
	return pids
}

// Describe writes what a person needs to use the stack.
func (s *Stack) Describe(w io.Writer) error {
	token, err := s.EFactori.MintToken(efactori.Claims{
		Subject: "user-marie", Email: "marie@acme.example", CompanyID: efactori.Acme.ID, CompanyName: efactori.Acme.Name,
		Roles: []string{efactori.RoleIntegrationsManage}, TTL: 12 * time.Hour,
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, `drivesync local stack is up (project %s)

  Settings page        %s
  Connections API      %s/v1/integration
  OAuth callback       %s
  SyncDocument         %s   (%d instance(s), delivered %s and %s by pushd)
  InitialCopy          %s   (delivered %s by pushd; every function restarts if it exits)
  Google OAuth + Drive %s   (accounts: %s, %s; DRIVE_SCOPE %s)
  eFactori stand-in    %s   (document API token: %s)
                       status events drivesync published: GET /admin/status-events
  Firestore emulator   %s
  Pub/Sub emulator     %s   (topics: %s, %s, %s)

A frontend token for %s (role %s, valid 12 h):

  export TOKEN=%s
  curl -H "Authorization: Bearer $TOKEN" %s/v1/integration

Press Ctrl-C to stop everything.
`, ProjectID, s.FrontendURL, s.ConnectionsURL, s.OAuthCallbackURL,
		strings.Join(s.SyncDocumentURLs, " "), len(s.SyncDocumentURLs), config.TopicDocumentEvents, config.TopicCopyTasks, s.InitialCopyURL, config.TopicCopyRequests,
		s.GoogleURL, GoogleAccount, OtherAccount, s.DriveScope,
		s.EFactoriURL, DevToken, s.Emulators.FirestoreHost, s.Emulators.PubSubHost,
		config.TopicDocumentEvents, config.TopicCopyRequests, config.TopicCopyTasks,
		efactori.Acme.Name, efactori.RoleIntegrationsManage, token, s.ConnectionsURL)
	return err
}

func (s *Stack) serve(port int, h http.Handler) error {
	l, err := net.Listen("tcp", proc.HostPort(port))
	if err != nil {
		return fmt.Errorf("listen on %d: %w", port, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go srv.Serve(l) //nolint:errcheck // Close ends it
	return nil
}

// startFunction runs target on port under a supervisor, which restarts it if it exits.
func (s *Stack) startFunction(ctx context.Context, name, bin, target string, port int, env []string, out io.Writer) error {
	env = append(slices.Clone(env), "FUNCTION_TARGET="+target, fmt.Sprintf("PORT=%d", port), "HOST=127.0.0.1")
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	p, err := proc.Supervise(wctx, "function "+name, []string{bin}, env, out, func(ctx context.Context, p *proc.Process) error {
		return p.WaitTCP(ctx, proc.HostPort(port))
	})
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	s.Functions[name] = p
	return nil
}

// build compiles pkg (relative to the module root) into bin.
func build(ctx context.Context, bin, pkg string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", pkg, err, out)
	}
	return nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("find module root: run from inside the drivesync checkout")
	}
	return filepath.Dir(gomod), nil
}

func pickPorts(ports ...int) ([]int, error) {
	out := make([]int, len(ports))
	for i, p := range ports {
		if p == 0 {
			free, err := proc.FreePort()
			if err != nil {
				return nil, err
			}
			p = free
		}
		out[i] = p
	}
	return out, nil
}

// createTopics creates drivesync's topics on the Pub/Sub emulator, as Terraform does in production.
func createTopics(ctx context.Context) error {
	c, err := pubsub.NewClient(ctx, ProjectID)
	if err != nil {
		return fmt.Errorf("pubsub client: %w", err)
	}
	defer c.Close()
	for _, t := range []string{config.TopicDocumentEvents, config.TopicCopyRequests, config.TopicCopyTasks, config.TopicStatusEvents, DeadLetterTopic} {
		_, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/" + ProjectID + "/topics/" + t})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("create topic %s: %w", t, err)
		}
	}
	return nil
}
