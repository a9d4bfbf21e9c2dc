package history_test

import (
	"testing"

	"github.com/efactori/drivesync/shared/history"
)

func TestNewRejectsMissingDependencies(t *testing.T) {
	t.Parallel()
	if _, err := history.New(nil, nil); err == nil {
		t.Fatal("history.New with no dependencies succeeded")
	}
}
