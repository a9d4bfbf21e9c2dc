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
	// Folders holds the folder cache entries asked for, as read in the same call (see
	// ClaimFolderSeen).
	Folders map[FolderKey]SeenFolder
}

// FolderKey names the cache entry of one layout folder of a connection: the folder with Key
// (a layout.Folder key) under ParentID.
type FolderKey struct {
	ConnectionID, ParentID, Key string
}

// SeenFolder is a folder cache entry as read with a document, for ClaimFolderSeen to decide
// from instead of reading it again.
type SeenFolder struct {
	exists bool
	d      folderDoc
}

// ReadDocument reads, in one BatchGetDocuments call, companyID's document and, for each of
// connectionIDs, the connection and its mapping of documentID. A missing connection is left out.
// The folder cache entries of folders ride on the same call: a delivery that will need a layout
// folder it has not looked up yet reads its entry at no extra RPC.
func (s *Store) ReadDocument(ctx context.Context, companyID string, connectionIDs []string, documentID string, folders ...FolderKey) (DocumentRead, error) {
	ids := append([]string{companyID, documentID}, connectionIDs...)
	for _, f := range folders {
		ids = append(ids, f.ConnectionID)
	}
	if err := checkIDs(ids...); err != nil {
		return DocumentRead{}, fmt.Errorf("read document: %w", err)
	}
	refs := make([]*firestore.DocumentRef, 0, 1+2*len(connectionIDs)+len(folders))
	refs = append(refs, s.company(companyID))
	for _, id := range connectionIDs {
		k := ConnectionKey{CompanyID: companyID, ID: id}
		refs = append(refs, s.connections(companyID).Doc(id), s.mappingRef(k, documentID))
	}
	for _, f := range folders {
		refs = append(refs, s.folderRef(ConnectionKey{CompanyID: companyID, ID: f.ConnectionID}, f.ParentID, f.Key))
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
	for i, f := range folders {
		snap := snaps[1+2*len(connectionIDs)+i]
		seen := SeenFolder{exists: snap.Exists()}
		if seen.exists {
			if err := snap.DataTo(&seen.d); err != nil {
				return DocumentRead{}, fmt.Errorf("decode folder %s: %w", snap.Ref.Path, err)
			}
		}
		if out.Folders == nil {
			out.Folders = map[FolderKey]SeenFolder{}
		}
		out.Folders[f] = seen
	}
	return out, nil
}
