package oauthemu

import (
	"slices"
	"strings"
)

// Scope URLs Google reports in place of the short OpenID names email and profile.
const (
	scopeOpenID  = "openid"
	scopeEmail   = "https://www.googleapis.com/auth/userinfo.email"
	scopeProfile = "https://www.googleapis.com/auth/userinfo.profile"
	googleScopes = "https://www.googleapis.com/auth/"
)

// scopeWords are the sentences Google's consent page shows for the scopes drivesync and its
// tests ask for. Other Google API scopes are shown by name.
var scopeWords = map[string]string{
	scopeOpenID:                              "Associate you with your personal info on Google",
	scopeEmail:                               "See your primary Google Account email address",
	scopeProfile:                             "See your personal info, including any personal info you've made publicly available",
	googleScopes + "drive":                   "See, edit, create, and delete all of your Google Drive files",
	googleScopes + "drive.file":              "See, edit, create, and delete only the specific Google Drive files you use with this app",
	googleScopes + "drive.readonly":          "See and download all your Google Drive files",
	googleScopes + "drive.metadata.readonly": "See information about your Google Drive files",
	googleScopes + "drive.appdata":           "See, create, and delete its own configuration data in your Google Drive",
}

// normalizeScopes parses a space-separated scope parameter the way Google reports it back:
// email and profile become their URL forms, duplicates go, order is sorted. It returns the
// scopes Google would reject as invalid_scope.
func normalizeScopes(param string) (scopes, invalid []string) {
	for _, sc := range strings.Fields(param) {
		switch {
		case sc == "email":
			sc = scopeEmail
		case sc == "profile":
			sc = scopeProfile
		case sc == scopeOpenID:
		case strings.HasPrefix(sc, googleScopes) && len(sc) > len(googleScopes):
		default:
			invalid = append(invalid, sc)
			continue
		}
		scopes = append(scopes, sc)
	}
	slices.Sort(scopes)
	return slices.Compact(scopes), invalid
}

func describeScope(sc string) string {
	if w, ok := scopeWords[sc]; ok {
		return w
	}
	return "Use " + strings.TrimPrefix(sc, googleScopes) + " on your behalf"
}
