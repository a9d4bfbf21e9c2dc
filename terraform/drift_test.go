// Package terraform_test keeps the deployment in terraform/ in step with what the code declares:
// the entry points drivesync.go registers, the environment variables shared/config reads, the
// Pub/Sub topics shared/config names, the Firestore indexes and TTL policies shared/store needs,
// and the IAM each function's service account may hold (the policy tables below). It reads the
// .tf files with the HCL parser, so it runs with go test alone; references
// (google_pubsub_topic.x.id, local.y) are resolved by resource name, literals evaluated, anything
// else reported as unreadable. tests/*.tftest.hcl, run by scripts/test with the real providers,
// check the evaluated plan (service accounts and roles, public functions, secrets).
package terraform_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyfunc "github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/efactori/drivesync/shared/config"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/store"
)

// The policy this test enforces, which the code cannot state by itself.
var (
	// publicFunctions are the browser-facing HTTP entry points: the only ones that may take
	// ingress from the internet and be invoked by allUsers, because browsers cannot present a
	// Google identity; the function verifies the eFactori token itself.
	publicFunctions = map[string]bool{"Connections": true, "OAuthCallback": true}

	// triggers lists, for each CloudEvent entry point, the topics whose messages it handles: the
	// function's event_trigger plus any google_eventarc_trigger aimed at it. SyncDocument is one
	// deployment with two (its event_trigger on document events, an Eventarc trigger on copy
	// tasks), so one set of instances paces each connection's Drive writes.
	triggers = map[string][]string{
		"SyncDocument": {config.TopicDocumentEvents, config.TopicCopyTasks},
		"InitialCopy":  {config.TopicCopyRequests},
	}

	// allowedGrants lists, for each entry point, the IAM grants its own service account may hold,
	// as "<terraform resource type> <role>". A role on a single resource (a topic, a secret, a key)
	// is only allowed through that resource's IAM type, never project-wide.
	allowedGrants = map[string][]string{
		// Connections publishes the document history's retries as copy tasks.
		"Connections": {
			"google_project_iam_member roles/datastore.user",
			"google_project_iam_member roles/logging.logWriter",
			"google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor",
			"google_kms_crypto_key_iam_member roles/cloudkms.cryptoKeyDecrypter",
			"google_pubsub_topic_iam_member roles/pubsub.publisher",
		},
		"OAuthCallback": {
			"google_project_iam_member roles/datastore.user",
			"google_project_iam_member roles/logging.logWriter",
			"google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor",
			"google_kms_crypto_key_iam_member roles/cloudkms.cryptoKeyDecrypter",
			"google_pubsub_topic_iam_member roles/pubsub.publisher",
		},
		"SyncDocument": {
			"google_project_iam_member roles/datastore.user",
			"google_project_iam_member roles/logging.logWriter",
			"google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor",
			"google_kms_crypto_key_iam_member roles/cloudkms.cryptoKeyDecrypter",
		},
		// InitialCopy publishes the copy tasks and the next page's request, and reaches Drive
		// to reconcile a connection: the OAuth secret, the keyset and the key, as SyncDocument.
		"InitialCopy": {
			"google_project_iam_member roles/datastore.user",
			"google_project_iam_member roles/logging.logWriter",
			"google_pubsub_topic_iam_member roles/pubsub.publisher",
			"google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor",
			"google_kms_crypto_key_iam_member roles/cloudkms.cryptoKeyDecrypter",
		},
	}

	// localOnly are variables the code reads that must never be set on a deployed function.
	localOnly = []string{"GOOGLE_EMULATOR_URL", "TOKEN_KEYSET_CLEARTEXT", "EFACTORI_DEV_TOKEN"}

	// deployedRequired are optional for the code (local runs do without them) but required in
	// Google Cloud: without TOKEN_KEK_URI the keyset would have to be stored in clear text, and
	// without EFACTORI_API_AUDIENCE the functions could only call eFactori with a dev token.
	deployedRequired = []string{"TOKEN_KEK_URI", "EFACTORI_API_AUDIENCE"}

	// schedulerTopic is the topic Cloud Scheduler publishes the scheduled copy request to, the
	// request that starts a reconcile run of every active connection.
	schedulerTopic = config.TopicCopyRequests

	// schedulerAgent is how Cloud Scheduler's service agent is named in an IAM member; it
	// publishes a Pub/Sub target's messages, and may only publish, on the scheduled topic alone.
	schedulerAgent = "@gcp-sa-cloudscheduler.iam.gserviceaccount.com"

	// triggerGrants are what the service account an event trigger pushes with may hold: the
	// right to invoke its function.
	triggerGrants = []string{
		"google_cloud_run_service_iam_member roles/run.invoker",
		"google_cloud_run_v2_service_iam_member roles/run.invoker",
		"google_cloudfunctions2_function_iam_member roles/cloudfunctions.invoker",
		"google_project_iam_member roles/eventarc.eventReceiver",
	}
)

const (
	kindHTTP       = "HTTP"
	kindCloudEvent = "CloudEvent"
	pubsubEvent    = "google.cloud.pubsub.topic.v1.messagePublished"
)

func TestTerraformMatchesCode(t *testing.T) {
	t.Parallel()
	c, err := loadCode("..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := readTerraform(".")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := parseTerraform(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range check(c, tf) {
		t.Error(p)
	}
}

// terraform validate cannot run without providers; this catches the commonest mistake it would:
// a reference to a variable, local, resource or data source that does not exist.
func TestReferencesResolve(t *testing.T) {
	t.Parallel()
	files, err := readTerraform(".")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := parseTerraform(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tf.undefinedRefs() {
		t.Error(p)
	}
}

// The example var file is what an operator copies: it must set every variable that has no default
// and nothing that is not a variable.
func TestExampleVarFileMatchesVariables(t *testing.T) {
	t.Parallel()
	files, err := readTerraform(".")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := parseTerraform(files)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclparse.NewParser().ParseHCLFile(filepath.Join("environments", "example.tfvars"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	set := f.Body.(*hclsyntax.Body).Attributes
	for name := range set {
		if !tf.variables[name] {
			t.Errorf("environments/example.tfvars sets %s, which variables.tf does not declare", name)
		}
	}
	for _, b := range tf.blocks {
		if b.Type == "variable" && len(b.Labels) == 1 && attr(b, "default") == nil {
			if _, ok := set[b.Labels[0]]; !ok {
				t.Errorf("environments/example.tfvars does not set %s, which has no default", b.Labels[0])
			}
		}
	}
}

// The check must catch each kind of drift; each case changes the code's declarations or adds
// Terraform to the real configuration and expects a problem the unchanged pair does not have.
func TestCheckCatchesDrift(t *testing.T) {
	t.Parallel()
	base, err := loadCode("..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := readTerraform(".")
	if err != nil {
		t.Fatal(err)
	}
	// The cases deploy SyncDocument themselves (syncDocument below), so the real deployment of
	// it and its declarations are taken out of the pair they start from.
	delete(files, "syncdocument.tf")
	delete(base.entryPoints, "SyncDocument")
	base.variables = slices.Clone(base.variables)
	for i, v := range base.variables {
		v.Functions = slices.DeleteFunc(slices.Clone(v.Functions), func(f string) bool { return f == "SyncDocument" })
		base.variables[i] = v
	}
	baseTF, err := parseTerraform(files)
	if err != nil {
		t.Fatal(err)
	}
	baseProblems := check(base, baseTF)

	// An event function deployed as it should be, for the cases that break it.
	syncDocument := `
resource "google_service_account" "sync_document" {
  account_id = "drivesync-sync-document"
}
resource "google_service_account" "sync_document_trigger" {
  account_id = "drivesync-sync-document-trigger"
}
resource "google_cloudfunctions2_function" "sync_document" {
  name = "drivesync-sync-document"
  build_config {
    runtime     = "go126"
    entry_point = "SyncDocument"
  }
  service_config {
    ingress_settings      = "ALLOW_INTERNAL_ONLY"
    service_account_email = google_service_account.sync_document.email
    environment_variables = merge(local.sync_env, { LOG_LEVEL = var.log_level })
  }
  event_trigger {
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = local.document_events_topic
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.sync_document_trigger.email
  }
}
locals {
  sync_env = { GOOGLE_CLOUD_PROJECT = var.project }
}
resource "google_eventarc_trigger" "sync_document_copy_tasks" {
  transport {
    pubsub {
      topic = google_pubsub_topic.copy_tasks.id
    }
  }
  destination {
    cloud_run_service {
      service = google_cloudfunctions2_function.sync_document.name
    }
  }
}
resource "google_cloud_run_service_iam_member" "sync_document_trigger" {
  service = google_cloudfunctions2_function.sync_document.name
  role    = "roles/run.invoker"
  member  = google_service_account.sync_document_trigger.member
}
`
	withSyncDocument := func(c *code) {
		c.entryPoints["SyncDocument"] = kindCloudEvent
		c.variables = append(c.variables,
			config.Variable{Name: "GOOGLE_CLOUD_PROJECT", Required: true, Functions: []string{"SyncDocument"}},
			config.Variable{Name: "LOG_LEVEL", Functions: []string{"SyncDocument"}})
	}

	// edit replaces old with new in one of the real files.
	edit := func(file, old, new string) func(map[string][]byte) {
		return func(fs map[string][]byte) {
			if !strings.Contains(string(fs[file]), old) {
				t.Fatalf("%s does not hold %q", file, old)
			}
			fs[file] = []byte(strings.Replace(string(fs[file]), old, new, 1))
		}
	}
	tests := []struct {
		name  string
		code  func(*code)
		edit  func(map[string][]byte) // changes the real files
		tf    string                  // added as one more file
		want  string                  // a problem containing this
		clean bool                    // no problem at all is expected beyond the unchanged pair's
	}{
		{
			name: "a well-formed event function passes",
			code: withSyncDocument,
			tf:   syncDocument, clean: true,
		},
		{
			name: "entry point registered but not deployed",
			code: func(c *code) { c.entryPoints["NotDeployedYet"] = kindHTTP },
			want: `entry point "NotDeployedYet" (HTTP, registered in drivesync.go) has no google_cloudfunctions2_function`,
		},
		{
			name: "entry point deployed twice",
			code: withSyncDocument,
			tf: syncDocument + `resource "google_cloudfunctions2_function" "again" {
  build_config {
    entry_point = "SyncDocument"
  }
}`,
			want: `entry point "SyncDocument" is deployed by more than one function`,
		},
		{
			name: "function names an entry point the code does not register",
			tf: `resource "google_cloudfunctions2_function" "gone" {
  build_config {
    entry_point = "Gone"
  }
}`,
			want: `google_cloudfunctions2_function.gone has entry_point "Gone", which drivesync.go does not register`,
		},
		{
			name: "HTTP function with an event trigger",
			code: func(c *code) { c.entryPoints["SyncDocument"] = kindHTTP },
			tf:   syncDocument,
			want: "google_cloudfunctions2_function.sync_document deploys the HTTP entry point SyncDocument but has 1 event_trigger",
		},
		{
			name: "event function without an event trigger",
			code: func(c *code) { c.entryPoints["Bare"] = kindCloudEvent },
			tf: `resource "google_cloudfunctions2_function" "bare" {
  build_config {
    entry_point = "Bare"
  }
}`,
			want: "google_cloudfunctions2_function.bare deploys the CloudEvent entry point Bare but has 0 event_trigger",
		},
		{
			name: "required variable not set",
			code: func(c *code) {
				withSyncDocument(c)
				c.variables = append(c.variables, config.Variable{Name: "NEW_SETTING", Required: true, Functions: []string{"SyncDocument"}})
			},
			tf:   syncDocument,
			want: "google_cloudfunctions2_function.sync_document (SyncDocument) does not set NEW_SETTING",
		},
		{
			name: "variable set but not declared",
			code: func(c *code) {
				withSyncDocument(c)
				c.variables = slices.DeleteFunc(c.variables, func(v config.Variable) bool {
					return v.Name == "LOG_LEVEL" && slices.Equal(v.Functions, []string{"SyncDocument"})
				})
			},
			tf:   syncDocument,
			want: "google_cloudfunctions2_function.sync_document sets LOG_LEVEL, which config.Variables does not declare for SyncDocument",
		},
		{
			name: "required variable missing from an event function's merge()",
			code: func(c *code) {
				withSyncDocument(c)
				c.variables = append(c.variables, config.Variable{Name: "EFACTORI_API_URL", Required: true, Functions: []string{"SyncDocument"}})
			},
			tf:   syncDocument,
			want: "google_cloudfunctions2_function.sync_document (SyncDocument) does not set EFACTORI_API_URL",
		},
		{
			name: "secret set as a plain variable",
			code: func(c *code) {
				withSyncDocument(c)
				c.variables = append(c.variables, config.Variable{Name: "API_KEY", Secret: true, Functions: []string{"SyncDocument"}})
			},
			tf:   strings.Replace(syncDocument, "{ LOG_LEVEL = var.log_level }", "{ LOG_LEVEL = var.log_level, API_KEY = var.api_key }", 1),
			want: "google_cloudfunctions2_function.sync_document (SyncDocument) sets the secret API_KEY as a plain variable",
		},
		{
			name: "local-only variable deployed",
			code: func(c *code) {
				withSyncDocument(c)
				c.variables = append(c.variables, config.Variable{Name: "GOOGLE_EMULATOR_URL", Functions: []string{"SyncDocument"}})
			},
			tf:   strings.Replace(syncDocument, "{ LOG_LEVEL = var.log_level }", "{ LOG_LEVEL = var.log_level, GOOGLE_EMULATOR_URL = \"http://127.0.0.1:9\" }", 1),
			want: "google_cloudfunctions2_function.sync_document (SyncDocument) sets GOOGLE_EMULATOR_URL, which is for local runs only",
		},
		{
			name: "variable optional locally but required when deployed",
			code: func(c *code) {
				withSyncDocument(c)
				c.variables = append(c.variables, config.Variable{Name: "TOKEN_KEK_URI", Functions: []string{"SyncDocument"}})
			},
			tf:   syncDocument,
			want: "google_cloudfunctions2_function.sync_document (SyncDocument) does not set TOKEN_KEK_URI",
		},
		{
			name: "topic declared in the code but not created",
			code: func(c *code) { c.topics["TopicNew"] = "drivesync-new" },
			want: `config.TopicNew = "drivesync-new" has no google_pubsub_topic with that name`,
		},
		{
			name: "event function triggered by the wrong topic",
			code: withSyncDocument,
			tf:   strings.Replace(syncDocument, "google_pubsub_topic.copy_tasks.id", "google_pubsub_topic.copy_requests.id", 1),
			want: "SyncDocument is triggered by [drivesync-copy-requests efactori-document-events], want [drivesync-copy-tasks efactori-document-events]",
		},
		{
			name: "event trigger that gives up on failures",
			code: withSyncDocument,
			tf:   strings.Replace(syncDocument, "RETRY_POLICY_RETRY", "RETRY_POLICY_DO_NOT_RETRY", 1),
			want: `google_cloudfunctions2_function.sync_document: event_trigger.retry_policy is "RETRY_POLICY_DO_NOT_RETRY", want "RETRY_POLICY_RETRY"`,
		},
		{
			name: "event function reachable from the internet",
			code: withSyncDocument,
			tf:   strings.Replace(syncDocument, "ALLOW_INTERNAL_ONLY", "ALLOW_ALL", 1),
			want: `google_cloudfunctions2_function.sync_document (SyncDocument) has ingress_settings "ALLOW_ALL"`,
		},
		{
			name: "event function invokable by anyone",
			code: withSyncDocument,
			tf: syncDocument + `resource "google_cloud_run_service_iam_member" "sync_public" {
  service = google_cloudfunctions2_function.sync_document.name
  role    = "roles/run.invoker"
  member  = "allUsers"
}`,
			want: "google_cloud_run_service_iam_member.sync_public grants allUsers on SyncDocument",
		},
		{
			name: "Firestore index declared in the code but not created",
			code: func(c *code) {
				c.indexes = append(c.indexes, index{CollectionGroup: "mappings", QueryScope: "COLLECTION_GROUP",
					Fields: []indexField{{"state", "ASCENDING"}, {"updatedAt", "DESCENDING"}}})
			},
			want: "store.Indexes declares mappings (COLLECTION_GROUP) state ASCENDING, updatedAt DESCENDING, which no google_firestore_index creates",
		},
		{
			name: "Firestore index created but not declared",
			tf: `resource "google_firestore_index" "stale" {
  collection = "mappings"
  fields {
    field_path = "state"
    order      = "ASCENDING"
  }
  fields {
    field_path = "size"
    order      = "DESCENDING"
  }
  fields {
    field_path = "__name__"
    order      = "ASCENDING"
  }
}`,
			want: "google_firestore_index.stale creates mappings (COLLECTION) state ASCENDING, size DESCENDING, which store.Indexes does not declare",
		},
		{
			name: "single-field collection-group index declared in the code but not created",
			code: func(c *code) {
				c.indexes = append(c.indexes, index{CollectionGroup: "mappings", QueryScope: "COLLECTION_GROUP", Fields: []indexField{{"documentId", "ASCENDING"}}})
			},
			want: "store.Indexes declares mappings (COLLECTION_GROUP) documentId ASCENDING, which no google_firestore_field index_config creates",
		},
		{
			name: "single-field collection-group index created but not declared",
			tf: `resource "google_firestore_field" "stale" {
  collection = "mappings"
  field      = "documentId"
  index_config {
    indexes {
      order = "ASCENDING"
    }
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION_GROUP"
    }
  }
}`,
			want: "google_firestore_field.stale creates mappings (COLLECTION_GROUP) documentId ASCENDING, which store.Indexes does not declare",
		},
		{
			name: "TTL policy declared in the code but not set",
			code: func(c *code) { c.ttls = append(c.ttls, ttlPolicy{"locks", "expireAt"}) },
			want: "store.TTLPolicies declares a TTL on locks.expireAt, which no google_firestore_field ttl_config sets",
		},
		{
			name: "role outside the allow-list",
			code: withSyncDocument,
			tf: syncDocument + `resource "google_project_iam_member" "too_much" {
  for_each = toset(["roles/logging.logWriter", "roles/editor"])
  role     = each.value
  member   = google_service_account.sync_document.member
}`,
			want: "google_project_iam_member.too_much grants roles/editor to the service account of SyncDocument",
		},
		{
			name: "single-resource role granted project-wide",
			code: withSyncDocument,
			tf: syncDocument + `resource "google_project_iam_member" "all_secrets" {
  role   = "roles/secretmanager.secretAccessor"
  member = "serviceAccount:${google_service_account.sync_document.email}"
}`,
			want: "google_project_iam_member.all_secrets grants roles/secretmanager.secretAccessor to the service account of SyncDocument",
		},
		{
			name: "trigger account with more than invoker",
			code: withSyncDocument,
			tf: syncDocument + `resource "google_project_iam_member" "trigger_too_much" {
  role   = "roles/datastore.user"
  member = google_service_account.sync_document_trigger.member
}`,
			want: "google_project_iam_member.trigger_too_much grants roles/datastore.user to the trigger service account of SyncDocument",
		},
		{
			name: "secret mounted but not readable",
			code: withSyncDocument,
			tf: strings.Replace(syncDocument, "environment_variables = merge(", `secret_environment_variables {
      key    = "TOKEN_KEYSET"
      secret = google_secret_manager_secret.token_keyset.secret_id
    }
    environment_variables = merge(`, 1),
			want: "google_cloudfunctions2_function.sync_document mounts google_secret_manager_secret.token_keyset, which its service account cannot read",
		},
		{
			name: "secret readable but not mounted",
			code: withSyncDocument,
			tf: syncDocument + `resource "google_secret_manager_secret" "spare" {
  secret_id = "spare"
}
resource "google_secret_manager_secret_iam_member" "sync_document_spare" {
  secret_id = google_secret_manager_secret.spare.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.sync_document.member
}`,
			want: "the service account of SyncDocument may read google_secret_manager_secret.spare, which google_cloudfunctions2_function.sync_document does not mount",
		},
		{
			name: "two functions share a service account",
			code: func(c *code) {
				withSyncDocument(c)
				c.entryPoints["Bare"] = kindHTTP
			},
			tf: syncDocument + `resource "google_cloudfunctions2_function" "bare" {
  build_config {
    entry_point = "Bare"
  }
  service_config {
    service_account_email = google_service_account.sync_document.email
  }
}`,
			want: "google_service_account.sync_document runs both",
		},
		{
			name: "no scheduled reconcile",
			edit: func(fs map[string][]byte) { delete(fs, "scheduler.tf") },
			want: "no google_cloud_scheduler_job publishes the scheduled copy request to drivesync-copy-requests",
		},
		{
			name: "scheduler job publishing to another topic",
			edit: edit("scheduler.tf", "topic_name = google_pubsub_topic.copy_requests.id", "topic_name = google_pubsub_topic.copy_tasks.id"),
			want: "google_cloud_scheduler_job.reconcile publishes to [drivesync-copy-tasks], want [drivesync-copy-requests]",
		},
		{
			name: "scheduler job data that is not a scheduled copy request",
			edit: edit("scheduler.tf", "scheduled = true", "scheduled = false"),
			want: "google_cloud_scheduler_job.reconcile: pubsub_target.data is not a copy request",
		},
		{
			name: "scheduler job data the code cannot read",
			edit: edit("scheduler.tf", "schemaVersion = 1", "schemaVersion = 2"),
			want: "google_cloud_scheduler_job.reconcile: pubsub_target.data is not a copy request",
		},
		{
			name: "scheduler job data from a variable",
			edit: edit("scheduler.tf", "jsonencode({ schemaVersion = 1, scheduled = true })", "var.reconcile_schedule"),
			want: "google_cloud_scheduler_job.reconcile: pubsub_target.data must be a literal",
		},
		{
			name: "scheduler cannot publish",
			edit: edit("scheduler.tf", `resource "google_pubsub_topic_iam_member" "scheduler_publisher" {
  topic  = google_pubsub_topic.copy_requests.id`, `resource "google_pubsub_topic_iam_member" "scheduler_publisher" {
  topic  = google_pubsub_topic.dead_letter.id`),
			want: "Cloud Scheduler's service agent is not granted roles/pubsub.publisher on drivesync-copy-requests",
		},
		{
			name: "scheduler publishing project-wide",
			tf: `resource "google_project_iam_member" "scheduler_everywhere" {
  role   = "roles/pubsub.publisher"
  member = local.scheduler_service_agent
}`,
			want: "google_project_iam_member.scheduler_everywhere grants roles/pubsub.publisher to Cloud Scheduler's service agent",
		},
		{
			name: "scheduler granted more than publish",
			tf: `resource "google_pubsub_topic_iam_member" "scheduler_admin" {
  topic  = google_pubsub_topic.copy_requests.id
  role   = "roles/pubsub.editor"
  member = "serviceAccount:service-1@gcp-sa-cloudscheduler.iam.gserviceaccount.com"
}`,
			want: "google_pubsub_topic_iam_member.scheduler_admin grants roles/pubsub.editor to Cloud Scheduler's service agent",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := base.clone()
			if tt.code != nil {
				tt.code(&c)
			}
			fs := files
			if tt.edit != nil {
				fs = maps.Clone(files)
				tt.edit(fs)
			}
			if tt.tf != "" {
				fs = withFile(fs, "zz_case.tf", tt.tf)
			}
			tf, err := parseTerraform(fs)
			if err != nil {
				t.Fatal(err)
			}
			got := check(c, tf)
			if tt.clean {
				if extra := without(got, baseProblems); len(extra) > 0 {
					t.Errorf("unexpected problems:\n%s", strings.Join(extra, "\n"))
				}
				return
			}
			if has(baseProblems, tt.want) {
				t.Fatalf("the unchanged configuration already has the problem %q", tt.want)
			}
			if !has(got, tt.want) {
				t.Errorf("no problem contains %q; got:\n%s", tt.want, strings.Join(got, "\n"))
			}
		})
	}
}

func withFile(files map[string][]byte, name, content string) map[string][]byte {
	out := make(map[string][]byte, len(files)+1)
	for k, v := range files {
		out[k] = v
	}
	out[name] = []byte(content)
	return out
}

func has(problems []string, want string) bool {
	return slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) })
}

func without(problems, known []string) []string {
	var out []string
	for _, p := range problems {
		if !slices.Contains(known, p) {
			out = append(out, p)
		}
	}
	return out
}

// ---- What the code declares -------------------------------------------------------------------

type index struct {
	CollectionGroup string
	QueryScope      string // COLLECTION or COLLECTION_GROUP
	Fields          []indexField
}

type indexField struct {
	Path  string
	Order string // ASCENDING, DESCENDING or ARRAY_CONTAINS
}

func (ix index) String() string {
	fields := make([]string, len(ix.Fields))
	for i, f := range ix.Fields {
		fields[i] = f.Path + " " + f.Order
	}
	return fmt.Sprintf("%s (%s) %s", ix.CollectionGroup, ix.QueryScope, strings.Join(fields, ", "))
}

type code struct {
	entryPoints map[string]string // entry point → kindHTTP or kindCloudEvent
	variables   []config.Variable
	topics      map[string]string // constant name in shared/config → topic name
	indexes     []index           // store.Indexes
	ttls        []ttlPolicy       // store.TTLPolicies
	runtime     string
}

type ttlPolicy struct{ CollectionGroup, Field string }

func (c code) clone() code {
	out := c
	out.entryPoints = make(map[string]string)
	for k, v := range c.entryPoints {
		out.entryPoints[k] = v
	}
	out.topics = make(map[string]string)
	for k, v := range c.topics {
		out.topics[k] = v
	}
	out.variables = slices.Clone(c.variables)
	out.indexes = slices.Clone(c.indexes)
	out.ttls = slices.Clone(c.ttls)
	return out
}

// goPackage is the parsed non-test files of one package directory and its string constants.
type goPackage struct {
	files  []*ast.File
	consts map[string]string
}

func parsePackage(dir string) (*goPackage, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	pkg := &goPackage{consts: map[string]string{}}
	exprs := map[string]ast.Expr{}
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		pkg.files = append(pkg.files, f)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						exprs[n.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	if len(pkg.files) == 0 {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	// Constants defined from other constants resolve in as many passes as the chain is long.
	for range len(exprs) + 1 {
		for name, e := range exprs {
			if v, err := pkg.str(e); err == nil {
				pkg.consts[name] = v
			}
		}
	}
	return pkg, nil
}

// str evaluates a string literal or a constant of the package.
func (pkg *goPackage) str(e ast.Expr) (string, error) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			return strconv.Unquote(e.Value)
		}
	case *ast.Ident:
		if v, ok := pkg.consts[e.Name]; ok {
			return v, nil
		}
	case *ast.ParenExpr:
		return pkg.str(e.X)
	case *ast.CallExpr: // a conversion to a string type, Name("x")
		if len(e.Args) == 1 {
			return pkg.str(e.Args[0])
		}
	}
	return "", fmt.Errorf("%T is not a string literal or constant", e)
}

func loadCode(root string) (code, error) {
	c := code{entryPoints: map[string]string{}, topics: map[string]string{}, variables: config.Variables}
	cfg, err := parsePackage(filepath.Join(root, "shared", "config"))
	if err != nil {
		return c, err
	}
	for name, v := range cfg.consts {
		if strings.HasPrefix(name, "Topic") {
			c.topics[name] = v
		}
	}
	if c.entryPoints, err = entryPoints(root, cfg); err != nil {
		return c, err
	}
	if len(c.entryPoints) == 0 {
		return c, errors.New("drivesync.go registers no entry point that this test can read")
	}
	for _, ix := range store.Indexes {
		i := index{CollectionGroup: ix.CollectionGroup, QueryScope: normalScope(ix.QueryScope)}
		for _, f := range ix.Fields {
			i.Fields = append(i.Fields, indexField{Path: f.Path, Order: normalOrder(f.Order)})
		}
		c.indexes = append(c.indexes, i)
	}
	for _, p := range store.TTLPolicies {
		c.ttls = append(c.ttls, ttlPolicy{p.CollectionGroup, p.Field})
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return c, err
	}
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindSubmatch(mod)
	if m == nil {
		return c, errors.New("go.mod has no go directive")
	}
	c.runtime = "go" + string(m[1]) + string(m[2])
	return c, nil
}

// entryPoints reads the functions.HTTP and functions.CloudEvent calls of the root package.
func entryPoints(root string, cfg *goPackage) (map[string]string, error) {
	pkg, err := parsePackage(root)
	if err != nil {
		return nil, err
	}
	const (
		frameworkPath = "github.com/GoogleCloudPlatform/functions-framework-go/functions"
		configPath    = "github.com/efactori/drivesync/shared/config"
	)
	out := map[string]string{}
	var errs []error
	for _, f := range pkg.files {
		names := map[string]string{} // import name in this file → path
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = p
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || names[x.Name] != frameworkPath {
				return true
			}
			kind := map[string]string{"HTTP": kindHTTP, "CloudEvent": kindCloudEvent, "Typed": kindHTTP}[sel.Sel.Name]
			if kind == "" || len(call.Args) == 0 {
				return true
			}
			var name string
			var err error
			switch a := call.Args[0].(type) {
			case *ast.SelectorExpr:
				if x, ok := a.X.(*ast.Ident); ok && names[x.Name] == configPath {
					var found bool
					if name, found = cfg.consts[a.Sel.Name]; !found {
						err = fmt.Errorf("config.%s is not a string constant", a.Sel.Name)
					}
				} else {
					err = fmt.Errorf("cannot resolve the entry point name %s.%s", a.X, a.Sel.Name)
				}
			default:
				name, err = pkg.str(a)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("drivesync.go: functions.%s: %w", sel.Sel.Name, err))
				return true
			}
			if prev, dup := out[name]; dup {
				errs = append(errs, fmt.Errorf("drivesync.go registers %q twice (%s and %s)", name, prev, kind))
			}
			out[name] = kind
			return true
		})
	}
	return out, errors.Join(errs...)
}

func normalScope(s string) string {
	switch strings.ToUpper(strings.ReplaceAll(s, "_", "")) {
	case "", "COLLECTION":
		return "COLLECTION"
	case "COLLECTIONGROUP":
		return "COLLECTION_GROUP"
	}
	return s
}

func normalOrder(s string) string {
	switch strings.ToUpper(strings.ReplaceAll(s, "_", "")) {
	case "ASC", "ASCENDING":
		return "ASCENDING"
	case "DESC", "DESCENDING":
		return "DESCENDING"
	case "CONTAINS", "ARRAYCONTAINS":
		return "ARRAY_CONTAINS"
	}
	return s
}

// ---- What Terraform declares ------------------------------------------------------------------

type terraform struct {
	resources map[string]map[string]*hclsyntax.Block // type → name → block
	data      map[string]map[string]bool             // data source type → name
	variables map[string]bool
	locals    map[string]hclsyntax.Expression
	blocks    []*hclsyntax.Block // every top-level block
}

func readTerraform(dir string) (map[string][]byte, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no .tf files in %s", dir)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(p)] = b
	}
	return out, nil
}

func parseTerraform(files map[string][]byte) (*terraform, error) {
	tf := &terraform{
		resources: map[string]map[string]*hclsyntax.Block{},
		data:      map[string]map[string]bool{},
		variables: map[string]bool{},
		locals:    map[string]hclsyntax.Expression{},
	}
	p := hclparse.NewParser()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		f, diags := p.ParseHCL(files[name], name)
		if diags.HasErrors() {
			return nil, diags
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			tf.blocks = append(tf.blocks, b)
			switch {
			case b.Type == "data" && len(b.Labels) == 2:
				if tf.data[b.Labels[0]] == nil {
					tf.data[b.Labels[0]] = map[string]bool{}
				}
				tf.data[b.Labels[0]][b.Labels[1]] = true
			case b.Type == "variable" && len(b.Labels) == 1:
				tf.variables[b.Labels[0]] = true
			case b.Type == "resource" && len(b.Labels) == 2:
				if tf.resources[b.Labels[0]] == nil {
					tf.resources[b.Labels[0]] = map[string]*hclsyntax.Block{}
				}
				if _, dup := tf.resources[b.Labels[0]][b.Labels[1]]; dup {
					return nil, fmt.Errorf("%s: resource %s.%s is declared twice", name, b.Labels[0], b.Labels[1])
				}
				tf.resources[b.Labels[0]][b.Labels[1]] = b
			case b.Type == "locals":
				for n, a := range b.Body.Attributes {
					tf.locals[n] = a.Expr
				}
			}
		}
	}
	return tf, nil
}

func attr(b *hclsyntax.Block, name string) hclsyntax.Expression {
	if b == nil {
		return nil
	}
	if a, ok := b.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

func blocks(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	if b == nil {
		return nil
	}
	var out []*hclsyntax.Block
	for _, c := range b.Body.Blocks {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

func block(b *hclsyntax.Block, typ string) *hclsyntax.Block {
	if bs := blocks(b, typ); len(bs) > 0 {
		return bs[0]
	}
	return nil
}

// literal is the value of an expression that is a constant string.
func literal(e hclsyntax.Expression) (string, bool) {
	if e == nil || len(e.Variables()) > 0 {
		return "", false
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

// refs returns the names of the resources of type typ an expression refers to, through locals.
func (tf *terraform) refs(e hclsyntax.Expression, typ string) []string {
	out := map[string]bool{}
	tf.collectRefs(e, typ, map[string]bool{}, out)
	return sortedKeys(out)
}

func (tf *terraform) collectRefs(e hclsyntax.Expression, typ string, seen, out map[string]bool) {
	if e == nil {
		return
	}
	for _, tr := range e.Variables() {
		if len(tr) < 2 {
			continue
		}
		a, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		switch tr.RootName() {
		case typ:
			out[a.Name] = true
		case "local":
			if !seen[a.Name] {
				seen[a.Name] = true
				tf.collectRefs(tf.locals[a.Name], typ, seen, out)
			}
		}
	}
}

// blockRefs is refs over every attribute of a block and its nested blocks.
func (tf *terraform) blockRefs(b *hclsyntax.Block, typ string) []string {
	out := map[string]bool{}
	var walk func(b *hclsyntax.Block)
	walk = func(b *hclsyntax.Block) {
		for _, a := range b.Body.Attributes {
			tf.collectRefs(a.Expr, typ, map[string]bool{}, out)
		}
		for _, c := range b.Body.Blocks {
			walk(c)
		}
	}
	walk(b)
	return sortedKeys(out)
}

// topics names the Pub/Sub topics an expression designates: a literal ID or name, or
// google_pubsub_topic resources (through locals), by their name.
func (tf *terraform) topics(e hclsyntax.Expression) []string {
	if s, ok := literal(e); ok {
		return []string{s[strings.LastIndex(s, "/")+1:]}
	}
	var out []string
	for _, r := range tf.refs(e, "google_pubsub_topic") {
		if n, ok := literal(attr(tf.resources["google_pubsub_topic"][r], "name")); ok {
			out = append(out, n)
		}
	}
	return out
}

// mentions reports whether a literal part of an expression (through locals, templates and
// lists) contains s: how an IAM member built from the project number is recognised.
func (tf *terraform) mentions(e hclsyntax.Expression, s string) bool {
	return tf.mentionsSeen(e, s, map[string]bool{})
}

func (tf *terraform) mentionsSeen(e hclsyntax.Expression, s string, seen map[string]bool) bool {
	switch e := e.(type) {
	case *hclsyntax.LiteralValueExpr:
		return e.Val.Type() == cty.String && !e.Val.IsNull() && strings.Contains(e.Val.AsString(), s)
	case *hclsyntax.TemplateExpr:
		for _, p := range e.Parts {
			if tf.mentionsSeen(p, s, seen) {
				return true
			}
		}
	case *hclsyntax.TemplateWrapExpr:
		return tf.mentionsSeen(e.Wrapped, s, seen)
	case *hclsyntax.TupleConsExpr:
		for _, x := range e.Exprs {
			if tf.mentionsSeen(x, s, seen) {
				return true
			}
		}
	case *hclsyntax.ScopeTraversalExpr:
		if e.Traversal.RootName() == "local" && len(e.Traversal) == 2 {
			name := e.Traversal[1].(hcl.TraverseAttr).Name
			if !seen[name] {
				seen[name] = true
				return tf.mentionsSeen(tf.locals[name], s, seen)
			}
		}
	}
	return false
}

// literalFunctions are the Terraform functions a literal message body may use, as Terraform
// defines them.
var literalFunctions = map[string]ctyfunc.Function{
	"jsonencode": stdlib.JSONEncodeFunc,
	"base64encode": ctyfunc.New(&ctyfunc.Spec{
		Params: []ctyfunc.Parameter{{Name: "str", Type: cty.String}},
		Type:   ctyfunc.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(args[0].AsString()))), nil
		},
	}),
}

// base64Literal evaluates a constant base64 string (a literal or base64encode(jsonencode(…)) of
// literals) and decodes it.
func base64Literal(e hclsyntax.Expression) ([]byte, error) {
	if e == nil {
		return nil, errors.New("not set")
	}
	if len(e.Variables()) > 0 {
		return nil, errors.New("it refers to variables, locals or resources")
	}
	v, diags := e.Value(&hcl.EvalContext{Functions: literalFunctions})
	if diags.HasErrors() {
		return nil, diags
	}
	if !v.IsWhollyKnown() || v.IsNull() || v.Type() != cty.String {
		return nil, errors.New("not a string")
	}
	return base64.StdEncoding.DecodeString(v.AsString())
}

// keys lists the keys of a map expression: an object literal, merge() of such, or a local.
func (tf *terraform) keys(e hclsyntax.Expression, seen map[string]bool) ([]string, error) {
	switch e := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		var out []string
		for _, it := range e.Items {
			k, diags := it.KeyExpr.Value(nil)
			if diags.HasErrors() || k.Type() != cty.String {
				return nil, fmt.Errorf("a key at %s is not a literal name", it.KeyExpr.Range())
			}
			out = append(out, k.AsString())
		}
		return out, nil
	case *hclsyntax.FunctionCallExpr:
		if e.Name != "merge" {
			break
		}
		var out []string
		for _, a := range e.Args {
			ks, err := tf.keys(a, seen)
			if err != nil {
				return nil, err
			}
			out = append(out, ks...)
		}
		return out, nil
	case *hclsyntax.ScopeTraversalExpr:
		if e.Traversal.RootName() != "local" || len(e.Traversal) != 2 {
			break
		}
		name := e.Traversal[1].(hcl.TraverseAttr).Name
		if seen[name] || tf.locals[name] == nil {
			break
		}
		seen[name] = true
		return tf.keys(tf.locals[name], seen)
	}
	return nil, fmt.Errorf("cannot read the keys of the expression at %s: use an object literal, merge() or a local", e.Range())
}

// roles lists the roles an IAM resource grants: a literal role, or each.value / each.key over a
// literal for_each.
func (tf *terraform) roles(b *hclsyntax.Block) ([]string, error) {
	e := attr(b, "role")
	if s, ok := literal(e); ok {
		return []string{s}, nil
	}
	st, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || st.Traversal.RootName() != "each" || len(st.Traversal) != 2 {
		return nil, errors.New("role is neither a literal nor each.value")
	}
	fe := attr(b, "for_each")
	if call, ok := fe.(*hclsyntax.FunctionCallExpr); ok && call.Name == "toset" && len(call.Args) == 1 {
		fe = call.Args[0]
	}
	if len(fe.Variables()) > 0 {
		return nil, errors.New("for_each is not a literal")
	}
	v, diags := fe.Value(nil)
	if diags.HasErrors() || !v.CanIterateElements() {
		return nil, errors.New("for_each is not a literal list, set or map")
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		if st.Traversal[1].(hcl.TraverseAttr).Name == "key" && k.Type() == cty.String {
			val = k
		}
		if val.Type() != cty.String {
			return nil, errors.New("for_each holds something other than strings")
		}
		out = append(out, val.AsString())
	}
	return out, nil
}

// eachRefs is refs of a block's attribute, or of its for_each when the attribute is each.key or
// each.value.
func (tf *terraform) eachRefs(b *hclsyntax.Block, name, typ string) []string {
	e := attr(b, name)
	if st, ok := e.(*hclsyntax.ScopeTraversalExpr); ok && st.Traversal.RootName() == "each" {
		e = attr(b, "for_each")
	}
	return tf.refs(e, typ)
}

// undefinedRefs lists the references of every block that name nothing declared.
func (tf *terraform) undefinedRefs() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		for _, a := range b.Attributes {
			for _, tr := range a.Expr.Variables() {
				if len(tr) < 2 {
					continue
				}
				next, ok := tr[1].(hcl.TraverseAttr)
				if !ok {
					continue
				}
				var found bool
				switch root := tr.RootName(); root {
				case "var":
					found = tf.variables[next.Name]
				case "local":
					_, found = tf.locals[next.Name]
				case "data":
					if len(tr) > 2 {
						if n, ok := tr[2].(hcl.TraverseAttr); ok {
							found = tf.data[next.Name][n.Name]
						}
					}
				case "each", "count", "path", "self", "terraform":
					found = true
				default:
					_, found = tf.resources[root][next.Name]
				}
				if r := tr.SourceRange(); !found && !seen[r.String()] {
					seen[r.String()] = true
					out = append(out, fmt.Sprintf("%s: reference to an undeclared %s", r, strings.TrimSuffix(tr.RootName()+"."+next.Name, ".")))
				}
			}
		}
		for _, c := range b.Blocks {
			if c.Type != "lifecycle" { // ignore_changes names attributes, not objects
				walk(c.Body)
			}
		}
	}
	for _, b := range tf.blocks {
		walk(b.Body)
	}
	return out
}

// ---- The check --------------------------------------------------------------------------------

type function struct {
	addr       string // google_cloudfunctions2_function.name
	name       string
	entryPoint string
	block      *hclsyntax.Block
}

// checker compares one code declaration with one Terraform configuration.
type checker struct {
	code      code
	tf        *terraform
	problems  []string
	functions []function        // the functions whose entry point is registered
	runtimeSA map[string]string // google_service_account name → entry point it runs
	triggerSA map[string]string // google_service_account name → entry point it triggers
	mounts    map[string][]string
}

func (c *checker) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// check lists every disagreement between the code and the Terraform configuration.
func check(cd code, tf *terraform) []string {
	c := &checker{code: cd, tf: tf, runtimeSA: map[string]string{}, triggerSA: map[string]string{}, mounts: map[string][]string{}}
	c.entryPoints()
	extra := c.eventarcTopics()
	for _, f := range c.functions {
		c.trigger(f, extra[f.name])
		c.environment(f)
		c.serviceAccount(f)
	}
	for sa, ep := range c.triggerSA {
		if other, dup := c.runtimeSA[sa]; dup {
			c.fail("google_service_account.%s both runs %s and triggers %s; a trigger needs its own account", sa, other, ep)
		}
	}
	c.topics()
	c.scheduler()
	c.firestore()
	c.iam()
	return c.problems
}

// entryPoints matches the registered entry points with the functions deploying them.
func (c *checker) entryPoints() {
	byEntryPoint := map[string][]function{}
	for _, name := range sortedKeys(c.tf.resources["google_cloudfunctions2_function"]) {
		b := c.tf.resources["google_cloudfunctions2_function"][name]
		f := function{addr: "google_cloudfunctions2_function." + name, name: name, block: b}
		bc := block(b, "build_config")
		ep, ok := literal(attr(bc, "entry_point"))
		if !ok {
			c.fail("%s: build_config.entry_point must be a literal string", f.addr)
			continue
		}
		f.entryPoint = ep
		if rt, _ := literal(attr(bc, "runtime")); attr(bc, "runtime") != nil && rt != c.code.runtime {
			c.fail("%s: build_config.runtime is %q, want %q (go.mod's go version)", f.addr, rt, c.code.runtime)
		}
		if _, registered := c.code.entryPoints[ep]; !registered {
			c.fail("%s has entry_point %q, which drivesync.go does not register", f.addr, ep)
			continue
		}
		byEntryPoint[ep] = append(byEntryPoint[ep], f)
		c.functions = append(c.functions, f)
	}
	for _, ep := range sortedKeys(c.code.entryPoints) {
		switch fs := byEntryPoint[ep]; len(fs) {
		case 0:
			c.fail("entry point %q (%s, registered in drivesync.go) has no google_cloudfunctions2_function with entry_point = %q", ep, c.code.entryPoints[ep], ep)
		case 1:
		default:
			var addrs []string
			for _, f := range fs {
				addrs = append(addrs, f.addr)
			}
			c.fail("entry point %q is deployed by more than one function: %s", ep, strings.Join(addrs, ", "))
		}
	}
}

// eventarcTopics lists, by function resource name, the topics of the google_eventarc_triggers
// whose destination is that function: the way one function handles a second topic.
func (c *checker) eventarcTopics() map[string][]string {
	out := map[string][]string{}
	for _, name := range sortedKeys(c.tf.resources["google_eventarc_trigger"]) {
		b := c.tf.resources["google_eventarc_trigger"][name]
		topics := c.tf.topics(attr(block(block(b, "transport"), "pubsub"), "topic"))
		for _, fn := range c.tf.blockRefs(block(b, "destination"), "google_cloudfunctions2_function") {
			out[fn] = append(out[fn], topics...)
		}
	}
	return out
}

// trigger checks a function's kind, event trigger and ingress.
func (c *checker) trigger(f function, extraTopics []string) {
	kind := c.code.entryPoints[f.entryPoint]
	triggersOf := blocks(f.block, "event_trigger")
	switch {
	case kind == kindCloudEvent && len(triggersOf) != 1, kind == kindHTTP && len(triggersOf) != 0:
		c.fail("%s deploys the %s entry point %s but has %d event_trigger blocks", f.addr, kind, f.entryPoint, len(triggersOf))
	case kind == kindCloudEvent:
		et := triggersOf[0]
		if got, _ := literal(attr(et, "event_type")); got != pubsubEvent {
			c.fail("%s: event_trigger.event_type is %q, want %q", f.addr, got, pubsubEvent)
		}
		if got, _ := literal(attr(et, "retry_policy")); got != "RETRY_POLICY_RETRY" {
			c.fail("%s: event_trigger.retry_policy is %q, want \"RETRY_POLICY_RETRY\" so a failed delivery is retried and finally dead-lettered", f.addr, got)
		}
		sas := c.tf.refs(attr(et, "service_account_email"), "google_service_account")
		if len(sas) != 1 {
			c.fail("%s: event_trigger.service_account_email must name one google_service_account", f.addr)
		}
		for _, sa := range sas {
			c.triggerSA[sa] = f.entryPoint
		}
		want, known := triggers[f.entryPoint]
		if !known {
			c.fail("%s: add the topics that trigger %s to triggers in terraform/drift_test.go", f.addr, f.entryPoint)
			break
		}
		got := append(c.tf.topics(attr(et, "pubsub_topic")), extraTopics...)
		if !sameSet(got, want) {
			c.fail("%s: %s is triggered by %v, want %v", f.addr, f.entryPoint, sortedSet(got), sortedSet(want))
		}
	}
	sc := block(f.block, "service_config")
	if ingress, _ := literal(attr(sc, "ingress_settings")); !publicFunctions[f.entryPoint] && ingress != "ALLOW_INTERNAL_ONLY" {
		c.fail("%s (%s) has ingress_settings %q; only browser-facing functions may take traffic from the internet, want \"ALLOW_INTERNAL_ONLY\"", f.addr, f.entryPoint, ingress)
	}
}

// environment checks a function's variables against config.Variables.
func (c *checker) environment(f function) {
	sc := block(f.block, "service_config")
	set := map[string]bool{}    // plain and secret
	secret := map[string]bool{} // from Secret Manager
	if e := attr(sc, "environment_variables"); e != nil {
		ks, err := c.tf.keys(e, map[string]bool{})
		if err != nil {
			c.fail("%s: service_config.environment_variables: %v", f.addr, err)
		}
		for _, k := range ks {
			set[k] = true
		}
	}
	for _, s := range blocks(sc, "secret_environment_variables") {
		k, ok := literal(attr(s, "key"))
		if !ok {
			c.fail("%s: secret_environment_variables.key must be a literal", f.addr)
		}
		set[k], secret[k] = true, true
		secrets := c.tf.refs(attr(s, "secret"), "google_secret_manager_secret")
		if len(secrets) != 1 {
			c.fail("%s: secret_environment_variables %s must name one google_secret_manager_secret", f.addr, k)
		}
		c.mounts[f.entryPoint] = append(c.mounts[f.entryPoint], secrets...)
	}
	declared := map[string]bool{}
	for _, v := range c.code.variables {
		if !slices.Contains(v.Functions, f.entryPoint) {
			continue
		}
		declared[v.Name] = true
		switch {
		case (v.Required || slices.Contains(deployedRequired, v.Name)) && !set[v.Name]:
			c.fail("%s (%s) does not set %s, which config.Variables declares required", f.addr, f.entryPoint, v.Name)
		case v.Secret && set[v.Name] && !secret[v.Name]:
			c.fail("%s (%s) sets the secret %s as a plain variable; use secret_environment_variables", f.addr, f.entryPoint, v.Name)
		case slices.Contains(localOnly, v.Name) && set[v.Name]:
			c.fail("%s (%s) sets %s, which is for local runs only", f.addr, f.entryPoint, v.Name)
		}
	}
	for _, k := range sortedKeys(set) {
		if !declared[k] {
			c.fail("%s sets %s, which config.Variables does not declare for %s", f.addr, k, f.entryPoint)
		}
	}
}

// serviceAccount checks that a function runs as an account of its own.
func (c *checker) serviceAccount(f function) {
	sas := c.tf.refs(attr(block(f.block, "service_config"), "service_account_email"), "google_service_account")
	if len(sas) != 1 {
		c.fail("%s (%s) must run as its own google_service_account (service_config.service_account_email)", f.addr, f.entryPoint)
		return
	}
	if other, dup := c.runtimeSA[sas[0]]; dup {
		c.fail("google_service_account.%s runs both %s and %s; give each function its own", sas[0], other, f.entryPoint)
	}
	c.runtimeSA[sas[0]] = f.entryPoint
}

// topics checks that every topic the code names is created.
func (c *checker) topics() {
	names := map[string]bool{}
	for _, b := range c.tf.resources["google_pubsub_topic"] {
		if n, ok := literal(attr(b, "name")); ok {
			names[n] = true
		}
	}
	for _, name := range sortedKeys(c.code.topics) {
		if !names[c.code.topics[name]] {
			c.fail("config.%s = %q has no google_pubsub_topic with that name", name, c.code.topics[name])
		}
	}
}

// scheduler checks the Cloud Scheduler jobs: each publishes, to schedulerTopic, a message that
// shared/drivesync decodes as the scheduled copy request, and one of them exists. Cloud Scheduler
// publishes as its service agent, which must be granted publishing on that topic; what the agent
// is granted is checked with the other IAM in iam.
func (c *checker) scheduler() {
	var found bool
	for _, name := range sortedKeys(c.tf.resources["google_cloud_scheduler_job"]) {
		addr := "google_cloud_scheduler_job." + name
		b := c.tf.resources["google_cloud_scheduler_job"][name]
		pt := block(b, "pubsub_target")
		if pt == nil {
			c.fail("%s has no pubsub_target; drivesync's scheduled work starts with a copy request on %s", addr, schedulerTopic)
			continue
		}
		if got := c.tf.topics(attr(pt, "topic_name")); !sameSet(got, []string{schedulerTopic}) {
			c.fail("%s publishes to %v, want [%s]", addr, sortedSet(got), schedulerTopic)
			continue
		}
		data, err := base64Literal(attr(pt, "data"))
		if err != nil {
			c.fail("%s: pubsub_target.data must be a literal (base64encode(jsonencode({…}))): %v", addr, err)
			continue
		}
		r, err := drivesync.DecodeCopyRequest(data)
		if err != nil || !r.Scheduled {
			c.fail("%s: pubsub_target.data is not a copy request that shared/drivesync decodes as scheduled (%s): %v", addr, data, err)
			continue
		}
		found = true
	}
	if !found {
		c.fail("no google_cloud_scheduler_job publishes the scheduled copy request to %s: nothing starts the reconcile runs", schedulerTopic)
	}
	var canPublish bool
	for _, name := range sortedKeys(c.tf.resources["google_pubsub_topic_iam_member"]) {
		b := c.tf.resources["google_pubsub_topic_iam_member"][name]
		if role, _ := literal(attr(b, "role")); role == "roles/pubsub.publisher" && c.tf.mentions(attr(b, "member"), schedulerAgent) &&
			slices.Contains(c.tf.topics(attr(b, "topic")), schedulerTopic) {
			canPublish = true
		}
	}
	if found && !canPublish {
		c.fail("Cloud Scheduler's service agent is not granted roles/pubsub.publisher on %s (google_pubsub_topic_iam_member)", schedulerTopic)
	}
}

// schedulerGrant checks one grant to Cloud Scheduler's service agent: publishing on
// schedulerTopic, nothing else and nowhere else.
func (c *checker) schedulerGrant(addr, typ string, b *hclsyntax.Block, roles []string) {
	for _, r := range roles {
		if typ != "google_pubsub_topic_iam_member" || r != "roles/pubsub.publisher" {
			c.fail("%s grants %s to Cloud Scheduler's service agent; it may only hold roles/pubsub.publisher on %s (google_pubsub_topic_iam_member)", addr, r, schedulerTopic)
			continue
		}
		if got := c.tf.topics(attr(b, "topic")); !sameSet(got, []string{schedulerTopic}) {
			c.fail("%s lets Cloud Scheduler's service agent publish to %v; it publishes only to %s", addr, sortedSet(got), schedulerTopic)
		}
	}
}

// firestore compares store.Indexes and store.TTLPolicies with what Terraform creates. Composite
// indexes are google_firestore_index resources; a one-field (collection-group) index is an
// override in a google_firestore_field, as is a TTL policy.
func (c *checker) firestore() {
	want := map[string]bool{}
	for _, ix := range c.code.indexes {
		want[ix.String()] = true
	}
	got := map[string]bool{}
	for _, name := range sortedKeys(c.tf.resources["google_firestore_index"]) {
		addr := "google_firestore_index." + name
		ix, err := tfIndex(c.tf.resources["google_firestore_index"][name])
		if err != nil {
			c.fail("%s: %v", addr, err)
			continue
		}
		if len(ix.Fields) < 2 {
			c.fail("%s has one field; Firestore only accepts that as a google_firestore_field index_config", addr)
		}
		got[ix.String()] = true
		if !want[ix.String()] {
			c.fail("%s creates %s, which store.Indexes does not declare", addr, ix)
		}
	}
	ttls := map[ttlPolicy]bool{}
	for _, name := range sortedKeys(c.tf.resources["google_firestore_field"]) {
		addr := "google_firestore_field." + name
		b := c.tf.resources["google_firestore_field"][name]
		collection, ok1 := literal(attr(b, "collection"))
		field, ok2 := literal(attr(b, "field"))
		if !ok1 || !ok2 {
			c.fail("%s: collection and field must be literals", addr)
			continue
		}
		if block(b, "ttl_config") != nil {
			p := ttlPolicy{collection, field}
			ttls[p] = true
			if !slices.Contains(c.code.ttls, p) {
				c.fail("%s sets a TTL on %s.%s, which store.TTLPolicies does not declare", addr, collection, field)
			}
		}
		for _, ib := range blocks(block(b, "index_config"), "indexes") {
			scope, _ := literal(attr(ib, "query_scope"))
			order, _ := literal(attr(ib, "order"))
			if ac, ok := literal(attr(ib, "array_config")); ok && ac == "CONTAINS" {
				order = "ARRAY_CONTAINS"
			}
			ix := index{CollectionGroup: collection, QueryScope: normalScope(scope), Fields: []indexField{{field, normalOrder(order)}}}
			if ix.QueryScope == "COLLECTION" {
				continue // what Firestore creates on its own anyway, restated by the override
			}
			got[ix.String()] = true
			if !want[ix.String()] {
				c.fail("%s creates %s, which store.Indexes does not declare", addr, ix)
			}
		}
	}
	for _, ix := range c.code.indexes {
		if !got[ix.String()] {
			res := "google_firestore_index"
			if len(ix.Fields) == 1 {
				res = "google_firestore_field index_config"
			}
			c.fail("store.Indexes declares %s, which no %s creates", ix, res)
		}
	}
	for _, p := range c.code.ttls {
		if !ttls[p] {
			c.fail("store.TTLPolicies declares a TTL on %s.%s, which no google_firestore_field ttl_config sets", p.CollectionGroup, p.Field)
		}
	}
}

// iam checks every grant to a function's or a trigger's account against its allow-list, that a
// function can read exactly the secrets it mounts, and who may invoke what publicly.
func (c *checker) iam() {
	readable := map[string][]string{} // entry point → secrets its account may read
	for _, typ := range sortedKeys(c.tf.resources) {
		isMember, isBinding := strings.HasSuffix(typ, "_iam_member"), strings.HasSuffix(typ, "_iam_binding")
		if !isMember && !isBinding && !strings.HasSuffix(typ, "_iam_policy") {
			continue
		}
		for _, name := range sortedKeys(c.tf.resources[typ]) {
			b := c.tf.resources[typ][name]
			addr := typ + "." + name
			if !isMember && !isBinding {
				if len(c.tf.blockRefs(b, "google_service_account")) > 0 || len(c.tf.blockRefs(b, "google_cloudfunctions2_function")) > 0 {
					c.fail("%s: use _iam_member resources for drivesync's accounts and functions; an _iam_policy cannot be checked", addr)
				}
				continue
			}
			members := attr(b, "member")
			if isBinding {
				members = attr(b, "members")
			}
			roles, err := c.tf.roles(b)
			sas := c.tf.refs(members, "google_service_account")
			agent := c.tf.mentions(members, schedulerAgent)
			if err != nil && (len(sas) > 0 || agent) {
				c.fail("%s: %v", addr, err)
			}
			if agent {
				c.schedulerGrant(addr, typ, b, roles)
			}
			for _, sa := range sas {
				ep, isRuntime := c.runtimeSA[sa]
				allowed, who := allowedGrants[ep], "the service account of "+ep
				if tep, ok := c.triggerSA[sa]; ok {
					allowed, who = triggerGrants, "the trigger service account of "+tep
				} else if !isRuntime {
					continue // not a function's account (the builder, for example)
				} else if _, ok := allowedGrants[ep]; !ok {
					c.fail("%s: add an allow-list for %s to allowedGrants in terraform/drift_test.go", addr, ep)
					continue
				}
				for _, r := range roles {
					if !slices.Contains(allowed, typ+" "+r) {
						c.fail("%s grants %s to %s (google_service_account.%s), outside its allow-list in terraform/drift_test.go", addr, r, who, sa)
					}
				}
				if isRuntime && typ == "google_secret_manager_secret_iam_member" {
					readable[ep] = append(readable[ep], c.tf.eachRefs(b, "secret_id", "google_secret_manager_secret")...)
				}
			}
			c.public(addr, b, members)
		}
	}
	for _, f := range c.functions {
		mounts, reads := sortedSet(c.mounts[f.entryPoint]), sortedSet(readable[f.entryPoint])
		for _, s := range mounts {
			if !slices.Contains(reads, s) {
				c.fail("%s mounts google_secret_manager_secret.%s, which its service account cannot read (google_secret_manager_secret_iam_member)", f.addr, s)
			}
		}
		for _, s := range reads {
			if !slices.Contains(mounts, s) {
				c.fail("the service account of %s may read google_secret_manager_secret.%s, which %s does not mount", f.entryPoint, s, f.addr)
			}
		}
	}
}

// public checks that allUsers and allAuthenticatedUsers only invoke browser-facing functions.
func (c *checker) public(addr string, b *hclsyntax.Block, members hclsyntax.Expression) {
	for _, v := range membersLiterals(members) {
		if v != "allUsers" && v != "allAuthenticatedUsers" {
			continue
		}
		fns := c.tf.blockRefs(b, "google_cloudfunctions2_function")
		if len(fns) == 0 {
			c.fail("%s grants %s on something other than a browser-facing function", addr, v)
		}
		for _, fn := range fns {
			for _, f := range c.functions {
				if f.name == fn && !publicFunctions[f.entryPoint] {
					c.fail("%s grants %s on %s, which is not a browser-facing function", addr, v, f.entryPoint)
				}
			}
		}
	}
}

func membersLiterals(e hclsyntax.Expression) []string {
	if e == nil {
		return nil
	}
	if s, ok := literal(e); ok {
		return []string{s}
	}
	if t, ok := e.(*hclsyntax.TupleConsExpr); ok {
		var out []string
		for _, el := range t.Exprs {
			if s, ok := literal(el); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func tfIndex(b *hclsyntax.Block) (index, error) {
	var ix index
	var ok bool
	if ix.CollectionGroup, ok = literal(attr(b, "collection")); !ok {
		return ix, errors.New("collection must be a literal")
	}
	scope, _ := literal(attr(b, "query_scope"))
	ix.QueryScope = normalScope(scope)
	for _, fb := range blocks(b, "fields") {
		var f indexField
		if f.Path, ok = literal(attr(fb, "field_path")); !ok {
			return ix, errors.New("fields.field_path must be a literal")
		}
		f.Order, _ = literal(attr(fb, "order"))
		if ac, ok := literal(attr(fb, "array_config")); ok && ac == "CONTAINS" {
			f.Order = "ARRAY_CONTAINS"
		}
		ix.Fields = append(ix.Fields, f)
	}
	// Firestore appends __name__ to every composite index; declaring it is optional.
	if n := len(ix.Fields); n > 0 && ix.Fields[n-1].Path == "__name__" {
		ix.Fields = ix.Fields[:n-1]
	}
	return ix, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return slices.Compact(out)
}

func sameSet(a, b []string) bool { return slices.Equal(sortedSet(a), sortedSet(b)) }
