package tokencrypt

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"strings"
	"time"

	kms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/googleapis/gax-go/v2"
	"github.com/tink-crypto/tink-go/v2/tink"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/efactori/drivesync/shared/drivesync"
)

// KMSURIPrefix starts the key URIs Tink and tinkey use for Cloud KMS keys.
const KMSURIPrefix = "gcp-kms://"

// KMSClient is the part of the Cloud KMS client KMS uses; *kms.KeyManagementClient satisfies it.
type KMSClient interface {
	Encrypt(ctx context.Context, req *kmspb.EncryptRequest, opts ...gax.CallOption) (*kmspb.EncryptResponse, error)
	Decrypt(ctx context.Context, req *kmspb.DecryptRequest, opts ...gax.CallOption) (*kmspb.DecryptResponse, error)
}

var (
	_ KMSClient            = (*kms.KeyManagementClient)(nil)
	_ tink.AEAD            = (*KMS)(nil)
	_ tink.AEADWithContext = (*KMS)(nil)
)

// cryptoKeyName is the resource name of a Cloud KMS symmetric key (not of one of its versions:
// encryption always uses the key's primary version, and decryption finds the version itself).
var cryptoKeyName = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`)

// kmsTimeout bounds each KMS call made through the context-free tink.AEAD methods.
const kmsTimeout = 30 * time.Second

// KMS is a key-encryption key held in Cloud KMS, usable as Options.KEK. Every call sends CRC32C
// checksums of its inputs and verifies those of the response, as Cloud KMS recommends, so
// corruption in transit is caught.
//
// KMS is not exercised by this package's tests: there is no Cloud KMS emulator, and the tests use
// a local Tink AEAD as the KEK instead. Its errors are classified: drivesync.Retryable for
// unavailability, deadlines, quota and integrity mismatches; drivesync.Permanent otherwise
// (permission denied, key disabled or destroyed, wrong key).
type KMS struct {
	client KMSClient
	name   string
}

// NewKMS returns the KEK named by keyURI (gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K),
// reached through client.
func NewKMS(client KMSClient, keyURI string) (*KMS, error) {
	if client == nil {
		return nil, errors.New("new kms kek: client is nil")
	}
	name, err := kmsKeyName(keyURI)
	if err != nil {
		return nil, fmt.Errorf("new kms kek: %w", err)
	}
	return &KMS{client: client, name: name}, nil
}

// kmsKeyName returns the KMS resource name in a Tink key URI.
func kmsKeyName(keyURI string) (string, error) {
	name, ok := strings.CutPrefix(keyURI, KMSURIPrefix)
	if !ok || !cryptoKeyName.MatchString(name) {
		return "", fmt.Errorf("key URI %q is not %sprojects/P/locations/L/keyRings/R/cryptoKeys/K", keyURI, KMSURIPrefix)
	}
	return name, nil
}

// Encrypt implements tink.AEAD; each call is bounded by a 30-second timeout.
func (k *KMS) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kmsTimeout)
	defer cancel()
	return k.EncryptWithContext(ctx, plaintext, associatedData)
}

// Decrypt implements tink.AEAD; each call is bounded by a 30-second timeout.
func (k *KMS) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kmsTimeout)
	defer cancel()
	return k.DecryptWithContext(ctx, ciphertext, associatedData)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) *wrapperspb.Int64Value {
	return wrapperspb.Int64(int64(crc32.Checksum(b, castagnoli)))
}

func matches(b []byte, sum *wrapperspb.Int64Value) bool {
	return sum != nil && sum.GetValue() == checksum(b).GetValue()
}

// errIntegrity is a checksum mismatch; Cloud KMS advises a limited number of retries.
var errIntegrity = errors.New("integrity check of the kms response failed")

// EncryptWithContext implements tink.AEADWithContext.
func (k *KMS) EncryptWithContext(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	req := &kmspb.EncryptRequest{
		Name:            k.name,
		Plaintext:       plaintext,
		PlaintextCrc32C: checksum(plaintext),
	}
	// Keysets are encrypted without associated data; only send (and expect verified) a checksum
	// of associated data there is.
	withAD := len(associatedData) > 0
	if withAD {
		req.AdditionalAuthenticatedData = associatedData
		req.AdditionalAuthenticatedDataCrc32C = checksum(associatedData)
	}
	resp, err := k.client.Encrypt(ctx, req)
	if err != nil {
		return nil, classifyKMS(fmt.Errorf("kms encrypt with %s: %w", k.name, err))
	}
	switch {
	case !resp.GetVerifiedPlaintextCrc32C(),
		withAD && !resp.GetVerifiedAdditionalAuthenticatedDataCrc32C(),
		!matches(resp.GetCiphertext(), resp.GetCiphertextCrc32C()):
		return nil, drivesync.Classify(fmt.Errorf("kms encrypt with %s: %w", k.name, errIntegrity), drivesync.Retryable, "kms_integrity")
	case !strings.HasPrefix(resp.GetName(), k.name+"/"):
		// The response names the key version used; anything else means another key was used.
		return nil, drivesync.Classify(fmt.Errorf("kms encrypt with %s: response names key %q", k.name, resp.GetName()), drivesync.Permanent, "kms_wrong_key")
	}
	return resp.GetCiphertext(), nil
}

// DecryptWithContext implements tink.AEADWithContext.
func (k *KMS) DecryptWithContext(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	req := &kmspb.DecryptRequest{
		Name:             k.name,
		Ciphertext:       ciphertext,
		CiphertextCrc32C: checksum(ciphertext),
	}
	if len(associatedData) > 0 {
		req.AdditionalAuthenticatedData = associatedData
		req.AdditionalAuthenticatedDataCrc32C = checksum(associatedData)
	}
	// KMS checks the request checksums itself and refuses a mismatch; only the plaintext comes
	// back with one for us to check.
	resp, err := k.client.Decrypt(ctx, req)
	if err != nil {
		return nil, classifyKMS(fmt.Errorf("kms decrypt with %s: %w", k.name, err))
	}
	if !matches(resp.GetPlaintext(), resp.GetPlaintextCrc32C()) {
		return nil, drivesync.Classify(fmt.Errorf("kms decrypt with %s: %w", k.name, errIntegrity), drivesync.Retryable, "kms_integrity")
	}
	return resp.GetPlaintext(), nil
}

func classifyKMS(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return drivesync.Classify(err, drivesync.Retryable, "kms_timeout")
	}
	switch c := status.Code(err); c {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Internal, codes.Aborted, codes.Canceled:
		return drivesync.Classify(err, drivesync.Retryable, "kms_"+strings.ToLower(c.String()))
	default:
		return drivesync.Classify(err, drivesync.Permanent, "kms_"+strings.ToLower(c.String()))
	}
}
