package efactori

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/efactori/drivesync/shared/statusevent"
)

// eFactori subscribes to drivesync's status events (docs/status-events.md). The stand-in does as
// eFactori would with a push subscription: it takes each delivery, deduplicates by event ID and
// keeps the last ones for GET /admin/status-events, where the demo and a person using the dev
// stack read what eFactori would show the customer.

// StatusEventsPushPath is where a Pub/Sub push subscription delivers status events to the
// stand-in, with the dev token as the query parameter token: the emulator pushes without the
// OIDC token Google would attach.
const StatusEventsPushPath = "/pubsub/status-events"

// maxStatusEvents is how many distinct status events the stand-in keeps, oldest dropped first.
const maxStatusEvents = 200

// maxPushBytes bounds a push request: an event of at most statusevent.MaxBytes, base64-encoded,
// with its attributes and envelope.
const maxPushBytes = 16 << 10

// ReceivedStatusEvent is one status event the stand-in received.
type ReceivedStatusEvent struct {
	Event statusevent.Event `json:"event"`
	// Deliveries counts the pushes of this event ID; more than one is a redelivery (at least
	// once), each with the same content or the push was refused.
	Deliveries int       `json:"deliveries"`
	ReceivedAt time.Time `json:"receivedAt"` // first delivery
}

// StatusEventsResponse is the body of GET /admin/status-events.
type StatusEventsResponse struct {
	// Events are the last events received, newest first.
	Events []ReceivedStatusEvent `json:"events"`
}

// statusInbox holds the received status events.
type statusInbox struct {
	mu    sync.Mutex
	order []string // event IDs, first delivery order
	byID  map[string]*receivedEvent
}

type receivedEvent struct {
	ReceivedStatusEvent
	raw []byte
}

// pushEnvelope is the body of a Pub/Sub push request.
type pushEnvelope struct {
	Message struct {
		Data       []byte            `json:"data"` // base64 in JSON
		Attributes map[string]string `json:"attributes"`
		MessageID  string            `json:"messageId"`
	} `json:"message"`
	Subscription string `json:"subscription"`
}

// receive records one delivery of raw; ok is false when raw reuses an event ID with another
// content, which the contract forbids.
func (in *statusInbox) receive(raw []byte, e statusevent.Event, now time.Time) (ok bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.byID == nil {
		in.byID = map[string]*receivedEvent{}
	}
	if r, seen := in.byID[e.EventID]; seen {
		if string(r.raw) != string(raw) {
			return false
		}
		r.Deliveries++
		return true
	}
	in.byID[e.EventID] = &receivedEvent{ReceivedStatusEvent: ReceivedStatusEvent{Event: e, Deliveries: 1, ReceivedAt: now}, raw: raw}
	in.order = append(in.order, e.EventID)
	if len(in.order) > maxStatusEvents {
		delete(in.byID, in.order[0])
		in.order = in.order[1:]
	}
	return true
}

// StatusEvents returns the last limit status events received (every kept one when limit is not
// positive), newest first; companyID, when set, keeps only that company's.
func (s *Server) StatusEvents(companyID string, limit int) []ReceivedStatusEvent {
	in := &s.statusEvents
	in.mu.Lock()
	defer in.mu.Unlock()
	out := []ReceivedStatusEvent{}
	for _, id := range slices.Backward(in.order) {
		r := in.byID[id]
		if companyID != "" && r.Event.CompanyID != companyID {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, r.ReceivedStatusEvent)
	}
	return out
}

func (s *Server) handleStatusPush(w http.ResponseWriter, r *http.Request) {
	if tok := r.URL.Query().Get("token"); subtle.ConstantTimeCompare([]byte(tok), []byte(s.devToken)) != 1 {
		writeProblem(w, r, http.StatusUnauthorized, "unauthenticated", "the push endpoint needs the dev token as the token query parameter")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPushBytes+1))
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid-push", "the push request could not be read")
		return
	}
	if len(body) > maxPushBytes {
		writeProblem(w, r, http.StatusRequestEntityTooLarge, "invalid-push", "the push request is larger than "+strconv.Itoa(maxPushBytes)+" bytes")
		return
	}
	var env pushEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid-push", "the body is not a Pub/Sub push request")
		return
	}
	e, err := statusevent.Decode(env.Message.Data)
	if err != nil {
		s.log.WarnContext(r.Context(), "status event refused", "messageId", env.Message.MessageID, "err", err)
		writeProblem(w, r, http.StatusBadRequest, "invalid-status-event", err.Error())
		return
	}
	for k, v := range e.Attributes() {
		if env.Message.Attributes[k] != v {
			writeProblem(w, r, http.StatusBadRequest, "invalid-status-event", "attribute "+k+" does not match the event")
			return
		}
	}
	if !s.statusEvents.receive(env.Message.Data, e, s.now()) {
		s.log.ErrorContext(r.Context(), "status event ID reused with another content", "eventId", e.EventID)
		writeProblem(w, r, http.StatusConflict, "event-id-reused", "event "+e.EventID+" was received before with another content")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleStatusEvents(w http.ResponseWriter, r *http.Request) {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxStatusEvents {
			writeProblem(w, r, http.StatusBadRequest, "invalid-request", "limit must be an integer from 1 to "+strconv.Itoa(maxStatusEvents))
			return
		}
		limit = n
	}
	writeJSON(w, http.StatusOK, StatusEventsResponse{Events: s.StatusEvents(r.URL.Query().Get("companyId"), limit)})
}

// StatusEvents calls GET /admin/status-events: the last limit (1 to 200) status events the
// stand-in received, newest first, of companyID only when it is set.
func (c *AdminClient) StatusEvents(ctx context.Context, companyID string, limit int) (StatusEventsResponse, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if companyID != "" {
		q.Set("companyId", companyID)
	}
	var out StatusEventsResponse
	err := c.call(ctx, http.MethodGet, "/admin/status-events?"+q.Encode(), nil, &out)
	return out, err
}
