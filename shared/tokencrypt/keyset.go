package tokencrypt

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// newHandle makes a keyset with one fresh AES256-GCM key.
func newHandle() (*keyset.Handle, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("generate AES256-GCM keyset: %w", err)
	}
	return h, nil
}

// GenerateEncryptedKeyset makes a keyset with one fresh AES256-GCM key and returns it in Tink's
// JSON format, encrypted under kek: the form Open reads in production. The result holds no key
// material in the clear and can be stored as a secret or in the function's configuration.
func GenerateEncryptedKeyset(kek tink.AEAD) ([]byte, error) {
	if kek == nil {
		return nil, errors.New("generate encrypted keyset: key-encryption key is nil")
	}
	h, err := newHandle()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := h.Write(keyset.NewJSONWriter(&buf), kek); err != nil {
		return nil, fmt.Errorf("encrypt keyset: %w", err)
	}
	return buf.Bytes(), nil
}

// NewDevKeyset makes a keyset with one fresh AES256-GCM key and returns it in Tink's JSON format,
// in cleartext: for the local dev stack and tests only, where Open reads it with
// AllowCleartext. Treat the result as a secret.
func NewDevKeyset() ([]byte, error) {
	h, err := newHandle()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, fmt.Errorf("write cleartext keyset: %w", err)
	}
	return buf.Bytes(), nil
}
