// Command demo plays a customer's story against the local stack (scripts/demo): it starts the
// stack, connects a Google Drive through the public API, watches the initial copy, changes and
// adds documents in eFactori, prints the resulting Drive and checks it against eFactori, then
// disconnects and connects the Drive again onto the same folder and checks it once more. It
// exits 0 only when the Drive matches, and stops everything it started, also on Ctrl-C.
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

	"github.com/efactori/drivesync/local/demo"
	"github.com/efactori/drivesync/local/devstack"
	"github.com/efactori/drivesync/local/efactori"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := demo.Options{Out: stdout, LiveProgress: isTerminal(stdout)}
	fs.IntVar(&opts.Stack.FrontendPort, "frontend-port", 0, "port of the reference settings page (0: a free one)")
	fs.IntVar(&opts.Stack.ConnectionsPort, "connections-port", 0, "port of the Connections function (0: a free one)")
	fs.IntVar(&opts.Stack.CallbackPort, "callback-port", 0, "port of the OAuthCallback function (0: a free one)")
	fs.IntVar(&opts.Stack.GooglePort, "google-port", 0, "port of the Google OAuth + Drive emulator (0: a free one)")
	fs.IntVar(&opts.Stack.EFactoriPort, "efactori-port", 0, "port of the eFactori stand-in (0: a free one)")
	documents := fs.Int("documents", efactori.Acme.Size(), fmt.Sprintf("number of documents of the sample company %q; from %d on they include its %d showcase documents (three large PDFs among them)",
		efactori.Acme.Name, efactori.ShowcaseDocuments, efactori.ShowcaseDocuments))
	keep := fs.Bool("keep", false, "leave the stack running after the story, until Ctrl-C")
	dir := fs.String("dir", "", "folder for built binaries and the Drive emulator's files (default: a new temporary folder, removed at the end)")
	fs.DurationVar(&opts.CopyTimeout, "copy-timeout", 0, fmt.Sprintf("how long the initial copy may take (default: 2m, or 1m plus 1.5 × documents ÷ %d writes per second when longer)",
		devstack.DriveWritesPerSecond))
	fs.DurationVar(&opts.SyncTimeout, "sync-timeout", time.Minute, "how long each later change may take to reach Drive")
	verbose := fs.Bool("v", false, "show the logs of every part of the stack on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opts.Company = efactori.Acme
	switch n := *documents; {
	case n < 0 || n > efactori.MaxCompanyDocuments:
		return fmt.Errorf("--documents %d: want 0 to %d", n, efactori.MaxCompanyDocuments)
	case n < efactori.ShowcaseDocuments:
		opts.Company.Showcase, opts.Company.Documents = false, n
	default:
		opts.Company.Documents = n - efactori.ShowcaseDocuments
	}
	if *verbose {
		opts.Stack.Output = stderr
	}
	opts.Stack.Dir = *dir
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "drivesync-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		opts.Stack.Dir = tmp
	}
	if *keep {
		opts.AfterStory = func(ctx context.Context, s *devstack.Stack) error {
			fmt.Fprintln(stdout)
			if err := s.Describe(stdout); err != nil {
				return err
			}
			<-ctx.Done()
			fmt.Fprintln(stdout, "stopping…")
			return nil
		}
	}
	_, err := demo.Run(ctx, opts)
	if err != nil && ctx.Err() != nil && !*keep {
		return errors.New("interrupted; everything it started is stopped")
	}
	return err
}

// isTerminal reports whether w is a terminal, where the progress line can be redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
