package pickeremu_test

import (
	"context"
	"strings"
	"testing"

	"github.com/efactori/drivesync/local/googleemu/oauthemu"
	"github.com/efactori/drivesync/local/googleemu/pickeremu"
)

type noAuth struct{}

func (noAuth) Authenticate(context.Context, string) (oauthemu.Grant, error) {
	return oauthemu.Grant{}, oauthemu.ErrInvalidToken
}

// TestNewRejectsBadProjects: a project is known by its number (digits, as Google's), and a key
// or client belongs to one project only, or the Picker could not tell which app a pick is for.
func TestNewRejectsBadProjects(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		opts pickeremu.Options
		want string
	}{
		"nil dependencies": {pickeremu.Options{}, "nil authenticator"},
		"project ID instead of number": {pickeremu.Options{Auth: noAuth{}, Drive: fakeDrive{},
			Projects: []pickeremu.Project{{Number: "drivesync-dev"}}}, "not a project number"},
		"key in two projects": {pickeremu.Options{Auth: noAuth{}, Drive: fakeDrive{}, Projects: []pickeremu.Project{
			{Number: "1000001", APIKeys: []string{"k"}}, {Number: "1000002", APIKeys: []string{"k"}}}}, "duplicate API key"},
		"client in two projects": {pickeremu.Options{Auth: noAuth{}, Drive: fakeDrive{}, Projects: []pickeremu.Project{
			{Number: "1000001", ClientIDs: []string{"c"}}, {Number: "1000002", ClientIDs: []string{"c"}}}}, "duplicate client"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := pickeremu.New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// fakeDrive satisfies pickeremu.Drive for option checks; New never calls it.
type fakeDrive struct{ pickeremu.Drive }
