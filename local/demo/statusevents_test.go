package demo_test

import (
	"strings"
	"testing"

	"github.com/efactori/drivesync/local/demo"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/statusevent"
)

// checkStatusEvents checks what the story tells of the status events eFactori received: both
// connections' way to active, the deletion, both runs' ends, each event once.
func checkStatusEvents(t *testing.T, res demo.Result, out string) {
	t.Helper()
	if !strings.Contains(out, "The last status events eFactori received") {
		t.Errorf("the narration does not end with the status events:\n%s", out)
	}
	count := map[string]int{}
	for _, r := range res.StatusEvents {
		e := r.Event
		switch {
		case e.Type == statusevent.TypeRunEnded && e.Run.Outcome == statusevent.OutcomeSucceeded:
			count["run "+string(e.Run.Kind)]++
		case e.Type == statusevent.TypeStatusChanged:
			count[string(e.Status)]++
		}
	}
	want := map[string]int{
		string(drivesync.StatusAwaitingFolder): 2, string(drivesync.StatusActive): 2, string(statusevent.StatusDeleted): 1,
		"run " + string(drivesync.RunFirstCopy): 2,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("status events: %d %s, want %d (all: %v)", count[k], k, n, count)
		}
	}
}
