package tokencrypt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/googleapis/gax-go/v2"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	aesgcmpb "github.com/tink-crypto/tink-go/v2/proto/aes_gcm_go_proto"
	"github.com/tink-crypto/tink-go/v2/tink"
	"google.golang.org/protobuf/proto"
)

// encryptedKeyset makes a keyset with one fresh AES256-GCM key in Tink's JSON format, encrypted
// under kek: the form Open reads in production, where operators make it with tinkey
// (terraform/README.md).
func encryptedKeyset(t testing.TB, kek tink.AEAD) []byte {
	t.Helper()
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		t.Fatalf("keyset: %v", err)
	}
	var buf bytes.Buffer
	if err := h.Write(keyset.NewJSONWriter(&buf), kek); err != nil {
		t.Fatalf("encrypt keyset: %v", err)
	}
	return buf.Bytes()
}

// localKEK stands in for the Cloud KMS key: a Tink AEAD in memory.
func localKEK(t testing.TB) tink.AEAD {
	t.Helper()
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		t.Fatalf("kek keyset: %v", err)
	}
	a, err := aead.New(h)
	if err != nil {
		t.Fatalf("kek primitive: %v", err)
	}
	return a
}

func devCipher(t testing.TB) (*Cipher, []byte) {
	t.Helper()
	ks, err := NewDevKeyset()
	if err != nil {
		t.Fatalf("NewDevKeyset: %v", err)
	}
	c, err := Open(ks, Options{AllowCleartext: true})
	if err != nil {
		t.Fatalf("Open(dev keyset): %v", err)
	}
	return c, ks
}

const refreshToken = "1//0gExampleRefreshTokenThatMustStaySecret-abcdefghijklmnop"

func TestRoundTripBindsConnectionID(t *testing.T) {
	t.Parallel()
	c, _ := devCipher(t)
	ct, err := c.Encrypt([]byte(refreshToken), []byte("conn-A"))
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if bytes.Contains(ct, []byte(refreshToken)) {
		t.Error("ciphertext contains the plaintext")
	}

	pt, err := c.Decrypt(ct, []byte("conn-A"))
	if err != nil {
		t.Fatalf("Decrypt(same connection): %v", err)
	}
	if got, want := string(pt), refreshToken; got != want {
		t.Errorf("Decrypt = %q, want %q", got, want)
	}

	// The same ciphertext copied onto another connection's record must not decrypt.
	flipped := bytes.Clone(ct)
	flipped[len(flipped)-1] ^= 1
	for name, tc := range map[string]struct {
		ct []byte
		ad string
	}{
		"other connection": {ct: ct, ad: "conn-B"},
		"no connection":    {ct: ct, ad: ""},
		"tampered":         {ct: flipped, ad: "conn-A"},
		"truncated":        {ct: ct[:len(ct)/2], ad: "conn-A"},
		"empty":            {ct: nil, ad: "conn-A"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pt, err := c.Decrypt(tc.ct, []byte(tc.ad))
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Decrypt error = %v, want ErrDecrypt", err)
			}
			if pt != nil {
				t.Errorf("Decrypt returned %d bytes with the error", len(pt))
			}
		})
	}
}

func TestEncryptIsRandomized(t *testing.T) {
	t.Parallel()
	c, _ := devCipher(t)
	a, err := c.Encrypt([]byte(refreshToken), []byte("conn-A"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Encrypt([]byte(refreshToken), []byte("conn-A"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Error("two encryptions of the same token are equal; equal tokens would be recognisable at rest")
	}
}

func TestEncryptedKeysetThroughKEK(t *testing.T) {
	t.Parallel()
	kek := localKEK(t)
	ks := encryptedKeyset(t, kek)
	for _, field := range []string{`"encryptedKeyset"`, `"keysetInfo"`} {
		if !bytes.Contains(ks, []byte(field)) {
			t.Errorf("encrypted keyset lacks %s: not Tink's encrypted JSON format", field)
		}
	}
	if bytes.Contains(ks, []byte(`"keyData"`)) {
		t.Error("encrypted keyset holds key data in the clear")
	}

	c, err := Open(ks, Options{KEK: kek})
	if err != nil {
		t.Fatalf("Open(encrypted, KEK): %v", err)
	}
	ct, err := c.Encrypt([]byte(refreshToken), []byte("conn-A"))
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	// A second Cipher from the same stored keyset is what another instance would have.
	c2, err := Open(ks, Options{KEK: kek})
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	pt, err := c2.Decrypt(ct, []byte("conn-A"))
	if err != nil {
		t.Fatalf("Decrypt on another instance: %v", err)
	}
	if got, want := string(pt), refreshToken; got != want {
		t.Errorf("Decrypt = %q, want %q", got, want)
	}
}

func TestOpenBinaryEncryptedKeyset(t *testing.T) {
	t.Parallel()
	kek := localKEK(t)
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := h.Write(keyset.NewBinaryWriter(&buf), kek); err != nil {
		t.Fatalf("write binary keyset: %v", err)
	}
	c, err := Open(buf.Bytes(), Options{KEK: kek})
	if err != nil {
		t.Fatalf("Open(binary): %v", err)
	}
	// The Cipher must use the keyset that was written, not some other key.
	want, err := aead.New(h)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := want.Encrypt([]byte(refreshToken), []byte("conn-A"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decrypt(ct, []byte("conn-A")); err != nil {
		t.Errorf("Decrypt of a ciphertext made with the written keyset: %v", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	kek := localKEK(t)
	encrypted := encryptedKeyset(t, kek)
	cleartext, err := NewDevKeyset()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		keyset   []byte
		opts     Options
		wantErr  error // nil: any error
		wantText string
	}{
		{name: "cleartext not allowed", keyset: cleartext, opts: Options{}, wantErr: ErrCleartextKeyset},
		{name: "cleartext with a KEK", keyset: cleartext, opts: Options{KEK: kek}},
		{name: "cleartext with a KEK even if cleartext allowed", keyset: cleartext, opts: Options{KEK: kek, AllowCleartext: true}},
		{name: "encrypted without KEK", keyset: encrypted, opts: Options{AllowCleartext: true}},
		{name: "encrypted without KEK, cleartext not allowed", keyset: encrypted, opts: Options{}, wantErr: ErrCleartextKeyset},
		{name: "encrypted under another KEK", keyset: encrypted, opts: Options{KEK: localKEK(t)}},
		{name: "empty", keyset: []byte(" \n"), opts: Options{KEK: kek}, wantText: "empty"},
		{name: "garbage JSON", keyset: []byte(`{"nope": 1}`), opts: Options{AllowCleartext: true}},
		{name: "garbage binary", keyset: []byte{0x08, 0xff}, opts: Options{AllowCleartext: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Open(tc.keyset, tc.opts)
			if err == nil {
				t.Fatalf("Open succeeded (%v), want an error", c)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Open error = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("Open error = %q, want it to mention %q", err, tc.wantText)
			}
		})
	}
}

func TestOtherKeysetCannotDecrypt(t *testing.T) {
	t.Parallel()
	a, _ := devCipher(t)
	b, _ := devCipher(t)
	ct, err := a.Encrypt([]byte(refreshToken), []byte("conn-A"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decrypt(ct, []byte("conn-A")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Decrypt under another keyset: error = %v, want ErrDecrypt", err)
	}
}

// TestRotatedKeysetDecryptsOldTokens covers key rotation: after a new primary key is added, tokens
// encrypted under the old one still decrypt, and new tokens use the new key.
func TestRotatedKeysetDecryptsOldTokens(t *testing.T) {
	t.Parallel()
	kek := localKEK(t)
	ks := encryptedKeyset(t, kek)
	old, err := Open(ks, Options{KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	oldCT, err := old.Encrypt([]byte(refreshToken), []byte("conn-A"))
	if err != nil {
		t.Fatal(err)
	}

	h, err := keyset.Read(keyset.NewJSONReader(bytes.NewReader(ks)), kek)
	if err != nil {
		t.Fatal(err)
	}
	m := keyset.NewManagerFromHandle(h)
	id, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetPrimary(id); err != nil {
		t.Fatal(err)
	}
	rotated, err := m.Handle()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rotated.Write(keyset.NewJSONWriter(&buf), kek); err != nil {
		t.Fatal(err)
	}
	c, err := Open(buf.Bytes(), Options{KEK: kek})
	if err != nil {
		t.Fatalf("Open(rotated): %v", err)
	}
	if pt, err := c.Decrypt(oldCT, []byte("conn-A")); err != nil || string(pt) != refreshToken {
		t.Errorf("Decrypt(token under the old key) = %q, %v; want the token", pt, err)
	}
	newCT, err := c.Encrypt([]byte(refreshToken), []byte("conn-A"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Decrypt(newCT, []byte("conn-A")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("old keyset decrypting a token under the new primary: error = %v, want ErrDecrypt", err)
	}
}

// keyBytes digs the raw AES key out of a cleartext keyset, to look for it in output.
func keyBytes(t *testing.T, ks []byte) []byte {
	t.Helper()
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(ks)))
	if err != nil {
		t.Fatal(err)
	}
	var k aesgcmpb.AesGcmKey
	if err := proto.Unmarshal(insecurecleartextkeyset.KeysetMaterial(h).GetKey()[0].GetKeyData().GetValue(), &k); err != nil {
		t.Fatal(err)
	}
	if got, want := len(k.GetKeyValue()), 32; got != want {
		t.Fatalf("key length = %d, want %d", got, want)
	}
	return k.GetKeyValue()
}

func TestCipherPrintsNoKeyMaterial(t *testing.T) {
	t.Parallel()
	c, ks := devCipher(t)
	key := keyBytes(t, ks)
	forms := []string{
		string(key),
		hex.EncodeToString(key),
		base64.StdEncoding.EncodeToString(key),
		strings.Trim(fmt.Sprint(key), "[]"), // decimal bytes, as %d would print them
	}

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cipher", "cipher", c, "value", *c)
	outputs := map[string]string{"slog": logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		outputs[verb+" pointer"] = fmt.Sprintf(verb, c)
		outputs[verb+" value"] = fmt.Sprintf(verb, *c)
	}
	for name, out := range outputs {
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s output %q does not say it is redacted", name, out)
		}
		for _, f := range forms {
			if strings.Contains(out, f) {
				t.Errorf("%s output contains the key", name)
			}
		}
	}
}

func TestNewKMSValidatesKeyURI(t *testing.T) {
	t.Parallel()
	const good = "gcp-kms://projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k"
	tests := []struct {
		name    string
		client  KMSClient
		uri     string
		wantErr bool
	}{
		{name: "good", client: noKMS{}, uri: good},
		{name: "nil client", client: nil, uri: good, wantErr: true},
		{name: "no scheme", client: noKMS{}, uri: strings.TrimPrefix(good, KMSURIPrefix), wantErr: true},
		{name: "aws scheme", client: noKMS{}, uri: "aws-kms://arn:aws:kms:eu-west-1:1:key/x", wantErr: true},
		{name: "key version", client: noKMS{}, uri: good + "/cryptoKeyVersions/1", wantErr: true},
		{name: "missing key", client: noKMS{}, uri: "gcp-kms://projects/p/locations/l/keyRings/r", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := NewKMS(tc.client, tc.uri)
			if got := err != nil; got != tc.wantErr {
				t.Fatalf("NewKMS error = %v, want error: %t", err, tc.wantErr)
			}
			if err == nil {
				if got, want := k.name, strings.TrimPrefix(tc.uri, KMSURIPrefix); got != want {
					t.Errorf("key name = %q, want %q", got, want)
				}
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	ks, err := NewDevKeyset()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ks)
	f.Add([]byte(`{"primaryKeyId": 1, "key": []}`))
	f.Add([]byte{0x08, 0x01, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Open(b, Options{AllowCleartext: true})
		if err != nil {
			return
		}
		ct, err := c.Encrypt([]byte("x"), []byte("ad"))
		if err != nil {
			t.Fatalf("Encrypt with an opened keyset: %v", err)
		}
		if pt, err := c.Decrypt(ct, []byte("ad")); err != nil || string(pt) != "x" {
			t.Fatalf("round trip = %q, %v", pt, err)
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	c, _ := devCipher(f)
	ct, err := c.Encrypt([]byte(refreshToken), []byte("conn-A"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct, []byte("conn-A"))
	f.Fuzz(func(t *testing.T, ct, ad []byte) {
		pt, err := c.Decrypt(ct, ad)
		if err == nil && string(pt) != refreshToken {
			// Only a genuine ciphertext decrypts; its plaintext is the one token we encrypted.
			t.Fatalf("forged ciphertext decrypted to %q", pt)
		}
	})
}

// noKMS only fills the client slot for NewKMS's argument checks; it is never called.
type noKMS struct{}

func (noKMS) Encrypt(context.Context, *kmspb.EncryptRequest, ...gax.CallOption) (*kmspb.EncryptResponse, error) {
	return nil, errors.New("noKMS is not a KMS")
}

func (noKMS) Decrypt(context.Context, *kmspb.DecryptRequest, ...gax.CallOption) (*kmspb.DecryptResponse, error) {
	return nil, errors.New("noKMS is not a KMS")
}
