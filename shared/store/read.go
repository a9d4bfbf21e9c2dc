package store

import (
	"context"
	"fmt"

	"cloud.google.com/go/firestore"
)

// DocumentRead is what a delivery needs to know before it touches one document, read in one
// round trip: the company's switch, the connections it names that still exist, and the document's
// mapping in each of them.
type DocumentRead struct {
	Enabled bool
	// ConnectionsVersion is the company's connection-set version (zero before its first
	// connection): connection IDs listed at this version are still the whole set.
	ConnectionsVersion int64
	// Connections holds the asked connections that exist, in the order asked.
	Connections []ConnectionRecord
	// Mappings holds the document's mapping in each of Connections, by connection ID; an
	// unstored one (Stored false) when the document is new there.
	Mappings map[string]Mapping
}

// ReadDocument reads, in one BatchGetDocuments call, companyID's document and, for each of
// connectionIDs, the connection and its mapping of documentID. A missing connection is left out.
func (s *Store) ReadDocument(ctx context.Context, companyID string, connectionIDs []string, documentID string) (DocumentRead, error) {
	if err := checkIDs(append([]string{companyID, documentID}, connectionIDs...)...); err != nil {
		return DocumentRead{}, fmt.Errorf("read document: %w", err)
	}
	refs := make([]*firestore.DocumentRef, 0, 1+2*len(connectionIDs))
	refs = append(refs, s.company(companyID))
	for _, id := range connectionIDs {
		k := ConnectionKey{CompanyID: companyID, ID: id}
		refs = append(refs, s.connections(companyID).Doc(id), s.mappingRef(k, documentID))
	}
	snaps, err := s.fs.GetAll(ctx, refs)
	if err != nil {
		return DocumentRead{}, fmt.Errorf("read document %s of company %s: %w", documentID, companyID, err)
	}
	out := DocumentRead{Mappings: make(map[string]Mapping, len(connectionIDs))}
	if snaps[0].Exists() {
		var c companyDoc
		if err := snaps[0].DataTo(&c); err != nil {
			return DocumentRead{}, fmt.Errorf("decode company %s: %w", companyID, err)
		}
		out.Enabled, out.ConnectionsVersion = c.Enabled, c.ConnectionsVersion
	}
	for i, id := range connectionIDs {
		conn, mapping := snaps[1+2*i], snaps[2+2*i]
		if !conn.Exists() {
			continue
		}
		rec, err := decodeConnection(conn)
		if err != nil {
			return DocumentRead{}, err
		}
		m, err := decodeMapping(mapping, documentID)
		if err != nil {
			return DocumentRead{}, err
		}
		s.relay(ctx, conn.Ref, rec.PendingEvents)
		out.Connections = append(out.Connections, rec)
		out.Mappings[id] = m
	}
	return out, nil
}
