package testclock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/efactori/drivesync/local/testclock"
)

func TestClockStandsStillUntilAdvanced(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	c := testclock.New(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v, want %v", got, start)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Advance(time.Minute) }()
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(10*time.Minute); !got.Equal(want) {
		t.Errorf("after 10 concurrent Advance(1m), Now() = %v, want %v", got, want)
	}
}
