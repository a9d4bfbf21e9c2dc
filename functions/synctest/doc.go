// Package synctest tests drivesync's copy path end to end, through the real push path: the
// Pub/Sub emulator pushes each message to the SyncDocument and InitialCopy functions, each run
// by the real functions framework in its own process (emulators.ServeFunction), which copy
// documents from the eFactori stand-in into the Google Drive emulator, keeping their state in
// the Firestore emulator. Connections are set up through the real connection service (consent,
// callback, target folder), whose target choice publishes the copy request that starts it all.
//
// The package holds only tests and benchmarks; BENCHMARKS.md at the module root quotes the
// benchmarks with the commands that produced each figure.
package synctest
