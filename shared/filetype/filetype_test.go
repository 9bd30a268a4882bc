package filetype

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
)

// zipWith returns the head of a real ZIP archive whose entries are names,
// in order, as archive/zip writes them (with a data descriptor, as most
// streaming producers do).
func zipWith(t testing.TB, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, name := range names {
		f, err := w.Create(name)
		if err != nil {
			t.Fatalf("zip %s: %v", name, err)
		}
		if _, err := f.Write([]byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ofd:OFD/>")); err != nil {
			t.Fatalf("zip %s: %v", name, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("zip close: %v", err)
	}
	return buf.Bytes()
}

// Real headers, as the first bytes of files produced by common tools.
var (
	pdfHead  = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n")
	jfifHead = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x48, 0x00, 0x48, 0x00, 0x00}
	exifHead = []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x1C, 0x45, 'E', 'x', 'i', 'f', 0x00, 0x00, 'M', 'M', 0x00, 0x2A}
	pngHead  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0x00, 0x00, 0x00, 0x0D, 'I', 'H', 'D', 'R',
		0x00, 0x00, 0x02, 0x80, 0x00, 0x00, 0x01, 0xE0, 0x08, 0x06, 0x00, 0x00, 0x00}
)

func TestSniff(t *testing.T) {
	longName := "Doc_0/" + strings.Repeat("页", 200) + ".xml" // runs past HeadBytes
	tests := []struct {
		name string
		head []byte
		want string
	}{
		{"pdf", pdfHead, PDF},
		{"pdf header alone", []byte("%PDF-"), PDF},
		{"jpeg jfif", jfifHead, JPEG},
		{"jpeg exif", exifHead, JPEG},
		{"jpeg magic alone", []byte{0xFF, 0xD8, 0xFF}, JPEG},
		{"png", pngHead, PNG},
		{"png signature alone", pngHead[:8], PNG},
		{"ofd, OFD.xml first", zipWith(t, "OFD.xml", "Doc_0/Document.xml"), OFD},
		{"ofd, document first", zipWith(t, "Doc_0/Document.xml", "OFD.xml"), OFD},
		{"ofd, first name past the head", zipWith(t, longName, "OFD.xml")[:HeadBytes], OFD},
		{"ofd, head cut inside the name", zipWith(t, "OFD.xml")[:33], OFD},

		{"empty", nil, ""},
		{"pdf truncated", []byte("%PD"), ""},
		{"pdf without dash", []byte("%PDF1.7"), ""},
		{"pdf lower case", []byte("%pdf-1.7"), ""},
		{"text mentioning %PDF", []byte("see the attached %PDF-1.7 file"), ""},
		{"pdf after a BOM", append([]byte{0xEF, 0xBB, 0xBF}, pdfHead...), ""},
		{"pdf after a space", append([]byte(" "), pdfHead...), ""},
		{"jpeg truncated", []byte{0xFF, 0xD8}, ""},
		{"png truncated", pngHead[:7], ""},
		{"png with a wrong byte", append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, 0x00}, pngHead[8:]...), ""},
		{"png lookalike text", []byte("PNG image"), ""},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), ""},
		{"html", []byte("<!DOCTYPE html><html>"), ""},
		{"postscript", []byte("%!PS-Adobe-3.0"), ""},
		{"zip signature alone", []byte("PK\x03\x04"), ""},
		{"zip header truncated", zipWith(t, "OFD.xml")[:29], ""},
		{"empty zip", []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), ""},
		{"docx", zipWith(t, "[Content_Types].xml", "word/document.xml"), ""},
		{"docx, parts first", zipWith(t, "_rels/.rels", "[Content_Types].xml"), ""},
		{"xlsx", zipWith(t, "xl/workbook.xml", "[Content_Types].xml"), ""},
		{"odt", zipWith(t, "mimetype", "content.xml"), ""},
		{"jar", zipWith(t, "META-INF/MANIFEST.MF"), ""},
		{"apk", zipWith(t, "AndroidManifest.xml"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff(tt.head); got != tt.want {
				t.Errorf("Sniff = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	ofd := zipWith(t, "OFD.xml")
	docx := zipWith(t, "[Content_Types].xml")
	tests := []struct {
		declared string
		head     []byte
		want     bool
	}{
		{PDF, pdfHead, true},
		{JPEG, jfifHead, true},
		{PNG, pngHead, true},
		{OFD, ofd, true},
		{"Application/PDF", pdfHead, true},
		{"application/pdf; charset=binary", pdfHead, true},
		{" image/png ", pngHead, true},

		{PNG, jfifHead, false},
		{JPEG, pngHead, false},
		{PDF, ofd, false},
		{OFD, docx, false},
		{OFD, pdfHead, false},
		{"image/jpg", jfifHead, false},
		{"application/octet-stream", pdfHead, false},
		{"application/zip", ofd, false},
		{"", pdfHead, false},
		{PDF, nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		if got := Matches(tt.declared, tt.head); got != tt.want {
			t.Errorf("Matches(%q, % x...) = %v, want %v", tt.declared, tt.head[:min(len(tt.head), 8)], got, tt.want)
		}
	}
}

// FuzzSniff: any bytes give one of the four types or "", decided by the
// first HeadBytes alone, and Matches agrees with Sniff.
func FuzzSniff(f *testing.F) {
	for _, seed := range [][]byte{pdfHead, jfifHead, pngHead, zipWith(f, "OFD.xml"), zipWith(f, "[Content_Types].xml"), nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		got := Sniff(head)
		switch got {
		case "", PDF, JPEG, PNG, OFD:
		default:
			t.Fatalf("Sniff = %q", got)
		}
		if cut := Sniff(head[:min(len(head), HeadBytes)]); cut != got {
			t.Fatalf("Sniff of the first %d bytes = %q, of all = %q", HeadBytes, cut, got)
		}
		if got != "" && !Matches(got, head) {
			t.Fatalf("Matches(%q) = false for a head sniffed as such", got)
		}
		for _, declared := range []string{PDF, JPEG, PNG, OFD} {
			if Matches(declared, head) != (declared == got) {
				t.Fatalf("Matches(%q) disagrees with Sniff = %q", declared, got)
			}
		}
	})
}
