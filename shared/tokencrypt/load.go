package tokencrypt

import (
	"context"
	"errors"
	"fmt"
	"os"

	kms "cloud.google.com/go/kms/apiv1"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"google.golang.org/api/option"
)

// Source says where a function instance gets its keyset: the configuration Load reads.
type Source struct {
	// Keyset is the serialized keyset itself, as an environment variable or a mounted secret
	// holds it. Exactly one of Keyset and KeysetFile is set.
	Keyset []byte
	// KeysetFile is the path of a file holding the serialized keyset.
	KeysetFile string
	// KEKURI names the Cloud KMS key the keyset is encrypted under
	// (gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K). Empty means the keyset is
	// cleartext, which AllowCleartext must then permit.
	KEKURI string
	// AllowCleartext permits a cleartext keyset when KEKURI is empty; for development only.
	AllowCleartext bool
}

// Load reads the keyset src describes and returns a Cipher for it. With a KEK URI it calls Cloud
// KMS once, to decrypt the keyset, through a client made with opts and closed before Load
// returns: tokens are then encrypted locally, so KMS is not on the path of every request. That
// KMS path is not covered by this package's tests (there is no KMS emulator); the rest is.
func Load(ctx context.Context, src Source, opts ...option.ClientOption) (*Cipher, error) {
	serialized := src.Keyset
	switch {
	case len(src.Keyset) > 0 && src.KeysetFile != "":
		return nil, errors.New("load keyset: both a keyset and a keyset file are configured")
	case src.KeysetFile != "":
		b, err := os.ReadFile(src.KeysetFile)
		if err != nil {
			return nil, fmt.Errorf("load keyset: %w", err)
		}
		serialized = b
	case len(src.Keyset) == 0:
		return nil, errors.New("load keyset: neither a keyset nor a keyset file is configured")
	}
	if src.KEKURI == "" {
		return Open(serialized, Options{AllowCleartext: src.AllowCleartext})
	}
	// Check the URI before dialing, so a typo reads as one.
	if _, err := kmsKeyName(src.KEKURI); err != nil {
		return nil, fmt.Errorf("load keyset: %w", err)
	}
	client, err := kms.NewKeyManagementClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load keyset: connect to cloud kms: %w", err)
	}
	defer client.Close()
	kek, err := NewKMS(client, src.KEKURI)
	if err != nil {
		return nil, fmt.Errorf("load keyset: %w", err)
	}
	// With a context, so that the caller's deadline bounds the KMS call.
	h, err := keyset.ReadWithContext(ctx, reader(serialized), kek, nil)
	if err != nil {
		return nil, fmt.Errorf("load keyset: open keyset with key-encryption key %s: %w", kek.name, err)
	}
	return newCipher(h)
}
