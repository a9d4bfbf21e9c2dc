package store

// IndexField is one field of an index, with its order: "ASCENDING" or "DESCENDING".
type IndexField struct {
	Path  string
	Order string
}

// Index is an index a query of this package needs beyond what Firestore creates on its own.
// QueryScope is "COLLECTION" or "COLLECTION_GROUP". An index of one field is a single-field index
// override (Terraform's google_firestore_field), the only way to query a collection group on
// that field; an index of several fields is a composite index (google_firestore_index).
type Index struct {
	CollectionGroup string
	QueryScope      string
	Fields          []IndexField
}

// Indexes lists every index this package's queries need; Terraform's drift test reads it. The
// per-company queries (connections by nameKey, by createdAt) use Firestore's automatic
// single-field indexes and need none. The three lookups that must cross companies need one, and
// the counts of mappings (per run, and live synced per connection) a composite index each.
var Indexes = []Index{
	// ConnectionByID: the OAuth token source's Persister knows a connection by its ID alone.
	{CollectionGroup: colConnections, QueryScope: "COLLECTION_GROUP", Fields: []IndexField{{Path: "id", Order: "ASCENDING"}}},
	// GrantHolders: before revoking a grant, find other connections to the same Google account.
	{CollectionGroup: colConnections, QueryScope: "COLLECTION_GROUP", Fields: []IndexField{{Path: "googleSubject", Order: "ASCENDING"}}},
	// CopyProgress: the synced and failed mappings of one run are counted with two equality
	// filters; a composite index keeps the count from merging two single-field indexes.
	{CollectionGroup: ColMappings, QueryScope: "COLLECTION", Fields: []IndexField{
		{Path: "runId", Order: "ASCENDING"}, {Path: "state", Order: "ASCENDING"}}},
	// FinishedBy and FinishedAfter: an await request counts a run's finished mappings up to a
	// time once, then those finished after it at each check (runId equal, state in synced or
	// failed, a range on updatedAt).
	{CollectionGroup: ColMappings, QueryScope: "COLLECTION", Fields: []IndexField{
		{Path: "runId", Order: "ASCENDING"}, {Path: "state", Order: "ASCENDING"}, {Path: "updatedAt", Order: "ASCENDING"}}},
	// ActiveConnections: the scheduled reconcile lists every active connection across companies.
	{CollectionGroup: colConnections, QueryScope: "COLLECTION_GROUP", Fields: []IndexField{{Path: "status", Order: "ASCENDING"}}},
	// Reconcile: the live synced mappings of a connection are counted with two equality filters.
	{CollectionGroup: ColMappings, QueryScope: "COLLECTION", Fields: []IndexField{
		{Path: "state", Order: "ASCENDING"}, {Path: "deleted", Order: "ASCENDING"}}},
	// ListMappings (document history): a connection's mappings in one state, newest change
	// first, and in one state by number prefix. Without a state both use automatic indexes.
	{CollectionGroup: ColMappings, QueryScope: "COLLECTION", Fields: []IndexField{
		{Path: "state", Order: "ASCENDING"}, {Path: "updatedAt", Order: "DESCENDING"}}},
	{CollectionGroup: ColMappings, QueryScope: "COLLECTION", Fields: []IndexField{
		{Path: "state", Order: "ASCENDING"}, {Path: "numberKey", Order: "ASCENDING"}}},
}

// TTLPolicy is a Firestore TTL policy: documents of CollectionGroup are deleted some time after
// the timestamp in Field passes.
type TTLPolicy struct {
	CollectionGroup string
	Field           string
}

// TTLPolicies lists the TTL policies this package relies on to clean up; Terraform reads it.
var TTLPolicies = []TTLPolicy{{CollectionGroup: colOAuthStates, Field: "expireAt"}}
