// Package entrypoints registers every drivesync Cloud Function. The Go buildpack builds the
// package at the module root, so this is where the functions framework finds them; each
// deployment of this one source picks its function with the entry point name.
package entrypoints

import (
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/efactori/drivesync/functions/connections"
	"github.com/efactori/drivesync/functions/initialcopy"
	"github.com/efactori/drivesync/functions/oauthcallback"
	"github.com/efactori/drivesync/functions/syncdocument"
	"github.com/efactori/drivesync/shared/config"
)

func init() {
	functions.HTTP(config.FunctionConnections, connections.Handle)
	functions.HTTP(config.FunctionOAuthCallback, oauthcallback.Handle)
	functions.CloudEvent(config.FunctionSyncDocument, syncdocument.Handle)
	functions.CloudEvent(config.FunctionInitialCopy, initialcopy.Handle)
}
