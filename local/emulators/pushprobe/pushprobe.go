// Package pushprobe registers PushProbe, a CloudEvent function for testing the Pub/Sub push
// path through the functions framework. It reports every event it receives to a test server
// and fails when that server says so, so a test running it with emulators.ServeFunction can
// see exactly what the framework delivered and make it retry.
package pushprobe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"
)

// Name is the name PushProbe is registered under: the FUNCTION_TARGET that serves it.
const Name = "PushProbe"

// ReportURLEnv names the environment variable holding the URL PushProbe posts events to.
const ReportURLEnv = "PUSHPROBE_REPORT_URL"

func init() {
	functions.CloudEvent(Name, PushProbe)
}

// PushProbe posts e, encoded as structured CloudEvent JSON, to the URL in ReportURLEnv. It
// returns an error, which makes the framework answer 500 and Pub/Sub redeliver, when the
// report cannot be made or is answered with anything but 2xx.
func PushProbe(ctx context.Context, e event.Event) error {
	reportURL := os.Getenv(ReportURLEnv)
	if reportURL == "" {
		return fmt.Errorf("%s is not set", ReportURLEnv)
	}
	body, err := e.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode event %s: %w", e.ID(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, reportURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("report event %s: %w", e.ID(), err)
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("report event %s: %w", e.ID(), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("report event %s: answered %s", e.ID(), resp.Status)
	}
	return nil
}
