package emulators

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// installHint tells a developer how to get what the harness needs on Debian or Ubuntu.
const installHint = "install the emulators and Java with: apt-get install google-cloud-cli " +
	"google-cloud-cli-firestore-emulator google-cloud-cli-pubsub-emulator default-jre-headless"

// errMissing marks a missing tool; the message always carries installHint.
var errMissing = errors.New("emulator not installed")

// missing reports a tool that is not installed, with the way to install it.
func missing(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: %s not found (%v); %s", errMissing, what, err, installHint)
	}
	return fmt.Errorf("%w: %s not found; %s", errMissing, what, installHint)
}

// sdkRoot finds the gcloud SDK once: gcloud on PATH resolves to <root>/bin/gcloud on every
// packaging we know, and `gcloud info` covers the rest at the cost of a slow Python start.
var sdkRoot = sync.OnceValues(func() (string, error) {
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return "", missing("gcloud", err)
	}
	if real, err := filepath.EvalSymlinks(gcloud); err == nil {
		root := filepath.Dir(filepath.Dir(real))
		if isDir(filepath.Join(root, "platform")) {
			return root, nil
		}
	}
	out, err := exec.Command(gcloud, "info", "--format=value(installation.sdk_root)").Output()
	if err != nil {
		return "", missing("gcloud SDK root", err)
	}
	root := strings.TrimSpace(string(out))
	if !isDir(filepath.Join(root, "platform")) {
		return "", missing("gcloud SDK platform directory under "+root, nil)
	}
	return root, nil
})

// javaBinary finds java the way the SDK launchers do: $JAVA, then $JAVA_HOME, then PATH.
func javaBinary() (string, error) {
	if j := os.Getenv("JAVA"); j != "" {
		path, err := exec.LookPath(j)
		if err != nil {
			return "", missing("java ($JAVA)", err)
		}
		return path, nil
	}
	if home := os.Getenv("JAVA_HOME"); home != "" {
		j := filepath.Join(home, "bin", "java")
		if isFile(j) {
			return j, nil
		}
	}
	j, err := exec.LookPath("java")
	if err != nil {
		return "", missing("java", err)
	}
	return j, nil
}

// firestoreCommand returns the Firestore emulator command line. It runs the jar with java
// directly rather than through the SDK's cloud_firestore_emulator script: the script starts
// java as its child instead of exec'ing it, so the parent-death signal would reach only the
// shell and a crashed test binary would leak the JVM.
func firestoreCommand(host string, port int) ([]string, error) {
	root, err := sdkRoot()
	if err != nil {
		return nil, err
	}
	jar := filepath.Join(root, "platform", "cloud-firestore-emulator", "cloud-firestore-emulator.jar")
	if !isFile(jar) {
		return nil, missing("Firestore emulator ("+jar+")", nil)
	}
	java, err := javaBinary()
	if err != nil {
		return nil, err
	}
	return []string{
		java, "-Duser.language=en", "-cp", jar,
		"com.google.cloud.datastore.emulator.firestore.CloudFirestore",
		fmt.Sprintf("--host=%s", host), fmt.Sprintf("--port=%d", port),
	}, nil
}

// pubSubCommand returns the Pub/Sub emulator command line. Its launcher ends in exec, so the
// JVM keeps the process, process group and parent-death signal the harness gives it.
func pubSubCommand(host string, port int) ([]string, error) {
	root, err := sdkRoot()
	if err != nil {
		return nil, err
	}
	launcher := filepath.Join(root, "platform", "pubsub-emulator", "bin", "cloud-pubsub-emulator")
	if !isFile(launcher) {
		return nil, missing("Pub/Sub emulator ("+launcher+")", nil)
	}
	if _, err := javaBinary(); err != nil {
		return nil, err
	}
	return []string{launcher, fmt.Sprintf("--host=%s", host), fmt.Sprintf("--port=%d", port)}, nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
