package history

import (
	"github.com/efactori/drivesync/shared/drive"
	"github.com/efactori/drivesync/shared/efactori"
	"github.com/efactori/drivesync/shared/engine"
)

// failureMessages says in English, for logs and support, what a failure code recorded on a
// document means. The settings page words it for the customer by code; a code not listed here
// gets a generic sentence that still names it.
var failureMessages = map[string]string{
	efactori.CodeContentGone:            "eFactori no longer has this revision of the document (it was changed again or deleted).",
	efactori.CodeChecksumMismatch:       "The content eFactori served did not match its announced SHA-256, several times in a row.",
	efactori.CodeSizeMismatch:           "The content eFactori served did not have its announced size, several times in a row.",
	efactori.CodeForeignURL:             "The document's content URL does not point at its own content on eFactori's API.",
	efactori.CodeInvalidDocument:        "eFactori describes the document in a way drivesync cannot copy.",
	efactori.CodeUnauthorized:           "eFactori refused drivesync's identity when it fetched the content.",
	engine.CodeEventTooOld:              "The change reached drivesync too late to be applied on its own; a retry or a sync copies it.",
	engine.CodeFolderGone:               "The document's folder kept disappearing from Google Drive while it was copied.",
	engine.CodeTooManyChanges:           "The document's file kept disappearing from Google Drive while it was copied.",
	drive.CodeTargetNotFound:            "The chosen Google Drive folder no longer exists or this Google account cannot see it.",
	drive.CodeTargetTrashed:             "The chosen Google Drive folder is in the trash.",
	drive.CodeTargetReadOnly:            "This Google account cannot add files to the chosen folder.",
	drive.CodeInvalidArgument:           "Google Drive refused the file as invalid.",
	"storageQuotaExceeded":              "The Google account's storage is full.",
	"insufficientFilePermissions":       "This Google account cannot write to the folder.",
	"numChildrenInNonRootLimitExceeded": "The Google Drive folder holds as many items as Drive allows.",
	"teamDriveFileLimitExceeded":        "The shared drive holds as many files as Google Drive allows.",
	"domainPolicy":                      "The Google Workspace administrator has blocked apps from using Google Drive.",
	"invalid_grant":                     "Google no longer accepts the connection's authorization; it must be authorized again.",
}

// FailureMessage returns the English sentence for a document's failure code ("" for none).
func FailureMessage(code string) string {
	if code == "" {
		return ""
	}
	if msg, ok := failureMessages[code]; ok {
		return msg
	}
	return "The document could not be copied to Google Drive (" + code + ")."
}
