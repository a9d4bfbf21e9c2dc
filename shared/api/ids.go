package api

import "github.com/efactori/drivesync/shared/drivesync"

// validID reports whether id could be a connection, folder or drive ID: drivesync's ID rule
// (1 to 128 characters of URL-safe base64; Drive's file IDs are 33 characters and shared drive
// IDs 19). Checking this before any lookup keeps garbage (slashes, dots, quotes that would reach
// a Drive query) out of the service and out of Firestore paths.
func validID(id string) bool { return drivesync.ValidID(id) }

// maxPageTokenLength bounds a folder listing's pageToken, which is Drive's and opaque to us.
const maxPageTokenLength = 4096

// validPageToken accepts the printable ASCII Drive's page tokens are made of.
func validPageToken(t string) bool {
	if len(t) > maxPageTokenLength {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return false
		}
	}
	return true
}
