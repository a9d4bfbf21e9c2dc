// Command functions serves drivesync's Cloud Functions locally the way the Go buildpack does in
// production: it links the root package (whose init registers every entry point) and starts the
// functions framework. FUNCTION_TARGET picks the function, PORT the port; one process per function.
package main

import (
	"log/slog"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "github.com/efactori/drivesync"
	"github.com/efactori/drivesync/shared/logging"
)

func main() {
	if err := run(); err != nil {
		logging.New(os.Stderr, logging.Options{Level: slog.LevelInfo}).Error("functions server stopped", "err", err)
		os.Exit(1)
	}
}

func run() error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1" // a local stand-in: never listen beyond this machine unless asked
	}
	return funcframework.StartHostPort(host, port)
}
