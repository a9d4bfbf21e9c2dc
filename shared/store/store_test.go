package store_test

import (
	"github.com/efactori/drivesync/local/testclock"

	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/google/go-cmp/cmp"

	"github.com/efactori/drivesync/local/emulators"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

func TestMain(m *testing.M) { emulators.Main(m) }

func newClock() *testclock.Clock { return testclock.New(time.Now().UTC().Truncate(time.Millisecond)) }

func newStore(t *testing.T) (*store.Store, *firestore.Client, *testclock.Clock) {
	t.Helper()
	fs := emulators.Firestore(t)
	c := newClock()
	s, err := store.New(fs, c.Now)
	if err != nil {
		t.Fatalf("store.New: %v", err)
	}
	return s, fs, c
}

func record(company, id, name string, created time.Time) store.ConnectionRecord {
	return store.ConnectionRecord{Connection: drivesync.Connection{
		ID: id, CompanyID: company, Name: name, FolderLayout: drivesync.LayoutYear, Locale: drivesync.LocaleFR,
		OnDelete: drivesync.OnDeleteKeep, Status: drivesync.StatusAwaitingAuthorization,
		CreatedAt: created, UpdatedAt: created,
	}}
}

func mustCreate(t *testing.T, s *store.Store, rec store.ConnectionRecord) {
	t.Helper()
	if err := s.CreateConnection(t.Context(), "ACME SRL", rec, 1000); err != nil {
		t.Fatalf("CreateConnection(%s): %v", rec.ID, err)
	}
}

func TestNewRejectsNilClient(t *testing.T) {
	t.Parallel()
	if _, err := store.New(nil, nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestConnectionRoundTrip(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	want := record("acme", "c1", "Comptabilité", c.Now())
	want.Status = drivesync.StatusActive
	want.PreviousStatus = drivesync.StatusError
	want.GoogleAccountEmail = "alice@example.com"
	want.GoogleSubject = "sub-1"
	want.RefreshToken = []byte{1, 2, 3}
	want.TokenExpiry = c.Now().Add(time.Hour)
	want.Target = drivesync.Target{FolderID: "f1", DriveID: "d1", Path: []string{"Drive", "Compta"}, CompanyFolderID: "cf"}
	want.InitialCopy = drivesync.InitialCopy{State: drivesync.CopyRunning, RunID: "r1", Kind: drivesync.RunResync, Listed: 3, Synced: 2, Failed: 1,
		StartedAt: c.Now(), FinishedAt: c.Now().Add(time.Minute)}
	want.LastSyncAt = c.Now().Add(2 * time.Minute)
	want.LastError = &drivesync.LastError{Code: "x", Message: "y", At: c.Now()}
	want.StatusSeq, want.PendingEvents = 4, []string{`{"eventId":"e"}`}
	mustCreate(t, s, want)

	got, err := s.Connection(ctx, "acme", "c1")
	if err != nil {
		t.Fatalf("Connection: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Connection (-want +got):\n%s", diff)
	}
	byID, err := s.ConnectionByID(ctx, "c1")
	if err != nil {
		t.Fatalf("ConnectionByID: %v", err)
	}
	if diff := cmp.Diff(want, byID); diff != "" {
		t.Errorf("ConnectionByID (-want +got):\n%s", diff)
	}
	if name, err := s.CompanyName(ctx, "acme"); err != nil || name != "ACME SRL" {
		t.Errorf("CompanyName = %q, %v; want ACME SRL", name, err)
	}
}

func TestConnectionsScopedPerCompany(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	mustCreate(t, s, record("acme", "a2", "Second", c.Now().Add(time.Second)))
	mustCreate(t, s, record("acme", "a1", "First", c.Now()))
	mustCreate(t, s, record("globex", "g1", "First", c.Now()))

	list, err := s.Connections(ctx, "acme")
	if err != nil {
		t.Fatalf("Connections: %v", err)
	}
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]string{"a1", "a2"}, ids); diff != "" {
		t.Errorf("Connections(acme) ids, oldest first (-want +got):\n%s", diff)
	}
	in, err := s.Integration(ctx, "acme")
	if err != nil {
		t.Fatalf("Integration: %v", err)
	}
	if got, want := in.ConnectionCount, 2; got != want {
		t.Errorf("ConnectionCount = %d, want %d", got, want)
	}

	noop := func(*store.ConnectionRecord) error { return nil }
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"get", func() error { _, err := s.Connection(ctx, "globex", "a1"); return err }},
		{"update", func() error { _, err := s.UpdateConnection(ctx, "globex", "a1", noop); return err }},
		{"delete", func() error { return s.DeleteConnection(ctx, "globex", "a1") }},
		{"unknown id", func() error { _, err := s.Connection(ctx, "acme", "nope"); return err }},
		{"path in id", func() error { _, err := s.Connection(ctx, "acme", "../globex/connections/g1"); return err }},
		{"empty id", func() error { _, err := s.Connection(ctx, "acme", ""); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, drivesync.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
	if _, err := s.Connection(ctx, "acme", "a1"); err != nil {
		t.Errorf("a1 changed by another company's calls: %v", err)
	}
}

func TestUpdateConnection(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	mustCreate(t, s, record("acme", "a1", "First", c.Now()))
	mustCreate(t, s, record("acme", "a2", "Second", c.Now()))
	mustCreate(t, s, record("globex", "g1", "Third", c.Now()))
	c.Advance(time.Minute)

	rename := func(name string) func(*store.ConnectionRecord) error {
		return func(r *store.ConnectionRecord) error { r.Name = name; return nil }
	}
	tests := []struct {
		name, to string
		wantErr  error
	}{
		{"taken, other case", " SECOND ", drivesync.ErrConflict},
		{"own name, other case", "FIRST", nil},
		{"name of another company's connection", "Third", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.UpdateConnection(ctx, "acme", "a1", rename(tc.to))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && got.Name != tc.to {
				t.Errorf("Name = %q, want %q", got.Name, tc.to)
			}
		})
	}
	got, err := s.Connection(ctx, "acme", "a1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := got.UpdatedAt, c.Now(); !got.Equal(want) {
		t.Errorf("UpdatedAt = %v, want %v", got, want)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateConnection(ctx, "acme", "a1", func(r *store.ConnectionRecord) error { r.Name = "x"; return boom }); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the change's error", err)
	}
	if _, err := s.UpdateConnection(ctx, "acme", "a1", func(r *store.ConnectionRecord) error { r.ID, r.CompanyID = "other", "globex"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Connection(ctx, "acme", "a1"); err != nil {
		t.Errorf("changing ID and company in the change moved the connection: %v", err)
	}
}

func TestCreateConnectionNameUniqueUnderConcurrency(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := "Comptabilité"
			if i%2 == 1 {
				name = " COMPTABILITÉ "
			}
			errs[i] = s.CreateConnection(t.Context(), "ACME", record("acme", fmt.Sprintf("c%d", i), name, c.Now()), 1000)
		})
	}
	wg.Wait()
	ok, conflicts := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, drivesync.ErrConflict):
			conflicts++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || conflicts != n-1 {
		t.Errorf("%d created, %d conflicts; want 1 and %d", ok, conflicts, n-1)
	}
	list, err := s.Connections(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 1; got != want {
		t.Errorf("%d connections stored, want %d", got, want)
	}
}

func TestDeleteConnectionRemovesSubcollections(t *testing.T) {
	t.Parallel()
	s, fs, c := newStore(t)
	ctx := t.Context()
	mustCreate(t, s, record("acme", "a1", "First", c.Now()))
	mustCreate(t, s, record("acme", "a2", "Second", c.Now()))
	conn := func(id string) *firestore.DocumentRef {
		return fs.Collection("companies").Doc("acme").Collection("connections").Doc(id)
	}
	for _, id := range []string{"a1", "a2"} {
		for i := range 3 {
			for _, col := range []string{store.ColMappings, store.ColFolders} {
				if _, err := conn(id).Collection(col).Doc(fmt.Sprint(i)).Set(ctx, map[string]any{"n": i}); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A document that exists only as the parent of another.
		if _, err := conn(id).Collection(store.ColFolders).Doc("ghost").Collection("deeper").Doc("x").Set(ctx, map[string]any{"n": 1}); err != nil {
			t.Fatal(err)
		}
	}

	if err := s.DeleteConnection(ctx, "acme", "a1"); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	if _, err := s.Connection(ctx, "acme", "a1"); !errors.Is(err, drivesync.ErrNotFound) {
		t.Errorf("Connection after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteConnection(ctx, "acme", "a1"); !errors.Is(err, drivesync.ErrNotFound) {
		t.Errorf("second DeleteConnection: err = %v, want ErrNotFound", err)
	}
	count := func(ref *firestore.DocumentRef) int {
		n := 0
		for _, col := range []*firestore.CollectionRef{ref.Collection(store.ColMappings), ref.Collection(store.ColFolders),
			ref.Collection(store.ColFolders).Doc("ghost").Collection("deeper")} {
			refs, err := col.DocumentRefs(ctx).GetAll()
			if err != nil {
				t.Fatal(err)
			}
			n += len(refs)
		}
		return n
	}
	if got := count(conn("a1")); got != 0 {
		t.Errorf("%d documents left under the deleted connection", got)
	}
	if got, want := count(conn("a2")), 8; got != want {
		t.Errorf("%d documents under the other connection, want %d", got, want)
	}
}

func TestOAuthState(t *testing.T) {
	t.Parallel()
	s, fs, _ := newStore(t)
	ctx := t.Context()
	// save saves a state and binds it to browser (unless "").
	save := func(t *testing.T, state, browser string) store.OAuthState {
		t.Helper()
		st, err := s.SaveOAuthState(ctx, state, store.OAuthState{CompanyID: "acme", ConnectionID: "c1", Verifier: []byte("ct")})
		if err != nil {
			t.Fatalf("SaveOAuthState: %v", err)
		}
		if browser == "" {
			return st
		}
		bound, err := s.BindOAuthState(ctx, state, browser)
		if err != nil {
			t.Fatalf("BindOAuthState: %v", err)
		}
		st.Started = true
		if diff := cmp.Diff(st, bound); diff != "" {
			t.Errorf("bound state (-want +got):\n%s", diff)
		}
		return bound
	}

	t.Run("single use", func(t *testing.T) {
		saved := save(t, "state-once", "browser-1")
		if got, want := saved.ExpireAt.Sub(saved.CreatedAt), store.OAuthStateTTL; got != want {
			t.Errorf("lifetime = %v, want %v", got, want)
		}
		got, err := s.ConsumeOAuthState(ctx, "state-once", "browser-1")
		if err != nil {
			t.Fatalf("ConsumeOAuthState: %v", err)
		}
		if diff := cmp.Diff(saved, got); diff != "" {
			t.Errorf("consumed state (-want +got):\n%s", diff)
		}
		if _, err := s.ConsumeOAuthState(ctx, "state-once", "browser-1"); !errors.Is(err, drivesync.ErrInvalidState) {
			t.Errorf("replay: err = %v, want ErrInvalidState", err)
		}
	})
	t.Run("bound once", func(t *testing.T) {
		save(t, "state-bound", "browser-1")
		if _, err := s.BindOAuthState(ctx, "state-bound", "browser-2"); !errors.Is(err, drivesync.ErrInvalidState) {
			t.Errorf("second bind: err = %v, want ErrInvalidState", err)
		}
		if _, err := s.BindOAuthState(ctx, "state-bound", "browser-1"); !errors.Is(err, drivesync.ErrInvalidState) {
			t.Errorf("second bind, same browser: err = %v, want ErrInvalidState", err)
		}
		if _, err := s.ConsumeOAuthState(ctx, "state-bound", "browser-1"); err != nil {
			t.Errorf("consume by the first browser: %v", err)
		}
	})
	t.Run("other browser", func(t *testing.T) {
		save(t, "state-other", "browser-1")
		for _, browser := range []string{"browser-2", "", "browser-1x"} {
			if _, err := s.ConsumeOAuthState(ctx, "state-other", browser); !errors.Is(err, drivesync.ErrWrongBrowser) {
				t.Errorf("consume by %q: err = %v, want ErrWrongBrowser", browser, err)
			}
		}
		if _, err := s.ConsumeOAuthState(ctx, "state-other", "browser-1"); err != nil {
			t.Errorf("consume by the browser that opened the link, after the others: %v", err)
		}
	})
	t.Run("never opened", func(t *testing.T) {
		save(t, "state-unopened", "")
		for _, browser := range []string{"", "browser-1"} {
			if _, err := s.ConsumeOAuthState(ctx, "state-unopened", browser); !errors.Is(err, drivesync.ErrWrongBrowser) {
				t.Errorf("consume by %q of a state no browser opened: err = %v, want ErrWrongBrowser", browser, err)
			}
		}
	})
	t.Run("concurrent consumes", func(t *testing.T) {
		save(t, "state-race", "browser-1")
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { _, errs[i] = s.ConsumeOAuthState(ctx, "state-race", "browser-1") })
		}
		wg.Wait()
		ok, invalid := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, drivesync.ErrInvalidState):
				invalid++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || invalid != 1 {
			t.Errorf("%d consumed, %d refused; want 1 and 1", ok, invalid)
		}
	})
	t.Run("concurrent binds", func(t *testing.T) {
		save(t, "state-bind-race", "")
		errs := make([]error, 3)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { _, errs[i] = s.BindOAuthState(ctx, "state-bind-race", fmt.Sprint("browser-", i)) })
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner < 0:
				winner = i
			case errors.Is(err, drivesync.ErrInvalidState):
			default:
				t.Errorf("bind %d: err = %v", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no bind succeeded")
		}
		for i := range errs { // the losers first: the winner's consume spends the state
			if i == winner {
				continue
			}
			if _, err := s.ConsumeOAuthState(ctx, "state-bind-race", fmt.Sprint("browser-", i)); !errors.Is(err, drivesync.ErrWrongBrowser) {
				t.Errorf("consume by browser %d (winner %d): err = %v, want ErrWrongBrowser", i, winner, err)
			}
		}
		if _, err := s.ConsumeOAuthState(ctx, "state-bind-race", fmt.Sprint("browser-", winner)); err != nil {
			t.Errorf("consume by the winner, browser %d: %v", winner, err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		for _, state := range []string{"never-saved", ""} {
			if _, err := s.ConsumeOAuthState(ctx, state, "browser-1"); !errors.Is(err, drivesync.ErrInvalidState) {
				t.Errorf("ConsumeOAuthState(%q): err = %v, want ErrInvalidState", state, err)
			}
			if _, err := s.BindOAuthState(ctx, state, "browser-1"); !errors.Is(err, drivesync.ErrInvalidState) {
				t.Errorf("BindOAuthState(%q): err = %v, want ErrInvalidState", state, err)
			}
		}
	})
	t.Run("raw secrets never stored", func(t *testing.T) {
		save(t, "state-raw-secret", "browser-raw-secret")
		snap, err := fs.Collection("oauthStates").Doc(store.StateID("state-raw-secret")).Get(ctx)
		if err != nil {
			t.Fatalf("state document not under its hash: %v", err)
		}
		if s := fmt.Sprint(snap.Data()); strings.Contains(s, "state-raw-secret") || strings.Contains(s, "browser-raw-secret") {
			t.Errorf("state document holds the raw state or browser secret: %s", s)
		}
	})
}

// TestOAuthStateExpiry has a store of its own because it moves the clock.
func TestOAuthStateExpiry(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name    string
		age     time.Duration
		wantErr error
	}{
		{"at the limit", store.OAuthStateTTL, nil},
		{"past the limit", store.OAuthStateTTL + time.Second, drivesync.ErrInvalidState},
	} {
		state := "state-" + tc.name
		if _, err := s.SaveOAuthState(ctx, state, store.OAuthState{CompanyID: "acme", ConnectionID: "c1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BindOAuthState(ctx, state, "browser"); err != nil {
			t.Fatal(err)
		}
		c.Advance(tc.age)
		if _, err := s.ConsumeOAuthState(ctx, state, "browser"); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
		}
		if _, err := s.ConsumeOAuthState(ctx, state, "browser"); !errors.Is(err, drivesync.ErrInvalidState) {
			t.Errorf("%s: second consume: err = %v, want ErrInvalidState (consumed either way)", tc.name, err)
		}
	}
	// A link opened at the end of its start window, and one opened after it.
	for _, tc := range []struct {
		age     time.Duration
		wantErr error
	}{
		{store.OAuthStartWindow, nil},
		{store.OAuthStartWindow + time.Second, drivesync.ErrInvalidState},
	} {
		state := fmt.Sprint("state-opened-after-", tc.age)
		if _, err := s.SaveOAuthState(ctx, state, store.OAuthState{CompanyID: "acme", ConnectionID: "c1"}); err != nil {
			t.Fatal(err)
		}
		c.Advance(tc.age)
		if _, err := s.BindOAuthState(ctx, state, "browser"); !errors.Is(err, tc.wantErr) {
			t.Errorf("bind after %v: err = %v, want %v", tc.age, err, tc.wantErr)
		}
		if tc.wantErr != nil {
			if _, err := s.ConsumeOAuthState(ctx, state, "browser"); !errors.Is(err, drivesync.ErrInvalidState) {
				t.Errorf("consume after a late bind: err = %v, want ErrInvalidState (deleted)", err)
			}
		}
	}
}

func TestGrantHolders(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	withGrant := func(company, id, subject string, token []byte) store.ConnectionRecord {
		r := record(company, id, id, c.Now())
		r.GoogleSubject, r.RefreshToken = subject, token
		return r
	}
	mustCreate(t, s, withGrant("acme", "a1", "alice", []byte("ct")))
	mustCreate(t, s, withGrant("globex", "g1", "alice", []byte("ct")))
	mustCreate(t, s, withGrant("globex", "g2", "alice", nil)) // consent lost: holds no grant
	mustCreate(t, s, withGrant("globex", "g3", "bob", []byte("ct")))

	got, err := s.GrantHolders(ctx, "alice", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ConnectionKey{{CompanyID: "acme", ID: "a1"}, {CompanyID: "globex", ID: "g1"}}
	if diff := cmp.Diff(want, got, cmpSortKeys); diff != "" {
		t.Errorf("GrantHolders (-want +got):\n%s", diff)
	}
	if got, err := s.GrantHolders(ctx, "", 10); err != nil || len(got) != 0 {
		t.Errorf("GrantHolders(\"\") = %v, %v; want none", got, err)
	}
}

func TestIntegrationSwitch(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	if err := s.SetIntegration(ctx, "acme", true); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, record("acme", "a1", "First", c.Now())) // records the name; must keep the switch
	got, err := s.Integration(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.Integration{Enabled: true, ConnectionCount: 1, UpdatedAt: c.Now()}, got); diff != "" {
		t.Errorf("Integration (-want +got):\n%s", diff)
	}
}

func TestIndexesDeclared(t *testing.T) {
	t.Parallel()
	for _, ix := range store.Indexes {
		if ix.QueryScope != "COLLECTION" && ix.QueryScope != "COLLECTION_GROUP" {
			t.Errorf("index on %s: query scope %q", ix.CollectionGroup, ix.QueryScope)
		}
		for _, f := range ix.Fields {
			if f.Order != "ASCENDING" && f.Order != "DESCENDING" {
				t.Errorf("index on %s.%s: order %q", ix.CollectionGroup, f.Path, f.Order)
			}
		}
	}
	if got, want := len(store.TTLPolicies), 1; got != want {
		t.Errorf("%d TTL policies, want %d", got, want)
	}
}

var cmpSortKeys = cmp.Transformer("sort", func(in []store.ConnectionKey) []string {
	out := make([]string, 0, len(in))
	for _, k := range in {
		out = append(out, k.CompanyID+"/"+k.ID)
	}
	slices.Sort(out)
	return out
})

func TestLease(t *testing.T) {
	t.Parallel()
	s, _, c := newStore(t)
	ctx := t.Context()
	const ttl = 30 * time.Second
	steps := []struct {
		name   string
		do     func() (bool, error)
		wantOK bool
	}{
		{"a takes it", func() (bool, error) { return s.AcquireLease(ctx, "acme", "f", "a", ttl) }, true},
		{"b waits", func() (bool, error) { return s.AcquireLease(ctx, "acme", "f", "b", ttl) }, false},
		{"another lease is free", func() (bool, error) { return s.AcquireLease(ctx, "acme", "g", "b", ttl) }, true},
		{"another company's is free", func() (bool, error) { return s.AcquireLease(ctx, "globex", "f", "b", ttl) }, true},
		{"a extends it", func() (bool, error) { return s.AcquireLease(ctx, "acme", "f", "a", ttl) }, true},
		{"b cannot release it", func() (bool, error) { return true, s.ReleaseLease(ctx, "acme", "f", "b") }, true},
		{"b still waits", func() (bool, error) { return s.AcquireLease(ctx, "acme", "f", "b", ttl) }, false},
		{"expired, b takes it", func() (bool, error) { c.Advance(ttl + time.Second); return s.AcquireLease(ctx, "acme", "f", "b", ttl) }, true},
		{"b releases it", func() (bool, error) { return true, s.ReleaseLease(ctx, "acme", "f", "b") }, true},
		{"a takes it again", func() (bool, error) { return s.AcquireLease(ctx, "acme", "f", "a", ttl) }, true},
	}
	for _, st := range steps {
		ok, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if ok != st.wantOK {
			t.Errorf("%s: got %v, want %v", st.name, ok, st.wantOK)
		}
	}
	in, err := s.Integration(ctx, "acme")
	if err != nil || in.Enabled {
		t.Errorf("Integration after leases = %+v, %v; want disabled and readable", in, err)
	}
}
