// Package api holds the connection API's contract, openapi.yaml in this folder, as the
// Connections function serves it at GET /v1/openapi.yaml. The document stays where readers look
// for it (docs/api); this file only embeds it, since go:embed reaches files of its own package
// folder alone. terraform/source.tf ships this folder with the function source.
package api

import _ "embed"

// OpenAPI is docs/api/openapi.yaml, the OpenAPI 3.1 document of the connection API.
//
//go:embed openapi.yaml
var OpenAPI []byte
