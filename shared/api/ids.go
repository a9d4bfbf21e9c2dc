package api

// maxIDLength bounds every ID a path or query carries. Drive's file IDs are 33 characters and
// shared drive IDs 19; drivesync's own are shorter. The margin costs nothing.
const maxIDLength = 128

// validID reports whether id could be a connection, folder or drive ID: 1 to maxIDLength
// characters of URL-safe base64. Checking this before any lookup keeps garbage (slashes, dots,
// quotes that would reach a Drive query) out of the service and out of Firestore paths.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

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
