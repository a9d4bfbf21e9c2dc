package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/efactori/drivesync/shared/drivesync"
)

// ColRunTasks holds, under a connection, the copy tasks a run published, in chunks: what a
// stalled run publishes again.
const ColRunTasks = "runTasks"

// maxChunkBytes bounds one chunk of a run's tasks, under Firestore's 1 MiB per document.
const maxChunkBytes = 800 << 10

type runTasksDoc struct {
	RunID     string    `firestore:"runId"`
	Chunk     int       `firestore:"chunk"`
	Documents string    `firestore:"documents"` // JSON array of drivesync.Document
	CreatedAt time.Time `firestore:"createdAt"`
}

// RecordRunTasks stores the documents run runID of connection k publishes copy tasks for, in
// chunks of at most maxChunkBytes. It is idempotent: a chunk already stored is kept, so a
// redelivered run stores nothing twice.
func (s *Store) RecordRunTasks(ctx context.Context, k ConnectionKey, runID string, docs []drivesync.Document) error {
	if err := checkIDs(k.CompanyID, k.ID, runID); err != nil {
		return fmt.Errorf("record run tasks: %w", err)
	}
	col := s.connections(k.CompanyID).Doc(k.ID).Collection(ColRunTasks)
	var chunks [][]drivesync.Document
	size := 0
	for _, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("record run tasks of %s: %w", runID, err)
		}
		if len(chunks) == 0 || size+len(b) > maxChunkBytes {
			chunks = append(chunks, nil)
			size = 0
		}
		chunks[len(chunks)-1] = append(chunks[len(chunks)-1], d)
		size += len(b) + 1
	}
	bw := s.fs.BulkWriter(ctx)
	var jobs []*firestore.BulkWriterJob
	for i, c := range chunks {
		b, err := json.Marshal(c)
		if err != nil {
			bw.End()
			return fmt.Errorf("record run tasks of %s: %w", runID, err)
		}
		job, err := bw.Create(col.Doc(runID+"-"+strconv.Itoa(i)), runTasksDoc{RunID: runID, Chunk: i, Documents: string(b), CreatedAt: s.now()})
		if err != nil {
			bw.End()
			return fmt.Errorf("record run tasks of %s: %w", runID, err)
		}
		jobs = append(jobs, job)
	}
	bw.End()
	for _, job := range jobs {
		if _, err := job.Results(); err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("record run tasks of %s: %w", runID, err)
		}
	}
	return nil
}

// RunTasks returns the documents RecordRunTasks stored for run runID of connection k, in the
// order they were recorded.
func (s *Store) RunTasks(ctx context.Context, k ConnectionKey, runID string) ([]drivesync.Document, error) {
	if err := checkIDs(k.CompanyID, k.ID, runID); err != nil {
		return nil, fmt.Errorf("run tasks: %w", err)
	}
	it := s.connections(k.CompanyID).Doc(k.ID).Collection(ColRunTasks).Where("runId", "==", runID).Documents(ctx)
	defer it.Stop()
	// Chunks come back in document ID order ("run-10" before "run-2"); a run's window needs
	// them in the order they were recorded.
	var chunks [][]drivesync.Document
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			var out []drivesync.Document
			for _, c := range chunks {
				out = append(out, c...)
			}
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("run tasks of %s: %w", runID, err)
		}
		var d runTasksDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, fmt.Errorf("run tasks of %s: decode: %w", runID, err)
		}
		var docs []drivesync.Document
		if err := json.Unmarshal([]byte(d.Documents), &docs); err != nil {
			return nil, fmt.Errorf("run tasks of %s: decode chunk %d: %w", runID, d.Chunk, err)
		}
		if d.Chunk < 0 || d.Chunk > 1<<20 {
			return nil, fmt.Errorf("run tasks of %s: chunk number %d out of range", runID, d.Chunk)
		}
		for len(chunks) <= d.Chunk {
			chunks = append(chunks, nil)
		}
		chunks[d.Chunk] = docs
	}
}

// Mappings returns every mapping of connection k: one document read each, so only a reconcile
// that found something to repair calls it.
func (s *Store) Mappings(ctx context.Context, k ConnectionKey) ([]Mapping, error) {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return nil, fmt.Errorf("list mappings: %w", err)
	}
	it := s.connections(k.CompanyID).Doc(k.ID).Collection(ColMappings).Documents(ctx)
	defer it.Stop()
	var out []Mapping
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list mappings of connection %s: %w", k.ID, err)
		}
		m, err := decodeMapping(snap, snap.Ref.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
}

// MappingsOf returns the mappings of documentIDs in connection k (unstored ones for documents
// without), in one batched read.
func (s *Store) MappingsOf(ctx context.Context, k ConnectionKey, documentIDs []string) (map[string]Mapping, error) {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return nil, fmt.Errorf("get mappings: %w", err)
	}
	out := make(map[string]Mapping, len(documentIDs))
	for start := 0; start < len(documentIDs); start += 500 {
		ids := documentIDs[start:min(start+500, len(documentIDs))]
		refs := make([]*firestore.DocumentRef, len(ids))
		for i, id := range ids {
			if err := checkIDs(id); err != nil {
				return nil, fmt.Errorf("get mappings: %w", err)
			}
			refs[i] = s.mappingRef(k, id)
		}
		snaps, err := s.fs.GetAll(ctx, refs)
		if err != nil {
			return nil, fmt.Errorf("get mappings of connection %s: %w", k.ID, err)
		}
		for i, snap := range snaps {
			m, err := decodeMapping(snap, ids[i])
			if err != nil {
				return nil, err
			}
			out[ids[i]] = m
		}
	}
	return out, nil
}

// CountLiveSynced counts the mappings of connection k that say Drive holds a live document: an
// aggregation that reads one index entry in a thousand, so a reconcile can tell that every
// mapping is there without reading them.
func (s *Store) CountLiveSynced(ctx context.Context, k ConnectionKey) (int, error) {
	if err := checkIDs(k.CompanyID, k.ID); err != nil {
		return 0, fmt.Errorf("count mappings: %w", err)
	}
	q := s.connections(k.CompanyID).Doc(k.ID).Collection(ColMappings).
		Where("state", "==", string(MappingSynced)).Where("deleted", "==", false)
	res, err := q.NewAggregationQuery().WithCount("n").Get(ctx)
	if err != nil {
		return 0, fmt.Errorf("count mappings of connection %s: %w", k.ID, err)
	}
	return countOf(res, "n")
}

// AdoptMapping changes the mapping of seen.DocumentID without taking its lease, for a reconcile
// that found the document's file in Drive: one write conditional on the version read. ok is
// false, and nothing changes, while a delivery holds the lease (it is working on the document
// and records its own outcome). seen is the mapping as last read, or unstored.
func (s *Store) AdoptMapping(ctx context.Context, k ConnectionKey, seen Mapping, change func(*Mapping)) (m Mapping, ok bool, err error) {
	if err := checkIDs(k.CompanyID, k.ID, seen.DocumentID); err != nil {
		return Mapping{}, false, fmt.Errorf("adopt mapping: %w", err)
	}
	m, err = s.change(ctx, k, seen, func(m *Mapping) error {
		if m.leaseHolder != "" && s.now().Before(m.leaseUntil) {
			ok = false
			return errNoChange
		}
		ok = true
		m.leaseHolder, m.leaseUntil = "", time.Time{}
		change(m)
		return nil
	})
	if err != nil {
		return Mapping{}, false, fmt.Errorf("adopt mapping: %w", err)
	}
	return m, ok, nil
}

// ActiveConnections calls each with every active connection of every company, for the
// scheduled reconcile; each's error stops the walk and is returned.
func (s *Store) ActiveConnections(ctx context.Context, each func(ConnectionRecord) error) error {
	it := s.fs.CollectionGroup(colConnections).Where("status", "==", string(drivesync.StatusActive)).Documents(ctx)
	defer it.Stop()
	for {
		snap, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list active connections: %w", err)
		}
		if parent := snap.Ref.Parent.Parent; parent == nil || parent.Parent.ID != colCompanies {
			continue
		}
		rec, err := decodeConnection(snap)
		if err != nil {
			return err
		}
		if err := each(rec); err != nil {
			return err
		}
	}
}
