package efactori

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
)

// pdfSpec describes a generated PDF: one A4 page of text plus a padding stream that brings the
// file to about TargetSize bytes. The file is a pure function of the spec, so it can be streamed
// again at any time without being stored.
type pdfSpec struct {
	Title      string   // goes into the document information dictionary
	Lines      []string // printed on the page, top to bottom
	TargetSize int64    // the file is at least this large unless the page alone is larger
	PadKey     [32]byte // seeds the padding stream
}

// pdfLayout is a pdfSpec laid out: everything but the padding is small and held in memory.
type pdfLayout struct {
	head   []byte // up to and including the "stream\n" line of the padding object
	padLen int64
	tail   []byte // from the end of the padding to %%EOF
	xref   int64  // offset of the xref table
	padKey [32]byte
}

// The objects of every generated file, in order; the padding object is last so that its length
// is the only thing that moves the xref table.
const (
	objCatalog = 1 + iota
	objPages
	objPage
	objFont
	objContents
	objInfo
	objPadding
	objCount // one more than the highest object number: the xref table's /Size; see xrefHead
)

func layoutPDF(spec pdfSpec) pdfLayout {
	body, offsets := buildBody(spec)
	beforePadding := int64(len(body)) + int64(len(paddingHead)) + int64(len(paddingOpen))
	fixed := beforePadding + int64(len(endPadding)) + int64(len(xrefHead)) +
		20*int64(objCount-1) + int64(len(trailerHead)) + int64(len(pdfEOF))
	// Only the digits of /Length and of startxref move with the padding length, so settle the
	// length by arithmetic. At a digit boundary the file may end a byte or two over the target;
	// the exact size is what gets published.
	sizeWith := func(p int64) int64 {
		xref := beforePadding + digits(p) + p + int64(len(endPadding))
		return fixed + digits(p) + p + digits(xref)
	}
	var p int64
	if spec.TargetSize > sizeWith(0) {
		p = spec.TargetSize - sizeWith(0)
		for range 4 {
			p += spec.TargetSize - sizeWith(p)
		}
		p = max(0, p)
	}
	return finishLayout(spec, body, offsets, p)
}

func digits(n int64) int64 { return int64(len(strconv.FormatInt(n, 10))) }

// The fixed pieces around the padding; objPadding and objCount are single digits.
const (
	paddingHead = "7 0 obj\n<< /Length "
	paddingOpen = " >>\nstream\n"
	endPadding  = "\nendstream\nendobj\n"
	xrefHead    = "xref\n0 8\n0000000000 65535 f \n"
	trailerHead = "trailer\n<< /Size 8 /Root 1 0 R /Info 6 0 R >>\nstartxref\n"
	pdfEOF      = "\n%%EOF\n"
)

// buildBody lays out everything before the padding object: it does not depend on the padding
// length, so it is built once per document.
func buildBody(spec pdfSpec) ([]byte, [objCount]int) {
	var offsets [objCount]int
	b := make([]byte, 0, 2048)
	// The binary comment on line 2 tells transfer tools the file is binary.
	b = append(b, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"...)
	obj := func(n int, parts ...string) {
		offsets[n] = len(b)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, " 0 obj\n"...)
		for _, p := range parts {
			b = append(b, p...)
		}
		b = append(b, "\nendobj\n"...)
	}
	obj(objCatalog, "<< /Type /Catalog /Pages 2 0 R >>")
	obj(objPages, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj(objPage, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>")
	obj(objFont, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	text := pageContent(spec.Lines)
	obj(objContents, "<< /Length ", strconv.Itoa(len(text)), " >>\nstream\n", text, "\nendstream")
	obj(objInfo, "<< /Title ", pdfTextString(spec.Title), " /Producer (eFactori stand-in) >>")
	offsets[objPadding] = len(b)
	return b, offsets
}

func finishLayout(spec pdfSpec, body []byte, offsets [objCount]int, padLen int64) pdfLayout {
	head := append(body, paddingHead...)
	head = strconv.AppendInt(head, padLen, 10)
	head = append(head, paddingOpen...)
	xref := int64(len(head)) + padLen + int64(len(endPadding))
	t := make([]byte, 0, 256)
	t = append(t, endPadding...)
	t = append(t, xrefHead...)
	for _, off := range offsets[1:] {
		// Offsets after the padding would need padLen added; the padding object is last.
		t = appendZeroPadded(t, int64(off), 10)
		t = append(t, " 00000 n \n"...)
	}
	t = append(t, trailerHead...)
	t = strconv.AppendInt(t, xref, 10)
	t = append(t, pdfEOF...)
	return pdfLayout{head: head, padLen: padLen, tail: t, xref: xref, padKey: spec.PadKey}
}

func appendZeroPadded(b []byte, n int64, width int) []byte {
	s := strconv.FormatInt(n, 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

func (l pdfLayout) size() int64 { return int64(len(l.head)) + l.padLen + int64(len(l.tail)) }

// writeTo streams the file to w; only a small buffer is held, whatever the size.
func (l pdfLayout) writeTo(w io.Writer) error {
	if _, err := w.Write(l.head); err != nil {
		return err
	}
	if err := writePadding(w, l.padKey, l.padLen); err != nil {
		return err
	}
	_, err := w.Write(l.tail)
	return err
}

// writePadding writes n bytes of AES-CTR keystream. It is deterministic for a key, looks like
// the incompressible scans real attachments carry, and runs at memory speed.
func writePadding(w io.Writer, key [32]byte, n int64) error {
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		return fmt.Errorf("padding cipher: %w", err)
	}
	stream := cipher.NewCTR(block, key[16:32])
	bp := paddingBufs.Get().(*[]byte)
	defer paddingBufs.Put(bp)
	buf := *bp
	for n > 0 {
		chunk := buf[:min(int64(len(buf)), n)]
		clear(chunk)
		stream.XORKeyStream(chunk, chunk)
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		n -= int64(len(chunk))
	}
	return nil
}

// paddingBufs saves allocating a chunk per document when a listing hashes thousands of them.
var paddingBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// digest returns the size and hex sha256 of the file by streaming it through the hash.
func (l pdfLayout) digest() (int64, string) {
	h := sha256.New()
	_ = l.writeTo(h) // hash.Hash never returns an error
	return l.size(), hex.EncodeToString(h.Sum(nil))
}

// pageContent draws lines of Helvetica top-down; the first line is larger, as a heading.
func pageContent(lines []string) string {
	b := make([]byte, 0, 512)
	b = append(b, "BT\n/F1 18 Tf\n50 780 Td\n22 TL\n"...)
	for i, line := range lines {
		if i == 1 {
			b = append(b, "/F1 11 Tf\n16 TL\n"...)
		}
		b = appendLiteral(b, line)
		b = append(b, " '\n"...)
	}
	b = append(b, "ET"...)
	return string(b)
}

// pdfLiteral encodes s as a PDF literal string in WinAnsiEncoding.
func pdfLiteral(s string) string { return string(appendLiteral(nil, s)) }

// appendLiteral appends s as a PDF literal string in WinAnsiEncoding, escaping every byte
// outside printable ASCII so the content stream stays 7-bit. Characters WinAnsi lacks (emoji)
// become "?".
func appendLiteral(b []byte, s string) []byte {
	b = append(b, '(')
	for _, r := range s {
		c, ok := winAnsi(r)
		switch {
		case !ok:
			b = append(b, '?')
		case c == '(' || c == ')' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c > 0x7e:
			b = append(b, '\\', '0'+c>>6, '0'+c>>3&7, '0'+c&7)
		default:
			b = append(b, c)
		}
	}
	return append(b, ')')
}

// winAnsi maps r to its WinAnsiEncoding (cp1252) byte.
func winAnsi(r rune) (byte, bool) {
	if r < 0x80 || (r >= 0xa0 && r <= 0xff) {
		return byte(r), true
	}
	c, ok := winAnsiHigh[r]
	return c, ok
}

// winAnsiHigh holds the cp1252 characters outside Latin-1.
var winAnsiHigh = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b,
	'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
}

// pdfTextString encodes s as UTF-16BE with a byte-order mark, the only PDF text-string encoding
// that carries every character (emoji included).
func pdfTextString(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	const hexDigits = "0123456789ABCDEF"
	for _, u := range utf16.Encode([]rune(s)) {
		b.Write([]byte{hexDigits[u>>12], hexDigits[u>>8&0xf], hexDigits[u>>4&0xf], hexDigits[u&0xf]})
	}
	b.WriteByte('>')
	return b.String()
}

// wrapText splits s into lines of at most width runes, at spaces where it can.
func wrapText(s string, width int) []string {
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		for len(w) > width {
			if len(cur) > 0 {
				lines = append(lines, string(cur))
				cur = nil
			}
			lines = append(lines, string(w[:width]))
			w = w[width:]
		}
		if len(cur) > 0 && len(cur)+1+len(w) > width {
			lines = append(lines, string(cur))
			cur = nil
		}
		if len(cur) > 0 {
			cur = append(cur, ' ')
		}
		cur = append(cur, w...)
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}
