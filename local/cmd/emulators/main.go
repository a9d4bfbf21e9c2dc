// Command emulators starts Google's Firestore and Pub/Sub emulators on free loopback ports for
// scripts and the dev stack. Once both answer it prints
//
//	FIRESTORE_EMULATOR_HOST=127.0.0.1:<port>
//	PUBSUB_EMULATOR_HOST=127.0.0.1:<port>
//
// on standard output (and, with -env-file, writes the same lines to that file, which appears
// complete or not at all, and is removed on exit). It runs until SIGINT or SIGTERM, then stops
// both emulators, leaving no process behind.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/efactori/drivesync/local/emulators"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, logger); err != nil {
		logger.Error("emulators", "err", err)
		os.Exit(1)
	}
}

// run starts the emulators, announces their addresses on stdout, and stops them when ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	flags := flag.NewFlagSet("emulators", flag.ContinueOnError)
	flags.SetOutput(stderr)
	envFile := flags.String("env-file", "", "also write the KEY=value lines to this `file`")
	verbose := flags.Bool("v", false, "copy the emulators' logs to standard error")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}

	opts := emulators.Options{}
	if *verbose {
		opts.Output = stderr
	}
	e, err := emulators.Start(ctx, opts)
	if err != nil {
		return err
	}
	lines := strings.Join(e.Env(), "\n") + "\n"
	if err := announce(stdout, *envFile, lines); err != nil {
		return errors.Join(err, e.Stop())
	}
	logger.Info("emulators running", "firestore", e.FirestoreHost, "pubsub", e.PubSubHost)

	<-ctx.Done()
	err = e.Stop()
	if *envFile != "" {
		if rerr := os.Remove(*envFile); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("remove env file: %w", rerr))
		}
	}
	if err == nil {
		logger.Info("emulators stopped")
	}
	return err
}

// announce prints lines and writes them to envFile, through a rename so that a script polling
// for the file never reads it half written.
func announce(stdout io.Writer, envFile, lines string) error {
	if envFile != "" {
		tmp, err := os.CreateTemp(filepath.Dir(envFile), ".emulators-env-*")
		if err != nil {
			return fmt.Errorf("write env file: %w", err)
		}
		_, werr := tmp.WriteString(lines)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write env file: %w", err)
		}
		if err := os.Rename(tmp.Name(), envFile); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write env file: %w", err)
		}
	}
	if _, err := io.WriteString(stdout, lines); err != nil {
		return fmt.Errorf("print addresses: %w", err)
	}
	return nil
}
