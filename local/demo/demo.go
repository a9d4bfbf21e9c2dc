// Package demo plays a customer's story against the local stack (scripts/demo): a company
// switches on the Google Drive integration, connects a Drive, consents, picks a folder, watches
// the initial copy, changes and adds documents in eFactori, and gets a Drive that is checked
// against eFactori file by file. Then the customer disconnects the Drive and connects it again
// onto the same folder: drivesync adopts the files already there, uploads none again, and the
// Drive is checked once more. Everything goes through the public connection API and Pub/Sub,
// as the eFactori frontend and eFactori's event publisher would.
package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/efactori/drivesync/local/devstack"
	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/local/googleemu/driveemu"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/layout"
)

// ErrMismatch is returned when the story ran to a check but the Drive does not hold exactly
// eFactori's documents.
var ErrMismatch = errors.New("the Drive does not match eFactori")

// ErrReuploaded is returned when connecting the Drive again onto the same folder uploaded files
// that were already there.
var ErrReuploaded = errors.New("the reconnection uploaded files again")

// Fixed parts of the story.
const (
	ConnectionName = "Comptabilité"
	TargetFolder   = "Factures eFactori"
	Layout         = drivesync.LayoutYearKind
)

// Options configure Run.
type Options struct {
	// Stack configures the local stack; its Companies are replaced by Company.
	Stack devstack.Options
	// Company is the sample company whose story is told; a zero ID means efactori.Acme.
	Company efactori.CompanySpec
	// Out receives the narration; nil discards it.
	Out io.Writer
	// LiveProgress redraws the initial copy's progress on one terminal line; otherwise a line
	// is written each time another tenth of the documents is copied.
	LiveProgress bool
	// CopyTimeout bounds the initial copy and the reconnection's run, SyncTimeout each later
	// change; zero means CopyTimeout(the company's size) and 1 minute.
	CopyTimeout, SyncTimeout time.Duration
	// BeforeCheck, when set, runs after the reconnection and before the final check; tests
	// tamper with the Drive there.
	BeforeCheck func(ctx context.Context, s *devstack.Stack) error
	// AfterStory, when set, runs after the final check with the stack still up (scripts/demo
	// --keep waits there for Ctrl-C); its error is returned with the story's.
	AfterStory func(ctx context.Context, s *devstack.Stack) error
}

// Result sums up a run.
type Result struct {
	Documents  int           // live documents of the company at the end
	DriveCalls int64         // Drive API calls the Google account received
	Elapsed    time.Duration // from the start of the stack to the end of the last check
	Problems   []string      // differences between the Drive and eFactori at the last check; empty on success
	// Reconnect counts, by Drive API method (as the emulator names them: "files.list",
	// "upload:multipart", …), the calls the Google account received from the disconnection to
	// the end of the run of the new connection; nil when the story stopped before.
	Reconnect map[string]int64
	// StatusEvents are the status events eFactori received, newest first (docs/status-events.md).
	StatusEvents []efactori.ReceivedStatusEvent
}

// Run starts the local stack, plays the story, checks the Drive and stops the stack, whatever
// happens (also when ctx is cancelled). It fails with ErrMismatch when the Drive does not match.
func Run(ctx context.Context, opts Options) (res Result, err error) {
	began := time.Now()
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	company := opts.Company
	if company.ID == "" {
		company = efactori.Acme
	}
	if company.Name == "" {
		company.Name = "Company " + company.ID
	}
	sopts := opts.Stack
	sopts.Companies = []efactori.CompanySpec{company}

	fmt.Fprintln(out, "Starting the local stack: Firestore and Pub/Sub emulators, Google Drive + OAuth emulator,")
	fmt.Fprint(out, "eFactori stand-in and the four functions, each in its own process… ")
	stack, err := devstack.Start(ctx, sopts)
	if err != nil {
		fmt.Fprintln(out)
		return res, fmt.Errorf("start the local stack: %w", err)
	}
	defer func() {
		if serr := stack.Stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop the local stack: %w", serr))
		}
	}()
	fmt.Fprintf(out, "up in %.1f s.\n\n", time.Since(began).Seconds())

	s := &story{stack: stack, out: out, company: company, began: began,
		copyTimeout: cmp.Or(opts.CopyTimeout, CopyTimeout(company.Size())), syncTimeout: cmp.Or(opts.SyncTimeout, time.Minute),
		live: opts.LiveProgress, notes: map[string]string{}}
	res, err = s.play(ctx, opts.BeforeCheck)
	if opts.AfterStory != nil {
		err = errors.Join(err, opts.AfterStory(ctx, stack))
	}
	return res, err
}

// CopyTimeout is how long the demo waits for the initial copy of a company of n documents. The
// functions write to Drive at devstack.DriveWritesPerSecond per connection, as in production, so
// the copy takes at least n/3 s, plus its folders and the large showcase PDFs: the timeout
// allows 1.5 times n/3 s and a minute more, and never less than 2 minutes (500 documents: 5m10s).
func CopyTimeout(n int) time.Duration {
	perDocument := time.Duration(1.5 * float64(time.Second) / devstack.DriveWritesPerSecond)
	return max(2*time.Minute, time.Minute+time.Duration(n)*perDocument)
}

// story holds what the steps share.
type story struct {
	stack       *devstack.Stack
	out         io.Writer
	company     efactori.CompanySpec
	began       time.Time
	copyTimeout time.Duration
	syncTimeout time.Duration
	live        bool

	api            *apiClient
	conn           connection
	authURL        string            // where the frontend sends the browser for consent
	target         string            // the chosen folder's ID
	notes          map[string]string // document ID → what happened to it, for the printed tree
	before         map[string]int64  // the Drive counters when Marie disconnects
	reconnectCalls map[string]int64  // the Drive calls of the reconnection, by method
}

func (s *story) say(format string, args ...any) { fmt.Fprintf(s.out, format+"\n", args...) }

func (s *story) play(ctx context.Context, beforeCheck func(context.Context, *devstack.Stack) error) (Result, error) {
	docs, err := s.stack.EFactori.Documents(s.company.ID)
	if err != nil {
		return Result{}, err
	}
	s.say("%q has %d documents in eFactori. Marie Dupont manages its integrations.\n", s.company.Name, len(docs))
	token, err := s.stack.EFactori.MintToken(efactori.Claims{
		Subject: "user-marie", Email: "marie@" + s.company.ID + ".example", CompanyID: s.company.ID,
		CompanyName: s.company.Name, Roles: []string{efactori.RoleIntegrationsManage}, TTL: time.Hour,
	})
	if err != nil {
		return Result{}, fmt.Errorf("mint an eFactori token: %w", err)
	}
	s.api = newAPIClient(s.stack.ConnectionsURL, token)

	steps := []func(context.Context) error{s.enable, s.addDrive, s.consent, s.pickFolder, s.initialCopy, s.changeDocument, s.addDocument}
	if err := s.run(ctx, steps); err != nil {
		return Result{}, err
	}
	if res, err := s.checkDrive(ctx, "8. %s's Drive (✓: same bytes as in eFactori, by md5):"); err != nil {
		return res, err
	}
	s.say("")
	if err := s.run(ctx, []func(context.Context) error{s.disconnect, s.reconnect, s.reconcile}); err != nil {
		return Result{}, err
	}
	if beforeCheck != nil {
		if err := beforeCheck(ctx, s.stack); err != nil {
			return Result{}, fmt.Errorf("before the check: %w", err)
		}
	}
	res, err := s.checkDrive(ctx, "12. %s's Drive after the reconnection, checked again:")
	if err != nil {
		return res, err
	}
	if n := uploads(res.Reconnect); n > 0 {
		return res, fmt.Errorf("%w: %d uploads (%s)", ErrReuploaded, n, topCounters(res.Reconnect, 8))
	}
	s.say("")
	res.StatusEvents, err = s.statusEvents(ctx)
	return res, err
}

// run plays steps in order, with a blank line after each.
func (s *story) run(ctx context.Context, steps []func(context.Context) error) error {
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
		s.say("")
	}
	return nil
}

// 1.
func (s *story) enable(ctx context.Context) error {
	s.say("1. Marie switches on « Synchronisation et sauvegarde avec Google Drive ».")
	var in struct {
		Enabled bool `json:"enabled"`
	}
	in.Enabled = true
	var got struct {
		Enabled         bool `json:"enabled"`
		ConnectionCount int  `json:"connectionCount"`
	}
	if err := s.api.call(ctx, "PUT", "/v1/integration", in, &got, 200); err != nil {
		return fmt.Errorf("enable the integration: %w", err)
	}
	if !got.Enabled {
		return errors.New("enable the integration: the API still says disabled")
	}
	s.say("   PUT /v1/integration → 200: enabled, %d connections so far.", got.ConnectionCount)
	return nil
}

// 2.
func (s *story) addDrive(ctx context.Context) error {
	s.say("2. She adds a Google Drive named %q, documents sorted by year, then by kind.", ConnectionName)
	return s.createConnection(ctx)
}

// createConnection adds the connection ConnectionName with Layout, as the settings page does.
func (s *story) createConnection(ctx context.Context) error {
	in := map[string]string{"name": ConnectionName, "folderLayout": string(Layout)}
	var got struct {
		Connection       connection `json:"connection"`
		AuthorizationURL string     `json:"authorizationUrl"`
	}
	if err := s.api.call(ctx, "POST", "/v1/connections", in, &got, 201); err != nil {
		return fmt.Errorf("add a drive: %w", err)
	}
	s.conn = got.Connection
	s.say("   POST /v1/connections → 201: connection %s, %s.", s.conn.ID, s.conn.Status)
	s.say("   The frontend sends her browser to the authorization link, which goes on to Google: %s…", truncate(got.AuthorizationURL, 70))
	s.authURL = got.AuthorizationURL
	return nil
}

// 3.
func (s *story) consent(ctx context.Context) error {
	s.say("3. On Google's consent screen she picks %s and clicks Allow.", devstack.GoogleAccount)
	return s.allow(ctx)
}

// allow opens the authorization link (drivesync's start link, which gives the browser its
// cookie and sends it on to Google), consents on the Google emulator's screen with
// devstack.GoogleAccount and follows the redirect to drivesync's callback, which must send the
// browser back with result=ok.
func (s *story) allow(ctx context.Context) error {
	status, google, err := s.api.follow(ctx, s.authURL)
	if err != nil {
		return fmt.Errorf("authorization link: %w", err)
	}
	if status != 303 || !strings.HasPrefix(google, s.stack.GoogleURL) {
		return fmt.Errorf("authorization link answered %d to %q, want 303 to Google's consent page at %s", status, google, s.stack.GoogleURL)
	}
	next, err := s.stack.Google.OAuth.Consent(ctx, google, devstack.GoogleAccount, true)
	if err != nil {
		return fmt.Errorf("consent: %w", err)
	}
	status, loc, err := s.api.follow(ctx, next.String())
	if err != nil {
		return fmt.Errorf("oauth callback: %w", err)
	}
	back, err := url.Parse(loc)
	if status != 303 || err != nil || !strings.HasPrefix(loc, s.stack.FrontendURL) || back.Query().Get("result") != "ok" ||
		back.Query().Get("connection") != s.conn.ID {
		return fmt.Errorf("oauth callback answered %d to %q, want 303 to %s?connection=%s&result=ok", status, loc, s.stack.FrontendURL, s.conn.ID)
	}
	s.say("   Google sends her back to drivesync's callback → 303 to the settings page with result=ok.")
	if err := s.refresh(ctx); err != nil {
		return err
	}
	if s.conn.Status != "awaiting_folder" {
		return fmt.Errorf("after consent the connection is %s, want awaiting_folder", s.conn.Status)
	}
	s.say("   The connection is now %s, for %s.", s.conn.Status, deref(s.conn.GoogleAccountEmail))
	return nil
}

// 4.
func (s *story) pickFolder(ctx context.Context) error {
	s.say("4. She browses her Drive for a folder.")
	base := "/v1/connections/" + url.PathEscape(s.conn.ID)
	var list folderListing
	if err := s.api.call(ctx, "GET", base+"/folders?parent=root", nil, &list, 200); err != nil {
		return fmt.Errorf("browse folders: %w", err)
	}
	names := make([]string, 0, len(list.Folders))
	for _, f := range list.Folders {
		names = append(names, fmt.Sprintf("%q", f.Name))
	}
	if len(names) == 0 {
		names = []string{"no folders yet"}
	}
	s.say("   GET %s/folders?parent=root → %s: %s.", base, cmp.Or(list.Folder.Name, "My Drive"), strings.Join(names, ", "))
	var f folder
	if err := s.api.call(ctx, "POST", base+"/folders", map[string]string{"parentId": "root", "name": TargetFolder}, &f, 201); err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	s.target = f.ID
	s.say("   She creates %q (POST %s/folders → 201, folder %s)", f.Name, base, f.ID)
	if err := s.api.call(ctx, "PUT", base+"/target", map[string]string{"folderId": f.ID}, &s.conn, 200); err != nil {
		return fmt.Errorf("select the folder: %w", err)
	}
	path := ""
	if s.conn.Target != nil {
		path = strings.Join(s.conn.Target.Path, " / ")
	}
	s.say("   and selects it (PUT %s/target → 200): %s, target %s, initial copy %s.", base, s.conn.Status, path, s.conn.InitialCopy.State)
	return nil
}

// 5.
func (s *story) initialCopy(ctx context.Context) error {
	s.say("5. drivesync copies every document into %s / %s, writing to Drive at most %d times a",
		TargetFolder, s.company.Name, devstack.DriveWritesPerSecond)
	s.say("   second as in production (the demo waits up to %v for it):", s.copyTimeout)
	start := time.Now()
	ic, err := s.watchRun(ctx, "copied")
	if err != nil {
		return err
	}
	s.say("   Done: %d documents copied in %.1f s.", ic.Synced, time.Since(start).Seconds())
	return nil
}

// watchRun polls the connection, as the settings page does, until its run (initial copy or
// reconcile) is done, printing its progress; done is the verb of the progress line.
func (s *story) watchRun(ctx context.Context, done string) (initialCopy, error) {
	start := time.Now()
	deadline := start.Add(s.copyTimeout)
	width, shown, shownState := 0, -1, ""
	line := func(text string) {
		if !s.live {
			fmt.Fprintf(s.out, "   %s\n", text)
			return
		}
		pad := max(0, width-len([]rune(text)))
		fmt.Fprintf(s.out, "\r   %s%s", text, strings.Repeat(" ", pad))
		width = len([]rune(text))
	}
	endLine := func() {
		if s.live {
			fmt.Fprintln(s.out)
		}
	}
	for {
		if err := s.refresh(ctx); err != nil {
			endLine()
			return initialCopy{}, err
		}
		ic := s.conn.InitialCopy
		// Without a terminal, a line per tenth of the documents (and the last one) is enough.
		step := max(1, ic.Listed/10)
		if s.live || ic.State != shownState || ic.Synced/step != shown/step {
			line(fmt.Sprintf("%-7s %d of %d %s, %d listed, %d failed  (%.1f s)", ic.State, ic.Synced, max(ic.Listed, ic.Synced),
				done, ic.Listed, ic.Failed, time.Since(start).Seconds()))
			shown, shownState = ic.Synced, ic.State
		}
		switch {
		case ic.State == "done":
			endLine()
			if ic.Failed > 0 {
				return ic, fmt.Errorf("run done with %d failed documents (last error: %s)", ic.Failed, describeError(s.conn.LastError))
			}
			return ic, nil
		case s.conn.Status != "active":
			endLine()
			return ic, fmt.Errorf("run %s: the connection became %s (%s)", ic.State, s.conn.Status, describeError(s.conn.LastError))
		case time.Now().After(deadline):
			endLine()
			return ic, fmt.Errorf("run not done after %v: %s, %d of %d %s, %d failed (last error: %s)",
				s.copyTimeout, ic.State, ic.Synced, ic.Listed, done, ic.Failed, describeError(s.conn.LastError))
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			endLine()
			return ic, err
		}
	}
}

// 6.
func (s *story) changeDocument(ctx context.Context) error {
	docs, err := s.stack.EFactori.Documents(s.company.ID)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		s.say("6. The company has no document to change; skipped.")
		return nil
	}
	old := docs[0]
	before, err := s.driveFile(old.ID)
	if err != nil {
		return err
	}
	if before == nil {
		return fmt.Errorf("document %s is not in Drive after the initial copy", old.ID)
	}
	title := old.Title + " (corrigée)"
	ev, err := s.stack.EFactori.Upsert(s.company.ID, old.ID, efactori.Upsert{Title: title, AmountCents: 1_480_00})
	if err != nil {
		return fmt.Errorf("change document %s: %w", old.ID, err)
	}
	doc := ev.Document
	s.say("6. In eFactori, someone corrects %q (%s): revision %d → %d,", layout.FileName(old), old.ID, old.Revision, doc.Revision)
	s.say("   title %q,", truncate(title, 80))
	s.say("   new amount, new PDF (%s, sha256 %s…).", humanSize(doc.Size), doc.SHA256[:12])
	start := time.Now()
	if err := s.publish(ctx, ev); err != nil {
		return err
	}
	s.say("   eFactori publishes %s to %s.", ev.EventType, efactori.Topic)
	var after *driveemu.Node
	err = s.waitFor(ctx, "the changed document in Drive", func() (bool, error) {
		f, err := s.driveFile(doc.ID)
		if err != nil || f == nil {
			return false, err
		}
		after = f
		return f.ID == before.ID && f.Version > before.Version &&
			f.AppProperties[devstack.ClientID][layout.PropRevision] == fmt.Sprint(doc.Revision), nil
	})
	if err != nil {
		return err
	}
	s.say("   Drive updated the same file %s in place: version %d → %d, revision %d, after %.1f s.",
		after.ID, before.Version, after.Version, doc.Revision, time.Since(start).Seconds())
	s.notes[layout.DocumentIDValue(doc.ID)] = fmt.Sprintf("changed (revision %d)", doc.Revision)
	return nil
}

// 7.
func (s *story) addDocument(ctx context.Context) error {
	docs, err := s.stack.EFactori.Documents(s.company.ID)
	if err != nil {
		return err
	}
	id := ""
	for n := len(docs) + 1; ; n++ {
		id = fmt.Sprintf("%s-%06d", s.company.ID, n)
		if _, _, err := s.stack.EFactori.Document(id); errors.Is(err, efactori.ErrUnknownDocument) {
			break
		}
	}
	today := time.Now().UTC()
	number := fmt.Sprintf("F-%d-%05d", today.Year(), len(docs)+1)
	ev, err := s.stack.EFactori.Upsert(s.company.ID, id, efactori.Upsert{
		Kind: drivesync.KindSalesInvoice, Number: number, Date: today.Format(time.DateOnly),
		Title: "Rénovation salle de bain — Famille Janssens, Namur", FileName: "Facture " + number + ".pdf",
		AmountCents: 7_450_00, Size: 24 << 10,
	})
	if err != nil {
		return fmt.Errorf("add document %s: %w", id, err)
	}
	doc := ev.Document
	s.say("7. A new invoice is issued in eFactori: %q (%s, %s, %s).", layout.FileName(doc), id, doc.Date, humanSize(doc.Size))
	start := time.Now()
	if err := s.publish(ctx, ev); err != nil {
		return err
	}
	s.say("   eFactori publishes %s to %s.", ev.EventType, efactori.Topic)
	var f *driveemu.Node
	err = s.waitFor(ctx, "the new document in Drive", func() (bool, error) {
		var err error
		f, err = s.driveFile(doc.ID)
		return f != nil, err
	})
	if err != nil {
		return err
	}
	s.say("   It appears in Drive as %s after %.1f s.", strings.Join(append(layout.Folders(doc, Layout, s.locale()), f.Name), " / "),
		time.Since(start).Seconds())
	s.notes[layout.DocumentIDValue(doc.ID)] = "new"
	return nil
}

// 9.
func (s *story) disconnect(ctx context.Context) error {
	s.say("9. Marie disconnects the Drive %q.", ConnectionName)
	s.before = s.stack.Google.Drive.Counters(devstack.GoogleAccount)
	base := "/v1/connections/" + url.PathEscape(s.conn.ID)
	if err := s.api.call(ctx, "DELETE", base, nil, nil, 204); err != nil {
		return fmt.Errorf("disconnect: %w", err)
	}
	var integ struct {
		ConnectionCount int `json:"connectionCount"`
	}
	if err := s.api.call(ctx, "GET", "/v1/integration", nil, &integ, 200); err != nil {
		return fmt.Errorf("read the integration: %w", err)
	}
	s.say("   DELETE %s → 204: Google's grant is revoked, %d connections left;", base, integ.ConnectionCount)
	s.say("   what was copied stays in %s.", TargetFolder)
	return nil
}

// 10.
func (s *story) reconnect(ctx context.Context) error {
	s.say("10. Later she connects the same Drive again, the same way, onto the same folder.")
	old := s.conn.ID
	if err := s.createConnection(ctx); err != nil {
		return err
	}
	if s.conn.ID == old {
		return fmt.Errorf("the new connection has the deleted one's ID %s", old)
	}
	s.say("   On Google's consent screen she picks %s again and clicks Allow.", devstack.GoogleAccount)
	if err := s.allow(ctx); err != nil {
		return err
	}
	base := "/v1/connections/" + url.PathEscape(s.conn.ID)
	var found *folder
	var names []string
	for token := ""; found == nil; {
		path := base + "/folders?parent=root"
		if token != "" {
			path += "&pageToken=" + url.QueryEscape(token)
		}
		var list folderListing
		if err := s.api.call(ctx, "GET", path, nil, &list, 200); err != nil {
			return fmt.Errorf("browse folders: %w", err)
		}
		for i, f := range list.Folders {
			names = append(names, fmt.Sprintf("%q", f.Name))
			if f.Name == TargetFolder && found == nil {
				found = &list.Folders[i]
			}
		}
		if list.NextPageToken == nil || *list.NextPageToken == "" {
			break
		}
		token = *list.NextPageToken
	}
	s.say("   GET %s/folders?parent=root → My Drive: %s.", base, strings.Join(names, ", "))
	if found == nil {
		return fmt.Errorf("browse folders: no %q in My Drive", TargetFolder)
	}
	if found.ID != s.target {
		return fmt.Errorf("browse folders: %q is folder %s, want the folder %s chosen before", TargetFolder, found.ID, s.target)
	}
	if err := s.api.call(ctx, "PUT", base+"/target", map[string]string{"folderId": found.ID}, &s.conn, 200); err != nil {
		return fmt.Errorf("select the folder: %w", err)
	}
	path := ""
	if s.conn.Target != nil {
		path = strings.Join(s.conn.Target.Path, " / ")
	}
	s.say("   She selects %q, the folder of before (PUT %s/target → 200): %s, target %s, run %s.",
		found.Name, base, s.conn.Status, path, s.conn.InitialCopy.State)
	return nil
}

// 11.
func (s *story) reconcile(ctx context.Context) error {
	s.say("11. drivesync compares eFactori with what %s / %s already holds:", TargetFolder, s.company.Name)
	start := time.Now()
	ic, err := s.watchRun(ctx, "in Drive")
	if err != nil {
		return err
	}
	s.reconnectCalls = since(s.before, s.stack.Google.Drive.Counters(devstack.GoogleAccount))
	var calls int64
	for _, n := range s.reconnectCalls {
		calls += n
	}
	up := uploads(s.reconnectCalls)
	if up == 0 {
		s.say("   Done in %.1f s: all %d documents were already there; the new connection adopted their files.",
			time.Since(start).Seconds(), ic.Synced)
	} else {
		s.say("   Done in %.1f s: %d documents in Drive, but files were uploaded again.", time.Since(start).Seconds(), ic.Synced)
	}
	s.say("   Drive calls since she disconnected: %d (%s);", calls, cmp.Or(topCounters(s.reconnectCalls, 6), "none"))
	s.say("   %d file uploads, %d writes.", up, writes(s.reconnectCalls))
	return nil
}

// since returns the counters that grew from before to after, by how much.
func since(before, after map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, n := range after {
		if d := n - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// uploads counts the requests that started a file upload ("upload:<uploadType>"; the chunks of
// a resumable upload are not uploads of their own).
func uploads(counters map[string]int64) int64 {
	var n int64
	for k, v := range counters {
		if strings.HasPrefix(k, "upload:") && k != "upload:chunk" {
			n += v
		}
	}
	return n
}

// writes counts the calls that change Drive.
func writes(counters map[string]int64) int64 {
	return counters["files.create"] + counters["files.update"] + counters["files.delete"]
}

// checkDrive prints the Drive tree under a title (%s is the Google account) and checks it
// against eFactori; it fails with ErrMismatch when they differ.
func (s *story) checkDrive(ctx context.Context, title string) (Result, error) {
	docs, err := s.stack.EFactori.Documents(s.company.ID)
	if err != nil {
		return Result{}, err
	}
	sums, err := contentMD5s(ctx, s.stack.EFactori, docs)
	if err != nil {
		return Result{}, err
	}
	tree, err := s.stack.Google.Drive.Tree(devstack.GoogleAccount)
	if err != nil {
		return Result{}, err
	}
	problems, verdicts := check(tree, expectation{docs: docs, md5: sums, layout: Layout, locale: s.locale(),
		companyName: s.company.Name, targetID: s.target})
	counters := s.stack.Google.Drive.Counters(devstack.GoogleAccount)
	res := Result{Documents: len(docs), Problems: problems, Elapsed: time.Since(s.began), Reconnect: s.reconnectCalls}
	for _, n := range counters {
		res.DriveCalls += n
	}

	s.say(title, devstack.GoogleAccount)
	s.say("   My Drive/")
	printTree(s.out, tree, s.target, verdicts, s.notes)
	s.say("")
	s.say("Summary: %d documents in eFactori, %d in Drive where they belong, %d problems.", len(docs), len(docs)-min(len(docs), countDocProblems(problems)), len(problems))
	s.say("         %d Drive API calls (%s); %.1f s from start to check.", res.DriveCalls, topCounters(counters, 5), res.Elapsed.Seconds())
	if len(problems) > 0 {
		s.say("")
		s.say("The Drive does NOT match eFactori:")
		for i, p := range problems {
			if i == 20 {
				s.say("   … and %d more", len(problems)-i)
				break
			}
			s.say("   ✗ %s", p)
		}
		return res, fmt.Errorf("%w: %d problems", ErrMismatch, len(problems))
	}
	s.say("The Drive matches eFactori exactly.")
	return res, nil
}

func countDocProblems(problems []string) int {
	n := 0
	for _, p := range problems {
		if strings.HasPrefix(p, "document ") {
			n++
		}
	}
	return n
}

func topCounters(c map[string]int64, n int) string {
	keys := slices.Collect(maps.Keys(c))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(c[b], c[a]), cmp.Compare(a, b)) })
	var parts []string
	for i, k := range keys {
		if i == n {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

// refresh reads the connection again, as the settings page polls it.
func (s *story) refresh(ctx context.Context) error {
	if err := s.api.call(ctx, "GET", "/v1/connections/"+url.PathEscape(s.conn.ID), nil, &s.conn, 200); err != nil {
		return fmt.Errorf("read the connection: %w", err)
	}
	return nil
}

func (s *story) locale() drivesync.Locale {
	return drivesync.Locale(cmp.Or(s.conn.Locale, string(drivesync.LocaleFR)))
}

// driveFile returns the file of a document below the target folder, nil when there is none.
func (s *story) driveFile(documentID string) (*driveemu.Node, error) {
	tree, err := s.stack.Google.Drive.Tree(devstack.GoogleAccount)
	if err != nil {
		return nil, err
	}
	t := findNode(&tree.Root, s.target)
	if t == nil {
		return nil, fmt.Errorf("the target folder %s is gone from Drive", s.target)
	}
	want := layout.DocumentIDValue(documentID)
	var found *driveemu.Node
	var walk func(n *driveemu.Node)
	walk = func(n *driveemu.Node) {
		for i := range n.Children {
			c := &n.Children[i]
			if c.Folder {
				walk(c)
			} else if !c.Trashed && docID(*c) == want && found == nil {
				found = c
			}
		}
	}
	walk(t)
	return found, nil
}

// publish publishes a document event to eFactori's topic, as eFactori does.
func (s *story) publish(ctx context.Context, ev drivesync.Event) error {
	c, err := pubsub.NewClient(ctx, devstack.ProjectID)
	if err != nil {
		return fmt.Errorf("pubsub client: %w", err)
	}
	defer c.Close()
	p, err := efactori.NewPublisher(c, efactori.Topic)
	if err != nil {
		return err
	}
	defer p.Stop()
	_, err = p.Publish(ctx, ev)
	return err
}

// waitFor polls done until it reports true, for at most the sync timeout.
func (s *story) waitFor(ctx context.Context, what string, done func() (bool, error)) error {
	deadline := time.Now().Add(s.syncTimeout)
	for {
		ok, err := done()
		if err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			if rerr := s.refresh(ctx); rerr == nil && s.conn.LastError != nil {
				return fmt.Errorf("%s: not there after %v (connection %s, last error: %s)", what, s.syncTimeout, s.conn.Status, describeError(s.conn.LastError))
			}
			return fmt.Errorf("%s: not there after %v", what, s.syncTimeout)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func describeError(e *lastError) string {
	if e == nil {
		return "none"
	}
	return e.Code + ": " + e.Message
}

func deref(s *string) string {
	if s == nil {
		return "no account"
	}
	return *s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
