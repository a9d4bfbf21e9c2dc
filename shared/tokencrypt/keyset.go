package tokencrypt

import (
	"bytes"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// NewDevKeyset makes a keyset with one fresh AES256-GCM key and returns it in Tink's JSON format,
// in cleartext: for the local dev stack and tests only, where Open reads it with
// AllowCleartext. Treat the result as a secret. Production keysets are made with tinkey,
// encrypted under the KMS key (terraform/README.md).
func NewDevKeyset() ([]byte, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("generate AES256-GCM keyset: %w", err)
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, fmt.Errorf("write cleartext keyset: %w", err)
	}
	return buf.Bytes(), nil
}
