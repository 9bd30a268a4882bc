package objects

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxKeyBytes is the longest key ValidKey accepts, in bytes of UTF-8 (the
// S3 limit).
const MaxKeyBytes = 1024

// ValidKey reports whether key may name an object. Keys are built by our
// code but carry user-supplied file names, so a key must be non-empty
// valid UTF-8 of at most MaxKeyBytes bytes, made of "/"-separated segments
// none of which is empty, "." or "..", with no backslash and no control
// character (C0, DEL, C1). So it neither starts nor ends with "/" and never
// contains "//". The error matches ErrInvalidKey.
func ValidKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidKey, len(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("%w: leading /", ErrInvalidKey)
	case strings.ContainsRune(key, '\\'):
		return fmt.Errorf("%w: backslash", ErrInvalidKey)
	case strings.ContainsFunc(key, unicode.IsControl):
		return fmt.Errorf("%w: control character", ErrInvalidKey)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: empty segment", ErrInvalidKey)
		case ".", "..":
			return fmt.Errorf("%w: %q segment", ErrInvalidKey, seg)
		}
	}
	return nil
}

// validPrefix checks a prefix for ExpirePrefix: a valid key, optionally
// ending in "/". The empty prefix is refused.
func validPrefix(prefix string) error {
	if err := ValidKey(strings.TrimSuffix(prefix, "/")); err != nil {
		return fmt.Errorf("prefix %q: %w", prefix, err)
	}
	return nil
}

// validListPrefix checks a prefix for List: empty (the whole bucket) or a
// valid prefix.
func validListPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return validPrefix(prefix)
}
