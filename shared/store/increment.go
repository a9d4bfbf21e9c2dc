package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"cloud.google.com/go/firestore"
	apiv1 "cloud.google.com/go/firestore/apiv1"
	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The Firestore client library applies an increment but does not return its result, which is
// the whole point of a lease by increment (the slots it took): the Commit goes through the
// generated API client instead, one per process, created on first use the way the library
// creates its own (the emulator when FIRESTORE_EMULATOR_HOST is set, else Application Default
// Credentials).
var raw struct {
	once   sync.Once
	client *apiv1.Client
	err    error
}

func rawClient() (*apiv1.Client, error) {
	raw.once.Do(func() {
		var opts []option.ClientOption
		if host := os.Getenv("FIRESTORE_EMULATOR_HOST"); host != "" {
			conn, err := grpc.NewClient(host, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				raw.err = fmt.Errorf("firestore emulator %s: %w", host, err)
				return
			}
			opts = append(opts, option.WithGRPCConn(conn))
		}
		raw.client, raw.err = apiv1.NewClient(context.Background(), opts...)
	})
	return raw.client, raw.err
}

// WithFirestoreAPI makes the store send the calls the client library cannot make (an increment
// whose result it needs) through c, instead of a client of its own made like the library's.
// A benchmark passes one on the connection it counts.
func WithFirestoreAPI(c *apiv1.Client) Option {
	return func(s *Store) error {
		if c == nil {
			return fmt.Errorf("nil Firestore API client")
		}
		s.api = c
		return nil
	}
}

// incrementField adds delta to the integer field of ref's document in one write (creating the
// document, or the field at zero, when missing) and returns the field's new value.
func (s *Store) incrementField(ctx context.Context, ref *firestore.DocumentRef, field string, delta int64) (int64, error) {
	c := s.api
	if c == nil {
		var err error
		if c, err = rawClient(); err != nil {
			return 0, err
		}
	}
	db, _, ok := strings.Cut(ref.Path, "/documents/")
	if !ok {
		return 0, fmt.Errorf("increment %s: not a document path", ref.Path)
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "google-cloud-resource-prefix", db)
	// An update of no field but updatedAt, with the increment as its transform: the document is
	// created when missing, and the time of the change is kept as by the other writes.
	res, err := c.Commit(ctx, &firestorepb.CommitRequest{Database: db, Writes: []*firestorepb.Write{{
		Operation: &firestorepb.Write_Update{Update: &firestorepb.Document{Name: ref.Path, Fields: map[string]*firestorepb.Value{
			"updatedAt": {ValueType: &firestorepb.Value_TimestampValue{TimestampValue: timestamppb.Now()}},
		}}},
		UpdateMask: &firestorepb.DocumentMask{FieldPaths: []string{"updatedAt"}},
		UpdateTransforms: []*firestorepb.DocumentTransform_FieldTransform{{
			FieldPath:     field,
			TransformType: &firestorepb.DocumentTransform_FieldTransform_Increment{Increment: &firestorepb.Value{ValueType: &firestorepb.Value_IntegerValue{IntegerValue: delta}}},
		}},
	}}})
	if err != nil {
		return 0, fmt.Errorf("increment %s of %s: %w", field, ref.Path, err)
	}
	wr := res.GetWriteResults()
	if len(wr) != 1 || len(wr[0].GetTransformResults()) != 1 {
		return 0, fmt.Errorf("increment %s of %s: no result", field, ref.Path)
	}
	v, ok := wr[0].GetTransformResults()[0].GetValueType().(*firestorepb.Value_IntegerValue)
	if !ok {
		// A value of another type was there: the increment made it a number of another kind.
		return 0, fmt.Errorf("increment %s of %s: field is not an integer", field, ref.Path)
	}
	return v.IntegerValue, nil
}
