// Package cursor makes the opaque nextCursor of lists ordered newest first
// by (time, id): the position after the last record of a page.
package cursor

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Encode is the cursor after the record created at at with id id.
func Encode(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "." + id))
}

// Decode reads a cursor made by Encode. An empty cursor is the first page:
// nil, nil. A malformed one is an error.
func Decode(c string) (*time.Time, *uuid.UUID, error) {
	if c == "" {
		return nil, nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, nil, errors.New("malformed cursor")
	}
	micros, idText, ok := strings.Cut(string(raw), ".")
	if !ok {
		return nil, nil, errors.New("malformed cursor")
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return nil, nil, errors.New("malformed cursor")
	}
	id, err := uuid.Parse(idText)
	if err != nil {
		return nil, nil, errors.New("malformed cursor")
	}
	at := time.UnixMicro(us)
	return &at, &id, nil
}
