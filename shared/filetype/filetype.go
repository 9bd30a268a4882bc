// Package filetype recognises the four material file types case-submit
// accepts (PDF, JPEG, PNG and OFD) by the magic bytes at the head of the
// file, so that a declared content type can be checked against the file
// actually uploaded.
package filetype

import (
	"bytes"
	"encoding/binary"
	"mime"
	"strings"
)

// The content types a material may declare.
const (
	PDF  = "application/pdf"
	JPEG = "image/jpeg"
	PNG  = "image/png"
	// OFD is the Chinese fixed-layout document format (GB/T 33190): a ZIP
	// container whose root holds OFD.xml.
	OFD = "application/ofd"
)

// HeadBytes is how many leading bytes of a file Sniff needs: enough for a
// ZIP local file header and the name of the first entry. Fewer work when
// the file is shorter.
const HeadBytes = 512

var (
	pdfMagic  = []byte("%PDF-")
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}
	zipMagic  = []byte{'P', 'K', 0x03, 0x04} // local file header
)

// zipHeaderLen is the fixed part of a ZIP local file header; the entry's
// name follows it.
const zipHeaderLen = 30

// Sniff returns the type of the file whose first bytes are head (PDF,
// JPEG, PNG or OFD), or "" when it is none of them. Every signature must
// start at offset 0: a "%PDF-" further in is text, not a PDF.
//
// OFD is a ZIP container, and from the head of a file only the first
// entry is visible. GB/T 33190 puts OFD.xml at the root but not first,
// and producers differ, so any ZIP is taken for OFD unless the name of its
// first entry, when visible, marks another ZIP-based format: Office Open
// XML (DOCX, XLSX, PPTX), OpenDocument and EPUB, Java and Android
// archives. A ZIP of other files may therefore pass as OFD; telling them
// apart for sure needs the central directory at the end of the file.
func Sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, pdfMagic):
		return PDF
	case bytes.HasPrefix(head, jpegMagic):
		return JPEG
	case bytes.HasPrefix(head, pngMagic):
		return PNG
	case isOFD(head):
		return OFD
	}
	return ""
}

// Matches reports whether a file whose first bytes are head is of the
// declared content type. The declared type is compared as a media type:
// case and parameters do not matter ("application/PDF; q=1" is PDF).
func Matches(declared string, head []byte) bool {
	t, _, err := mime.ParseMediaType(declared)
	if err != nil {
		return false
	}
	got := Sniff(head)
	return got != "" && got == t
}

// isOFD reports whether head starts a ZIP whose first entry does not mark
// another ZIP-based format.
func isOFD(head []byte) bool {
	// A file shorter than one local header is no ZIP at all.
	if len(head) < zipHeaderLen || !bytes.HasPrefix(head, zipMagic) {
		return false
	}
	nameLen := int(binary.LittleEndian.Uint16(head[26:28]))
	if nameLen == 0 {
		return false
	}
	if zipHeaderLen+nameLen > len(head) {
		// The name runs past the head: the signature is all we know.
		return true
	}
	return !otherZipFormat(string(head[zipHeaderLen : zipHeaderLen+nameLen]))
}

// otherZipFormat reports whether name, the first entry of a ZIP, is the
// mark of a ZIP-based format other than OFD. An OFD package holds OFD.xml
// and Doc_N/ folders, none of these names.
func otherZipFormat(name string) bool {
	switch name {
	case "[Content_Types].xml", // Office Open XML
		"mimetype",            // OpenDocument, EPUB
		"AndroidManifest.xml", // Android package
		"classes.dex":
		return true
	}
	for _, prefix := range []string{"_rels/", "docProps/", "word/", "xl/", "ppt/", "META-INF/"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}
