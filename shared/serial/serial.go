// Package serial is the unified application serial number (统一申办流水号,
// contract section 2): its format, its check character, and the allocator
// that never issues one twice.
//
// A serial is 23 characters, RRRRRR C YYYYMMDD NNNNNNN K without spaces:
// region, channel, the Asia/Shanghai issue date, a sequence per (region,
// channel, date) from 0000001, and the ISO 7064 MOD 11-2 check character
// over the first 22 digits. Case-submit and payment orders draw from the
// same Allocator, so every serial of the platform is unique.
package serial

import (
	"fmt"
	"strconv"
	"time"

	"github.com/onewindow/onewindow/shared/idcheck"
)

// Len is the length of a serial.
const Len = 23

// MaxSequence is the last sequence number of a (region, channel, date): the
// sequence has 7 digits. The allocator answers ErrExhausted past it rather
// than wrap or widen.
const MaxSequence = 9_999_999

// Shanghai is Asia/Shanghai, whose calendar decides a serial's date. China
// has kept UTC+8 without daylight saving since 1991, so a fixed zone is
// exact for every date a serial can carry and needs no tz database in the
// container.
var Shanghai = time.FixedZone("CST", 8*60*60)

// Channel is how an application reached the platform, the serial's 8th
// character.
type Channel uint8

// The channels of contract section 2. Payment orders (缴费流水号) are issued
// by payment flows inside OneWindow, never through POST /.
const (
	Online     Channel = 1 // 网上申报: portals, mobile and WeChat halls
	Onsite     Channel = 2 // 现场申报: a hall window
	Department Channel = 3 // a department's own business system
	Payment    Channel = 9 // 缴费流水号
)

// ParseChannel returns the channel called name: online, onsite, department
// or payment.
func ParseChannel(name string) (Channel, error) {
	switch name {
	case "online":
		return Online, nil
	case "onsite":
		return Onsite, nil
	case "department":
		return Department, nil
	case "payment":
		return Payment, nil
	}
	return 0, fmt.Errorf("unknown channel %q (want online, onsite, department or payment)", name)
}

// channelOfDigit is the inverse of Digit; 0 for digits that are no channel.
func channelOfDigit(d byte) Channel {
	switch c := Channel(d - '0'); c {
	case Online, Onsite, Department, Payment:
		return c
	}
	return 0
}

// Name is the channel's name in the API (online, onsite, department,
// payment), "" for an invalid channel.
func (c Channel) Name() string {
	switch c {
	case Online:
		return "online"
	case Onsite:
		return "onsite"
	case Department:
		return "department"
	case Payment:
		return "payment"
	}
	return ""
}

// String is Name, or channel(N) for an invalid one.
func (c Channel) String() string {
	if n := c.Name(); n != "" {
		return n
	}
	return "channel(" + strconv.Itoa(int(c)) + ")"
}

// Digit is the channel's character in a serial ('1', '2', '3', '9').
func (c Channel) Digit() byte { return '0' + byte(c) }

// Valid reports whether c is one of the four channels.
func (c Channel) Valid() bool { return c.Name() != "" }

// Date is a civil date in Asia/Shanghai: no time, no zone. It is
// comparable, so it can key a map.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the Asia/Shanghai calendar date of the instant t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Shanghai).Date()
	return Date{y, m, d}
}

// Start is the instant the date begins: midnight Asia/Shanghai.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, Shanghai) }

// Valid reports whether d is a real calendar date of years 1-9999.
func (d Date) Valid() bool {
	if d.Year < 1 || d.Year > 9999 {
		return false
	}
	return DateOf(d.Start()) == d // time.Date normalises 02-30 to 03-02
}

// Before reports whether d is an earlier date than e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// String formats d as 2006-01-02, the contract's date format.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Serial is one unified serial number, parsed.
type Serial struct {
	// Region is the issuing region's 6-digit GB/T 2260 code.
	Region string
	// Channel is how the application arrived.
	Channel Channel
	// Date is the Asia/Shanghai date the serial was issued.
	Date Date
	// Sequence is 1..MaxSequence within (Region, Channel, Date).
	Sequence int
}

// AppendTo appends the 23-character serial to b and returns the extended
// buffer. It does not allocate when b has room, which keeps formatting off
// the allocator's hot path. Fields out of range (a region that is not six
// digits, a sequence over MaxSequence) give a string Parse rejects.
func (s Serial) AppendTo(b []byte) []byte {
	start := len(b)
	b = append(b, s.Region...)
	b = append(b, s.Channel.Digit())
	b = appendDigits(b, s.Date.Year, 4)
	b = appendDigits(b, int(s.Date.Month), 2)
	b = appendDigits(b, s.Date.Day, 2)
	b = appendDigits(b, s.Sequence, 7)
	// The conversion does not escape, so it uses a stack buffer.
	check, err := idcheck.Mod11_2(string(b[start:]))
	if err != nil {
		check = '?'
	}
	return append(b, check)
}

// appendDigits appends the low width (at most 8) decimal digits of n,
// zero-padded; a negative n counts as 0.
func appendDigits(b []byte, n, width int) []byte {
	var tmp [8]byte
	n = max(n, 0)
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[:width]...)
}

// String returns the serial's 23 characters.
func (s Serial) String() string {
	var buf [Len]byte
	return string(s.AppendTo(buf[:0]))
}

// MarshalText makes a Serial encode as its 23-character string in JSON.
func (s Serial) MarshalText() ([]byte, error) { return s.AppendTo(make([]byte, 0, Len)), nil }

// UnmarshalText parses a serial; see Parse.
func (s *Serial) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// The reasons a string is not a serial, as GET /verify names them.
const (
	ReasonFormat         = "format"
	ReasonCheckCharacter = "check_character"
)

// ParseError says why a string is not a serial.
type ParseError struct {
	// Reason is ReasonFormat or ReasonCheckCharacter.
	Reason string
	// Detail is a sentence in English for logs and problem details.
	Detail string
}

func (e *ParseError) Error() string { return "parse serial: " + e.Detail }

// Parse reads a serial. It is strict about everything but the case of the
// check character: 'x' is read as 'X', as for the resident ID whose rule
// the serial borrows, since serials are typed by hand at hall windows.
// String gives the canonical form.
//
// Reason ReasonFormat: not 23 characters, not digits, a region without a
// real province, a channel other than 1, 2, 3 or 9, a date that does not
// exist, or sequence 0000000. Reason ReasonCheckCharacter: well formed, but
// the 23rd character does not match the first 22.
func Parse(s string) (Serial, error) {
	if len(s) != Len {
		return Serial{}, formatError("a serial has %d characters, not %d", Len, len(s))
	}
	body := s[:Len-1]
	check := s[Len-1]
	if check == 'x' {
		check = 'X'
	}
	want, err := idcheck.Mod11_2(body)
	if err != nil || (check != 'X' && (check < '0' || check > '9')) {
		return Serial{}, formatError("a serial is 22 digits and a check character (digit or X)")
	}
	if err := idcheck.Region(s[:6]); err != nil {
		return Serial{}, formatError("region %s does not exist", s[:6])
	}
	ch := channelOfDigit(s[6])
	if ch == 0 {
		return Serial{}, formatError("channel %c is not 1, 2, 3 or 9", s[6])
	}
	d := Date{atoi(s[7:11]), time.Month(atoi(s[11:13])), atoi(s[13:15])}
	if !d.Valid() {
		return Serial{}, formatError("date %s does not exist", s[7:15])
	}
	seq := atoi(s[15:22])
	if seq == 0 {
		return Serial{}, formatError("sequence 0000000 is never issued")
	}
	if check != want {
		return Serial{}, &ParseError{Reason: ReasonCheckCharacter, Detail: "the check character does not match"}
	}
	return Serial{Region: s[:6], Channel: ch, Date: d, Sequence: seq}, nil
}

func formatError(format string, args ...any) *ParseError {
	return &ParseError{Reason: ReasonFormat, Detail: fmt.Sprintf(format, args...)}
}

// atoi parses digits already checked.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// Verification is the answer of GET /verify (contract section 2): either
// valid with the serial's parts, or not valid with a reason.
type Verification struct {
	Valid    bool   `json:"valid"`
	Region   string `json:"region,omitempty"`
	Channel  string `json:"channel,omitempty"`
	Date     string `json:"date,omitempty"`
	Sequence int    `json:"sequence,omitempty"`
	// Reason is ReasonFormat or ReasonCheckCharacter when not valid.
	Reason string `json:"reason,omitempty"`
}

// Verify checks s and describes it. An empty s (a missing query parameter)
// is not valid by reason of format: the endpoint's answer stays one shape.
func Verify(s string) Verification {
	v, err := Parse(s)
	if err != nil {
		reason := ReasonFormat
		if pe, ok := err.(*ParseError); ok {
			reason = pe.Reason
		}
		return Verification{Valid: false, Reason: reason}
	}
	return Verification{Valid: true, Region: v.Region, Channel: v.Channel.Name(),
		Date: v.Date.String(), Sequence: v.Sequence}
}
