package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/pacing"
	"github.com/efactori/drivesync/shared/store"
)

// Pacing says how the engine keeps Drive writes under Drive's limit, which is per Google account.
type Pacing string

const (
	// PacingAccount shares one write budget per Google account across every instance,
	// connection and company that writes to it: slots leased in batches from a Firestore
	// document per account (store.LeaseWriteSlots). The default.
	PacingAccount Pacing = "account"
	// PacingInstance is a token bucket per connection in each instance, as before accounts were
	// paced: K instances and N connections of one account write K × N times the rate. Kept so a
	// benchmark can show the difference.
	PacingInstance Pacing = "instance"
)

// Pacing of an account, by the budget leased from Firestore.
const (
	// DefaultBudgetWait is how long a copy task waits in place for its account's next write slot
	// by default (DRIVE_BUDGET_WAIT). A delivery answered busy instead comes back no sooner than
	// the subscription's minimum backoff (10 s in terraform/delivery.json) and usually later, as
	// the backoff doubles: waiting a few seconds in place keeps the account writing and costs
	// one concurrency slot for at most this long, where a bounce costs a redelivery and the
	// account's budget left unused meanwhile. Copy tasks lease at most this far ahead.
	DefaultBudgetWait = 5 * time.Second
	// MaxBudgetWait bounds DRIVE_BUDGET_WAIT: a wait near the minimum redelivery backoff holds
	// a request as long as a bounce would have delayed it.
	MaxBudgetWait = 10 * time.Second
	// LiveLead is how much further ahead than copy tasks a live event (or a person's click in
	// the connection API, see package pacing) may lease: however many copy tasks wait, the
	// budget between the copy horizon and LiveLead beyond it is left to them, so they are
	// never queued behind more than the copy horizon of a bulk copy.
	LiveLead = 2500 * time.Millisecond
	// minBusyRetry is the smallest retry-after of a busy answer.
	minBusyRetry = time.Second
	// leaseSpan and minLease size the largest lease, a batch of max(minLease, L × leaseSpan)
	// slots, and leaseSpan the smallest lease (demand): a lease costs one Firestore RPC (two
	// for an idle account, see store.LeaseWriteSlots), so an instance writing alone to an
	// account leases batches, about 0.2 RPC per written document. The slots an instance leased
	// and has not handed out yet push the account's horizon ahead for every other instance, so
	// the span is short next to a copy task's wait.
	leaseSpan = 500 * time.Millisecond
	minLease  = 5
)

// CodeWriteBudget is the code of a delivery answered busy: its Google account's write budget is
// taken for longer than a delivery should wait.
const CodeWriteBudget = pacing.CodeWriteBudget

// paceClass is which share of an account's budget a write may take.
type paceClass int

const (
	paceLive       paceClass = iota // a document event: may lease up to budgetWait + LiveLead ahead
	paceCopy                        // a copy task of a run: may lease up to budgetWait ahead
	paceBackground                  // a reconcile's own writes: as paceCopy, but waits as long as it takes
)

type paceClassKey struct{}

// withPaceClass marks ctx's Drive writes as of class c.
func withPaceClass(ctx context.Context, c paceClass) context.Context {
	return context.WithValue(ctx, paceClassKey{}, c)
}

func paceClassOf(ctx context.Context) paceClass {
	c, _ := ctx.Value(paceClassKey{}).(paceClass)
	return c
}

// accountBudget is what one instance holds of one Google account's write budget.
type accountBudget struct {
	// mu is held across a lease, so one instance leases once at a time per account and its
	// other deliveries take the slots it brings back.
	mu sync.Mutex
	// queued counts the deliveries waiting for mu, and handed the times this instance handed
	// out slots in the last demandWindow: what the next lease may expect to use (demand).
	queued atomic.Int32
	handed []time.Time
	// slots are the leased times not handed out yet, ascending (leases follow one another, so
	// appending keeps them so). A slot whose time has passed by
	// more than an interval is lost: handing it out late would bunch writes above the limit.
	slots []time.Time
	// horizon is the account's horizon as last seen: budget is taken up to it.
	horizon time.Time
	// sharedAt is when this instance last found another one had leased the account's budget
	// since its own lease before.
	sharedAt time.Time
}

func (e *Engine) budget(account string) *accountBudget {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.budgets[account]
	if !ok {
		if len(e.budgets) >= maxCachedCompanies {
			e.budgets = map[string]*accountBudget{} // only costs a lease per account
		}
		b = &accountBudget{}
		e.budgets[account] = b
	}
	return b
}

// interval is the time between two writes to one account.
func (e *Engine) interval() time.Duration {
	return time.Duration(float64(time.Second) / e.wps)
}

// leaseSize is how many slots one lease takes.
func (e *Engine) leaseSize() int {
	return max(minLease, int(math.Ceil(e.wps*leaseSpan.Seconds())))
}

// ahead is how far ahead of now a write of class c may take its account's budget, and so the
// longest it waits in place for its slot.
func (e *Engine) ahead(c paceClass) time.Duration {
	if c == paceLive {
		return e.budgetWait + LiveLead
	}
	return e.budgetWait // a reconcile's own writes yield to live events too
}

// busy is the answer of a delivery that would wait longer than its class may for its account.
func busy(account string, retryAfter time.Duration) error {
	return &drivesync.ClassifiedError{Class: drivesync.Retryable, Code: CodeWriteBudget, RetryAfter: max(retryAfter, minBusyRetry),
		Err: fmt.Errorf("drive write budget of google account %.12s… taken for the next %v", account, retryAfter.Round(time.Millisecond))}
}

// dropLost forgets the slots of b whose time has passed: b.mu must be held.
func (e *Engine) dropLost(b *accountBudget, now time.Time) {
	cut := now.Add(-e.interval())
	i := 0
	for i < len(b.slots) && b.slots[i].Before(cut) {
		i++
	}
	b.slots = b.slots[i:]
}

// reserve takes one write slot of account for class c: one this instance leased already, or a
// new lease. It answers busy when the slot would be further away than class c may wait.
func (e *Engine) reserve(ctx context.Context, account string, c paceClass) (time.Time, error) {
	b := e.budget(account)
	b.queued.Add(1)
	b.mu.Lock()
	b.queued.Add(-1)
	defer b.mu.Unlock()
	now := time.Now()
	e.dropLost(b, now)
	ahead := e.ahead(c)
	if len(b.slots) > 0 {
		if at := b.slots[0]; !at.After(now.Add(ahead)) {
			b.slots = b.slots[1:]
			b.handed = append(b.handed, now)
			return at, nil
		}
		return time.Time{}, busy(account, b.slots[0].Sub(now)-ahead)
	}
	// The horizon only moves forward, so one seen beyond the bound still is: no need to ask.
	if b.horizon.After(now.Add(ahead)) {
		return time.Time{}, busy(account, b.horizon.Sub(now)-ahead)
	}
	ws, err := e.store.LeaseWriteSlots(ctx, account, e.demand(b, now), e.interval(), now, now.Add(ahead))
	if err != nil {
		return time.Time{}, drivesync.Classify(err, drivesync.Retryable, "firestore")
	}
	if ws.N > 0 && !ws.First.Equal(b.horizon) && ws.First.After(now.Add(e.interval())) {
		// The slots do not follow this instance's last lease, nor the present: another
		// instance leased in between.
		b.sharedAt = now
	}
	b.horizon = ws.Horizon
	if ws.N == 0 {
		return time.Time{}, busy(account, ws.Horizon.Sub(now)-ahead)
	}
	e.leases.Add(1)
	if ws.First.After(now.Add(ahead)) {
		// Leased by increment, past what this delivery may wait (other instances took the
		// budget up to there meanwhile): the slots stay with this instance for its next
		// deliveries, and this one goes back.
		for i := range ws.N {
			b.slots = append(b.slots, ws.First.Add(time.Duration(i)*e.interval()))
		}
		return time.Time{}, busy(account, ws.First.Sub(now)-ahead)
	}
	for i := 1; i < ws.N; i++ {
		b.slots = append(b.slots, ws.First.Add(time.Duration(i)*e.interval()))
	}
	b.handed = append(b.handed, now)
	return ws.First, nil
}

// sharedFor is how long after it last found another instance leasing an account an instance
// leases only what its deliveries wait for: an account's tasks spread over instances keep
// coming from several of them, and a lease that happens to follow its own last one says little.
const sharedFor = 30 * time.Second

// demandWindow is how far back an instance looks at the slots it handed out to guess its share
// of an account.
const demandWindow = 2 * time.Second

// demand is how many slots of b the next lease takes: about what this instance will use before
// they pass, up to leaseSize. Slots an instance leased and did not use in time are lost to every
// instance, and when several instances write to one account, a batch taken for one delivery
// pushes the account's horizon past slots nobody writes in while the other instances'
// deliveries wait behind them: with five instances at L = 2, batches of five kept accounts near
// half their rate. The deliveries waiting here (the one asking and those queued behind it) need
// one slot each; beyond them the instance takes, of the slots the lease spans, the share of the
// account's budget it wrote in the last demandWindow: (1 + queued) / (1 - share) slots, and at
// least half a second of budget (one slot at L = 2, a batch at L = 1000, where the slots are
// dense and losing some costs nobody a wait). An instance alone on an account (share near 1)
// thus leases whole batches, under half a Firestore RPC per write at L = 3; one of five sharing
// an account leases one to three. But an instance that found another one leasing the same
// account in the last sharedFor leases only what waits: the account's tasks are spread over
// several instances, and every slot it holds ahead is one the others' deliveries wait behind,
// each holding a request (twenty accounts at L = 2, one run each: 0.80 L with the share, 0.98
// without). b.mu must be held.
func (e *Engine) demand(b *accountBudget, now time.Time) int {
	cut := now.Add(-demandWindow)
	i := 0
	for i < len(b.handed) && b.handed[i].Before(cut) {
		i++
	}
	b.handed = b.handed[i:]
	size := e.leaseSize()
	likely := int(1 + b.queued.Load())
	if now.Sub(b.sharedAt) >= sharedFor {
		share := float64(len(b.handed)) / (e.wps * demandWindow.Seconds())
		likely = int(math.Ceil(float64(likely) / max(1-share, 1/float64(size))))
	}
	return min(size, max(likely, int(math.Ceil(e.wps*leaseSpan.Seconds()))))
}

// giveBack returns an unused slot of account to this instance's budget, unless it has passed.
func (e *Engine) giveBack(account string, at time.Time) {
	b := e.budget(account)
	b.mu.Lock()
	defer b.mu.Unlock()
	e.dropLost(b, time.Now())
	if at.Before(time.Now().Add(-e.interval())) {
		return
	}
	i, _ := slices.BinarySearchFunc(b.slots, at, func(s, t time.Time) int { return s.Compare(t) })
	b.slots = slices.Insert(b.slots, i, at)
}

// hot reports, without any RPC, whether connectionID's account is known to have no budget for a
// copy task now: its tasks are then answered busy before anything is read. An account this
// instance has not seen yet is not hot.
func (e *Engine) hot(connectionID string) error {
	if e.pacing != PacingAccount {
		return nil
	}
	a, ok := e.connAccounts.Load(connectionID)
	if !ok {
		return nil
	}
	account := a.(string)
	b := e.budget(account)
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	e.dropLost(b, now)
	if len(b.slots) > 0 && !b.slots[0].After(now.Add(e.budgetWait)) {
		return nil
	}
	if b.horizon.After(now.Add(e.budgetWait)) {
		return busy(account, b.horizon.Sub(now)-e.budgetWait)
	}
	return nil
}

// ticket is a write slot a delivery took before locking its document, spent by its first write.
type ticket struct {
	account string
	mu      sync.Mutex
	at      time.Time
	spent   bool
}

type ticketKey struct{}

// admit takes a write slot of rec's account for a delivery about to work on a document, before
// it locks the document: a delivery that would wait too long is answered busy having written
// nothing, and one whose slot is near waits for it (in pace, at its first write). The returned context carries the slot to the delivery's first Drive write; done gives
// it back if no write spent it.
func (e *Engine) admit(ctx context.Context, rec store.ConnectionRecord, c paceClass) (_ context.Context, done func(), err error) {
	ctx = withPaceClass(ctx, c)
	if e.pacing != PacingAccount {
		return ctx, func() {}, nil
	}
	account := store.AccountOf(rec)
	e.connAccounts.Store(rec.ID, account)
	at, err := e.reserve(ctx, account, c)
	if err != nil {
		return ctx, nil, err
	}
	t := &ticket{account: account, at: at}
	return context.WithValue(ctx, ticketKey{}, t), func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.spent {
			t.spent = true
			e.giveBack(account, t.at)
		}
	}, nil
}

// pace waits for the turn of one Drive write of rec. Drive limits writes per Google account;
// staying under the limit is cheaper than being told so and backing off.
func (e *Engine) pace(ctx context.Context, rec store.ConnectionRecord) error {
	if e.pacing == PacingInstance {
		return e.paceInstance(ctx, rec.ID)
	}
	account := store.AccountOf(rec)
	e.connAccounts.Store(rec.ID, account)
	var at time.Time
	if t, ok := ctx.Value(ticketKey{}).(*ticket); ok && t.account == account {
		t.mu.Lock()
		if !t.spent {
			t.spent, at = true, t.at
		}
		t.mu.Unlock()
	}
	if !at.IsZero() && at.Before(time.Now().Add(-e.interval())) {
		// The slot passed while the delivery did other work (its lock, a folder another
		// delivery was making): writing now would go between the account's next slots, above
		// its limit, so the slot is lost and a new one taken.
		at = time.Time{}
	}
	for at.IsZero() {
		var err error
		at, err = e.reserve(ctx, account, paceClassOf(ctx))
		var ce *drivesync.ClassifiedError
		if err == nil || paceClassOf(ctx) != paceBackground || !errors.As(err, &ce) || ce.Code != CodeWriteBudget {
			if err != nil {
				return err
			}
			break
		}
		// A reconcile's own writes are few and have no delivery to give back: they wait.
		if err := pacing.Sleep(ctx, ce.RetryAfter); err != nil {
			return drivesync.Classify(fmt.Errorf("pace drive writes of connection %s: %w", rec.ID, err), drivesync.Retryable, "paced")
		}
	}
	if err := pacing.Sleep(ctx, time.Until(at)); err != nil {
		return drivesync.Classify(fmt.Errorf("pace drive writes of connection %s: %w", rec.ID, err), drivesync.Retryable, "paced")
	}
	return nil
}

// paceInstance is PacingInstance: a token bucket per connection in this instance.
func (e *Engine) paceInstance(ctx context.Context, connectionID string) error {
	e.mu.Lock()
	l, ok := e.limiters[connectionID]
	if !ok {
		l = rate.NewLimiter(rate.Limit(e.wps), max(1, int(math.Ceil(e.wps))))
		e.limiters[connectionID] = l
	}
	e.mu.Unlock()
	if err := l.Wait(ctx); err != nil {
		return drivesync.Classify(fmt.Errorf("pace drive writes of connection %s: %w", connectionID, err), drivesync.Retryable, "paced")
	}
	return nil
}

// idPool holds file IDs reserved for one connection. Drive reserves them for the Google account
// that asked, so they are kept per connection; asking for a block at a time makes the
// reservation nearly free per document. IDs lost with the instance cost nothing.
type idPool struct {
	mu  sync.Mutex
	ids []string
}

// reserveID returns a file ID reserved in connectionID's Drive.
func (e *Engine) reserveID(ctx context.Context, connectionID string, dc *drive.Client) (string, error) {
	e.mu.Lock()
	p, ok := e.pools[connectionID]
	if !ok {
		p = &idPool{}
		e.pools[connectionID] = p
	}
	e.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ids) == 0 {
		ids, err := dc.GenerateIDs(ctx, e.idBlock)
		if err != nil {
			return "", err
		}
		p.ids = ids
	}
	id := p.ids[0]
	p.ids = p.ids[1:]
	return id, nil
}

// giveBackID returns an unused reserved ID to connectionID's pool.
func (e *Engine) giveBackID(connectionID, id string) {
	e.mu.Lock()
	p, ok := e.pools[connectionID]
	e.mu.Unlock()
	if !ok {
		return // dropped meanwhile: the ID may belong to another account
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, id)
}

// dropIDs forgets connectionID's reserved IDs, which belong to a Google account the connection
// may no longer be using after a re-consent.
func (e *Engine) dropIDs(connectionID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.pools, connectionID)
}
