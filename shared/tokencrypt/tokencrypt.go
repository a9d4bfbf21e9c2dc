// Package tokencrypt encrypts the Google refresh tokens drivesync keeps at rest, with a Tink AEAD
// keyset that is itself stored encrypted under a key-encryption key (KEK) held in Cloud KMS.
//
// A ciphertext is bound to associated data chosen by the caller; drivesync passes the connection
// ID, so a ciphertext copied onto another connection's record does not decrypt.
package tokencrypt

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Redacted stands in for key material wherever a Cipher is printed or logged.
const Redacted = "[REDACTED]"

var (
	// ErrCleartextKeyset is returned by Open for a keyset without a KEK when cleartext keysets
	// were not explicitly allowed.
	ErrCleartextKeyset = errors.New("cleartext keyset refused: set a key-encryption key, or allow cleartext keysets for development")
	// ErrDecrypt is returned (wrapped) by Decrypt when a ciphertext was tampered with, was made
	// under another key, or is presented with other associated data.
	ErrDecrypt = errors.New("ciphertext does not decrypt")
)

// Options configure Open.
type Options struct {
	// KEK decrypts the stored keyset. In production it is a *KMS; nil means the keyset is stored
	// in cleartext, which Open refuses unless AllowCleartext is set.
	KEK tink.AEAD
	// AllowCleartext lets Open read a cleartext keyset when KEK is nil. Only development and
	// tests set it, so that production cannot silently run with a plaintext key.
	AllowCleartext bool
}

// Cipher encrypts and decrypts tokens with the primary key of a keyset; it decrypts with any key
// of the keyset, so keys can be rotated without re-encrypting every token at once. It is safe for
// concurrent use. Printing or logging it shows no key material.
type Cipher struct {
	aead tink.AEAD
}

// Open reads a serialized keyset (Tink's JSON or binary format, as tinkey writes them) and returns
// a Cipher for it. With opts.KEK the keyset must be encrypted under that KEK; without, it must be
// cleartext and opts.AllowCleartext set.
func Open(serialized []byte, opts Options) (*Cipher, error) {
	if len(bytes.TrimSpace(serialized)) == 0 {
		return nil, errors.New("open keyset: keyset is empty")
	}
	var (
		h   *keyset.Handle
		err error
	)
	switch {
	case opts.KEK != nil:
		// No associated data, so that keysets made with tinkey --master-key-uri read as well.
		h, err = keyset.Read(reader(serialized), opts.KEK)
		if err != nil {
			return nil, fmt.Errorf("open keyset with key-encryption key: %w", err)
		}
	case opts.AllowCleartext:
		h, err = insecurecleartextkeyset.Read(reader(serialized))
		if err != nil {
			return nil, fmt.Errorf("open cleartext keyset: %w", err)
		}
	default:
		return nil, ErrCleartextKeyset
	}
	return newCipher(h)
}

func newCipher(h *keyset.Handle) (*Cipher, error) {
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("keyset is not an AEAD keyset: %w", err)
	}
	return &Cipher{aead: a}, nil
}

// reader picks Tink's JSON or binary keyset reader: a JSON keyset is an object, while a binary
// one is a protobuf message, which cannot start with '{' (it would be field 15, wire type 3, an
// obsolete group start that no keyset message uses).
func reader(serialized []byte) keyset.Reader {
	if t := bytes.TrimSpace(serialized); len(t) > 0 && t[0] == '{' {
		return keyset.NewJSONReader(bytes.NewReader(t))
	}
	return keyset.NewBinaryReader(bytes.NewReader(serialized))
}

// Encrypt encrypts plaintext bound to associatedData, which Decrypt must be given again. The
// ciphertext starts with the ID of the key that made it.
func (c *Cipher) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	ct, err := c.aead.Encrypt(plaintext, associatedData)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return ct, nil
}

// Decrypt decrypts a ciphertext made by Encrypt with the same associated data. It returns an
// error wrapping ErrDecrypt for a ciphertext that is corrupt, made under a key not in the keyset,
// or presented with other associated data (such as another connection's ID).
func (c *Cipher) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	pt, err := c.aead.Decrypt(ciphertext, associatedData)
	if err != nil {
		// Tink's message says nothing useful beyond "decryption failed"; keep ours stable.
		return nil, fmt.Errorf("decrypt: %w", ErrDecrypt)
	}
	return pt, nil
}

// String keeps key material out of fmt's %v and %s.
func (Cipher) String() string { return "tokencrypt.Cipher(" + Redacted + ")" }

// GoString keeps key material out of fmt's %#v.
func (c Cipher) GoString() string { return c.String() }

// Format keeps key material out of every fmt verb, including those that would otherwise print
// the primitive's fields (%d, %x).
func (c Cipher) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue keeps key material out of slog output.
func (c Cipher) LogValue() slog.Value { return slog.StringValue(c.String()) }
