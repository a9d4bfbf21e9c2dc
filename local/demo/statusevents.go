package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/efactori/drivesync/local/efactori"
	"github.com/efactori/drivesync/shared/statusevent"
)

// ErrNoStatusEvent reports that eFactori never received the status event of the last run's end.
var ErrNoStatusEvent = errors.New("eFactori did not receive the end of the last run")

// statusEventsShown is how many of the last status events the story prints.
const statusEventsShown = 10

// statusEventWait bounds the wait for the last run's end event: Pub/Sub pushes it to eFactori
// within a second or two, a few more when it retries.
const statusEventWait = 30 * time.Second

// statusEvents prints the last status events eFactori received (docs/status-events.md), once
// the end of the current connection's last run is among them.
func (s *story) statusEvents(ctx context.Context) ([]efactori.ReceivedStatusEvent, error) {
	var got []efactori.ReceivedStatusEvent
	err := s.waitForWithin(ctx, statusEventWait, func() bool {
		got = s.stack.EFactori.StatusEvents(s.company.ID, 0)
		for _, r := range got {
			if r.Event.ConnectionID == s.conn.ID && r.Event.Type == statusevent.TypeRunEnded {
				return true
			}
		}
		return false
	})
	if err != nil {
		return got, fmt.Errorf("%w (%d status events received)", ErrNoStatusEvent, len(got))
	}
	s.say("13. The last status events eFactori received (drivesync-status-events, newest first):")
	for i, r := range got {
		if i == statusEventsShown {
			s.say("   … and %d earlier", len(got)-i)
			break
		}
		s.say("   %s", describeStatusEvent(r))
	}
	return got, nil
}

// describeStatusEvent is one line about r.
func describeStatusEvent(r efactori.ReceivedStatusEvent) string {
	e := r.Event
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-26s %q ", e.OccurredAt.Format("15:04:05.000"), e.Type, e.ConnectionName)
	switch e.Type {
	case statusevent.TypeRunEnded:
		fmt.Fprintf(&b, "%s run %s: %d listed, %d synced, %d failed", e.Run.Kind, e.Run.Outcome, e.Run.Listed, e.Run.Synced, e.Run.Failed)
	default:
		fmt.Fprintf(&b, "%s → %s", e.PreviousStatus, e.Status)
	}
	if e.ReasonCode != "" {
		fmt.Fprintf(&b, " (%s)", e.ReasonCode)
	}
	fmt.Fprintf(&b, "  [%s", e.EventID)
	if r.Deliveries > 1 {
		fmt.Fprintf(&b, ", delivered %d times", r.Deliveries)
	}
	b.WriteString("]")
	return b.String()
}

// waitForWithin polls done until it holds, for at most d.
func (s *story) waitForWithin(ctx context.Context, d time.Duration, done func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for !done() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}
