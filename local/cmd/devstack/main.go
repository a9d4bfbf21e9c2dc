// Command devstack runs drivesync locally on emulators (scripts/dev): it starts the stack, prints
// every URL and a sample token, and on Ctrl-C stops everything it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/efactori/drivesync/local/devstack"
	"github.com/efactori/drivesync/local/efactori"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return // -h and --help print the usage and succeed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := devstack.Options{}
	fs.StringVar(&opts.Dir, "dir", ".dev", "folder for built binaries and the Drive emulator's files")
	fs.IntVar(&opts.FrontendPort, "frontend-port", 8080, "port of the reference settings page")
	fs.IntVar(&opts.ConnectionsPort, "connections-port", 8081, "port of the Connections function")
	fs.IntVar(&opts.CallbackPort, "callback-port", 8082, "port of the OAuthCallback function")
	fs.IntVar(&opts.GooglePort, "google-port", 8083, "port of the Google OAuth + Drive emulator")
	fs.IntVar(&opts.EFactoriPort, "efactori-port", 8084, "port of the eFactori stand-in")
	fs.IntVar(&opts.SyncDocumentInstances, "sync-instances", 1, "SyncDocument instances pushd delivers to (production: terraform/delivery.json's max_instances)")
	seed := fs.String("companies", "default", "eFactori sample companies, e.g. default or default,big=20000")
	fs.StringVar(&opts.DriveScope, "drive-scope", "drive", "DRIVE_SCOPE of the functions: drive (folders browsed in the page) or drive.file (folders picked with the Google emulator's Picker)")
	verbose := fs.Bool("v", false, "show the logs of every part of the stack")
	if err := fs.Parse(args); err != nil {
		return err
	}
	companies, err := efactori.ParseCompanies(*seed)
	if err != nil {
		return err
	}
	opts.Companies = companies
	if *verbose {
		opts.Output = stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	stack, err := devstack.Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "(up in %.1f s)\n", time.Since(began).Seconds())
	if err := stack.Describe(stdout); err != nil {
		return joinStop(err, stack)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping…")
	return joinStop(nil, stack)
}

func joinStop(err error, stack *devstack.Stack) error {
	if serr := stack.Stop(); serr != nil {
		if err == nil {
			return serr
		}
		return fmt.Errorf("%w (and stopping: %v)", err, serr)
	}
	return err
}
