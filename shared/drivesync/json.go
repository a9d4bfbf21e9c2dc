package drivesync

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// strictJSON is how messages are read. encoding/json matches names case-insensitively (so
// "DOCUMENT" would fill Document), lets the last of two equal names win, and turns invalid
// UTF-8 into U+FFFD; a message that differs from what its publisher wrote in any of these ways
// is refused instead.
var strictJSON = json.JoinOptions(
	json.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// decodeStrict decodes data, which must hold exactly one JSON value, into v with strictJSON.
// Unknown members are refused unless allowUnknown is set.
func decodeStrict(data []byte, v any, allowUnknown bool) error {
	opts := json.JoinOptions(strictJSON, json.RejectUnknownMembers(!allowUnknown))
	dec := jsontext.NewDecoder(bytes.NewReader(data), opts)
	if err := json.UnmarshalDecode(dec, v, opts); err != nil {
		return err
	}
	// Anything after the value, even a lone "}", is refused.
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("data holds more than one JSON value")
	}
	return nil
}
