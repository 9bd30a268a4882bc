package objects

import (
	"errors"
	"mime"
	"path"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestValidKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"a", true},
		{"uploads/0190f3a2/营业执照 副本.pdf", true},
		{"cases/2024/x..y/..z/.hidden", true},
		{"a b/c-d_e~f!(1).PDF", true},
		{strings.Repeat("a", MaxKeyBytes), true},
		{strings.Repeat("界", MaxKeyBytes/3), true},

		{"", false},
		{strings.Repeat("a", MaxKeyBytes+1), false},
		{strings.Repeat("界", MaxKeyBytes/3+1), false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{".", false},
		{"..", false},
		{"../a", false},
		{"a/../b", false},
		{"a/./b", false},
		{"a/..", false},
		{`a\b`, false},
		{`..\a`, false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\rb", false},
		{"a\tb", false},
		{"a\x7fb", false},
		{"a\u0085b", false}, // C1 next line
		{"a\xffb", false},   // not UTF-8
		{"\xc0\xaf", false}, // overlong "/"
	}
	for _, tt := range tests {
		err := ValidKey(tt.key)
		if (err == nil) != tt.ok {
			t.Errorf("ValidKey(%q) = %v, want ok %v", tt.key, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidKey(%q) error %v does not match ErrInvalidKey", tt.key, err)
		}
	}
}

// FuzzValidKey checks ValidKey against the properties it promises, stated
// a second way: an accepted key is its own clean relative path, short,
// UTF-8, free of backslashes and control characters; a refused key
// breaks at least one of them.
func FuzzValidKey(f *testing.F) {
	for _, seed := range []string{"a", "a/b", "uploads/营业执照.pdf", "", "/", "a//b", "..", "a/./b", `a\b`, "a\x00", "\xff", "a/"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := ValidKey(key)
		want := key != "" &&
			len(key) <= MaxKeyBytes &&
			utf8.ValidString(key) &&
			!path.IsAbs(key) &&
			path.Clean(key) == key && key != "." &&
			!strings.HasPrefix(key, "../") && key != ".." &&
			!strings.ContainsRune(key, '\\') &&
			strings.IndexFunc(key, unicode.IsControl) < 0
		if (err == nil) != want {
			t.Fatalf("ValidKey(%q) = %v, want ok %v", key, err, want)
		}
		if err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("ValidKey(%q) error %v does not match ErrInvalidKey", key, err)
		}
		if err == nil {
			for seg := range strings.SplitSeq(key, "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("ValidKey(%q) accepted segment %q", key, seg)
				}
			}
		}
	})
}

func TestContentDisposition(t *testing.T) {
	for _, name := range []string{
		"营业执照.pdf",
		"身份证 (正面).jpg",
		`a "quoted" name.pdf`,
		"100% done; really.pdf",
		`back\slash.pdf`,
		"plain.pdf",
		"émigré.ofd",
	} {
		d, err := contentDisposition(name)
		if err != nil {
			t.Fatalf("contentDisposition(%q): %v", name, err)
		}
		for _, r := range d {
			if r > unicode.MaxASCII || r < 0x20 {
				t.Fatalf("contentDisposition(%q) = %q is not plain ASCII", name, d)
			}
		}
		disp, params, err := mime.ParseMediaType(d)
		if err != nil || disp != "attachment" || params["filename"] != name {
			t.Errorf("contentDisposition(%q) = %q parses as %q %q %v", name, d, disp, params, err)
		}
	}
	for _, bad := range []string{"a\nb", "a\x00", "a\x7f", "\xff.pdf", strings.Repeat("a", 1025)} {
		if _, err := contentDisposition(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("contentDisposition(%q) error = %v, want ErrInvalidArgument", bad, err)
		}
	}
}
