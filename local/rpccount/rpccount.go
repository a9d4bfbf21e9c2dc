// Package rpccount counts the Firestore RPCs other processes make: a gRPC (HTTP/2 cleartext)
// reverse proxy in front of the Firestore emulator, which the function processes of a bench are
// pointed at with FIRESTORE_EMULATOR_HOST. It counts calls by method, and the documents the
// requests read (BatchGetDocuments, one per query) and write (Commit), so a fleet run's
// Firestore cost per document can be measured in the shape production bills it.
package rpccount

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/protobuf/proto"
)

// Counts are the RPCs seen so far.
type Counts struct {
	Calls  map[string]int64 // by method name (Commit, BatchGetDocuments, RunQuery, …)
	RPCs   int64            // all calls
	Reads  int64            // documents asked for by BatchGetDocuments, plus one per query
	Writes int64            // writes in Commit requests
	// Targets counts calls by method and the shape of what they touch: the collection path
	// of the documents read or written, IDs left out ("Commit companies/connections/mappings"),
	// so a run's RPCs can be traced to the code that makes them.
	Targets map[string]int64
}

// Sub returns c minus before.
func (c Counts) Sub(before Counts) Counts {
	out := Counts{Calls: map[string]int64{}, RPCs: c.RPCs - before.RPCs, Reads: c.Reads - before.Reads, Writes: c.Writes - before.Writes,
		Targets: map[string]int64{}}
	for k, v := range c.Calls {
		if d := v - before.Calls[k]; d != 0 {
			out.Calls[k] = d
		}
	}
	for k, v := range c.Targets {
		if d := v - before.Targets[k]; d != 0 {
			out.Targets[k] = d
		}
	}
	return out
}

// Proxy forwards gRPC calls to the emulator and counts them.
type Proxy struct {
	// Host is the proxy's host:port, for FIRESTORE_EMULATOR_HOST.
	Host string
	srv  *http.Server

	mu     sync.Mutex
	counts Counts
}

// Start listens on a loopback port and forwards to target (host:port of the emulator).
func Start(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("rpccount: listen: %w", err)
	}
	p := &Proxy{Host: l.Addr().String(), counts: Counts{Calls: map[string]int64{}, Targets: map[string]int64{}}}
	h2c := new(http.Protocols)
	h2c.SetUnencryptedHTTP2(true)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: target})
		},
		Transport:     &http.Transport{Protocols: h2c, MaxIdleConnsPerHost: 100, IdleConnTimeout: time.Minute},
		FlushInterval: -1, // server-streaming answers (BatchGetDocuments, RunQuery) pass at once
		// A Listen stream ends by its client cancelling it, which the proxy would log each time.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = &http.Server{Protocols: h2c, ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.note(r)
			rp.ServeHTTP(w, r)
		})}
	go p.srv.Serve(l) //nolint:errcheck // Close ends it
	return p, nil
}

// note counts the call and, for the unary and server-streaming methods whose one request
// message says what is read or written, decodes it (the body is put back for forwarding).
func (p *Proxy) note(r *http.Request) {
	method := path.Base(r.URL.Path)
	var msg proto.Message
	switch method {
	case "Commit":
		msg = &firestorepb.CommitRequest{}
	case "BatchGetDocuments":
		msg = &firestorepb.BatchGetDocumentsRequest{}
	case "RunQuery":
		msg = &firestorepb.RunQueryRequest{}
	case "RunAggregationQuery":
		msg = &firestorepb.RunAggregationQueryRequest{}
	}
	var reads, writes int64
	var shapes []string
	if msg != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err == nil && len(body) >= 5 && body[0] == 0 { // uncompressed gRPC frame
			if n := binary.BigEndian.Uint32(body[1:5]); int(n) <= len(body)-5 && proto.Unmarshal(body[5:5+n], msg) == nil {
				switch m := msg.(type) {
				case *firestorepb.CommitRequest:
					writes = int64(len(m.GetWrites()))
					for _, w := range m.GetWrites() {
						name := w.GetDelete()
						if u := w.GetUpdate(); u != nil {
							name = u.GetName()
						}
						if t := w.GetTransform(); t != nil {
							name = t.GetDocument()
						}
						shapes = append(shapes, shape(name))
					}
					if len(m.GetTransaction()) > 0 {
						shapes = append(shapes, "(in a transaction)")
					}
				case *firestorepb.BatchGetDocumentsRequest:
					reads = int64(len(m.GetDocuments()))
					for _, d := range m.GetDocuments() {
						shapes = append(shapes, shape(d))
					}
				case *firestorepb.RunQueryRequest:
					shapes = append(shapes, queryShape(m.GetParent(), m.GetStructuredQuery()))
				case *firestorepb.RunAggregationQueryRequest:
					shapes = append(shapes, queryShape(m.GetParent(), m.GetStructuredAggregationQuery().GetStructuredQuery()))
				}
			}
		}
	}
	if method == "RunQuery" || method == "RunAggregationQuery" {
		reads = 1 // at least one read is billed per query
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts.Calls[method]++
	p.counts.RPCs++
	p.counts.Reads += reads
	p.counts.Writes += writes
	slices.Sort(shapes)
	p.counts.Targets[strings.TrimSpace(method+" "+strings.Join(slices.Compact(shapes), "+"))]++
}

// shape returns the collection path of a document name, IDs left out.
func shape(name string) string {
	_, rest, ok := strings.Cut(name, "/documents/")
	if !ok {
		return name
	}
	var cols []string
	for i, seg := range strings.Split(rest, "/") {
		if i%2 == 0 {
			cols = append(cols, seg)
		}
	}
	return strings.Join(cols, "/")
}

// queryShape returns the collection path a query runs over.
func queryShape(parent string, q *firestorepb.StructuredQuery) string {
	s := ""
	if strings.Contains(parent, "/documents/") {
		s = shape(parent)
	}
	from := q.GetFrom()
	if len(from) == 0 {
		return s
	}
	if from[0].GetAllDescendants() {
		return s + "/**/" + from[0].GetCollectionId()
	}
	return strings.TrimPrefix(s+"/"+from[0].GetCollectionId(), "/")
}

// Counts returns the calls seen so far.
func (p *Proxy) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	c.Calls = maps.Clone(c.Calls)
	c.Targets = maps.Clone(c.Targets)
	return c
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }
