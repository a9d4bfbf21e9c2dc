package emulators

import "testing"

// FunctionBinary returns the path of the function binary StartFunction runs for pkg, built once
// per test binary, for a test that starts and supervises its own instances (the fleet bench).
// The caller sets FUNCTION_TARGET, PORT and GOOGLE_CLOUD_PROJECT; the emulators are started and
// exported to the environment, which the children inherit.
func FunctionBinary(tb testing.TB, pkg string) string {
	tb.Helper()
	ensure(tb)
	bin, err := buildFunction(pkg)
	if err != nil {
		tb.Fatalf("emulators: %v", err)
	}
	return bin
}
