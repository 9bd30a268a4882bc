// Package idcheck checks the format and check characters of Chinese
// identifiers: the resident ID number (GB 11643), the unified social credit
// code (GB 32100), the mainland mobile number and the administrative
// division code (GB/T 2260). It also computes the ISO 7064 MOD 11-2 check
// character that the resident ID and the unified serial number share.
//
// Every function is pure (no I/O) and safe for concurrent use. Errors are
// *Error values whose Code says what is wrong, so a validator can turn them
// into field codes; compare with errors.Is against ErrFormat, ErrRegion,
// ErrBirthDate, ErrCheckDigit and ErrCheckCharacter.
//
// It imports nothing of ours so that every package can use it.
package idcheck

import (
	"errors"
	"fmt"
	"time"
)

// Error is what the checks of this package return. Code is a stable
// snake_case word (see the Code constants); Detail is a human sentence in
// English that never repeats the whole input (identifiers are personal data
// and end up in logs).
type Error struct {
	Code   string
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// Is makes errors.Is(err, ErrCheckDigit) and friends match on Code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// The codes an *Error carries.
const (
	// CodeFormat: wrong length or a character that may not appear there.
	CodeFormat = "format"
	// CodeRegion: the administrative division prefix does not exist.
	CodeRegion = "region"
	// CodeBirthDate: the resident ID's birth date is not a real date, is
	// before 1900 or is in the future.
	CodeBirthDate = "birth_date"
	// CodeCheckDigit: the resident ID's last character does not match.
	CodeCheckDigit = "check_digit"
	// CodeCheckCharacter: the unified social credit code's last character
	// does not match.
	CodeCheckCharacter = "check_character"
)

// Sentinels for errors.Is. Their Detail is generic; the errors the checks
// return carry a specific one.
var (
	ErrFormat         = &Error{Code: CodeFormat, Detail: "malformed identifier"}
	ErrRegion         = &Error{Code: CodeRegion, Detail: "unknown administrative division"}
	ErrBirthDate      = &Error{Code: CodeBirthDate, Detail: "impossible birth date"}
	ErrCheckDigit     = &Error{Code: CodeCheckDigit, Detail: "wrong check digit"}
	ErrCheckCharacter = &Error{Code: CodeCheckCharacter, Detail: "wrong check character"}
)

// CodeOf returns the Code of the *Error in err's chain, or "" when there is
// none (including err == nil).
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// shanghai is Asia/Shanghai. China has kept UTC+8 without daylight saving
// since 1991, so a fixed zone gives the same calendar dates for today and
// does not depend on the tz database being installed in the container.
var shanghai = time.FixedZone("CST", 8*60*60)

// now is the clock; tests replace it.
var now = time.Now

// Mod11_2 returns the ISO 7064 MOD 11-2 check character of a string of
// decimal digits: '0'-'9' or 'X' (for 10). Over n digits the digit at
// position i (0-based from the left) has weight 2^(n-i) mod 11, and the check
// is (12 - sum mod 11) mod 11. With n = 17 this is the GB 11643 resident ID
// rule; with n = 22 the contract's serial rule.
//
// It fails with ErrFormat when digits is empty or holds a non-digit. It does
// not allocate on success.
func Mod11_2(digits string) (byte, error) {
	if digits == "" {
		return 0, errorf(CodeFormat, "no digits to check")
	}
	// Walk from the right: the rightmost digit has weight 2^1, the next
	// 2^2, ...; powers of 2 mod 11 repeat every 10.
	sum, k := 0, 1
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, errorf(CodeFormat, "character %d is not a digit", i+1)
		}
		sum += int(c-'0') * pow2mod11[k]
		if k++; k == 10 {
			k = 0
		}
	}
	return mod11CheckChar[(12-sum%11)%11], nil
}

// pow2mod11[k] is 2^k mod 11.
var pow2mod11 = [10]int{1, 2, 4, 8, 5, 10, 9, 7, 3, 6}

const mod11CheckChar = "0123456789X"

// provinces marks the valid first two digits of a GB/T 2260 division code:
// the 34 provincial-level divisions, Taiwan (71), Hong Kong (81) and Macao (82).
var provinces = func() (p [100]bool) {
	for _, r := range [][2]int{{11, 15}, {21, 23}, {31, 37}, {41, 46}, {50, 54}, {61, 65}, {71, 71}, {81, 82}} {
		for c := r[0]; c <= r[1]; c++ {
			p[c] = true
		}
	}
	return p
}()

// Region checks a 6-digit administrative division code (GB/T 2260): six
// digits whose first two name a real province-level division (11-15, 21-23,
// 31-37, 41-46, 50-54, 61-65, 71, 81, 82). It does not know every county;
// a code with a real province is accepted.
func Region(code string) error {
	if len(code) != 6 || !allDigits(code) {
		return errorf(CodeFormat, "a region code is 6 digits")
	}
	if !provinces[int(code[0]-'0')*10+int(code[1]-'0')] {
		return errorf(CodeRegion, "region code %s: no province %s", code, code[:2])
	}
	return nil
}

// ResidentID checks an 18-character resident ID number (GB 11643-1999):
// 17 digits and a check character ('X' for 10; 'x' is accepted as 'X'),
// a real province prefix, a birth date YYYYMMDD that exists, is not before
// 1900-01-01 and not after today in Asia/Shanghai, and the MOD 11-2 check.
// The first failing rule is reported, in that order: ErrFormat, ErrRegion,
// ErrBirthDate, ErrCheckDigit.
func ResidentID(s string) error {
	if len(s) != 18 {
		return errorf(CodeFormat, "a resident ID number has 18 characters, not %d", len(s))
	}
	if !allDigits(s[:17]) {
		return errorf(CodeFormat, "the first 17 characters of a resident ID number are digits")
	}
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if (last < '0' || last > '9') && last != 'X' {
		return errorf(CodeFormat, "the last character of a resident ID number is a digit or X")
	}
	if err := Region(s[:6]); err != nil {
		return errorf(CodeRegion, "the resident ID number's region %s does not exist", s[:2]+"****")
	}
	if err := birthDate(s[6:14]); err != nil {
		return err
	}
	want, _ := Mod11_2(s[:17]) // digits checked above
	if last != want {
		return errorf(CodeCheckDigit, "the resident ID number's check digit is wrong")
	}
	return nil
}

// birthDate checks YYYYMMDD (all digits) is a real date in [1900-01-01, today].
func birthDate(d string) error {
	y, m, day := atoi(d[:4]), atoi(d[4:6]), atoi(d[6:8])
	t := time.Date(y, time.Month(m), day, 0, 0, 0, 0, shanghai)
	// time.Date normalises 02-30 to 03-02: a real date survives unchanged.
	if t.Year() != y || int(t.Month()) != m || t.Day() != day {
		return errorf(CodeBirthDate, "the birth date in the resident ID number does not exist")
	}
	if y < 1900 {
		return errorf(CodeBirthDate, "the birth date in the resident ID number is before 1900")
	}
	ty, tm, td := now().In(shanghai).Date()
	if t.After(time.Date(ty, tm, td, 0, 0, 0, 0, shanghai)) {
		return errorf(CodeBirthDate, "the birth date in the resident ID number is in the future")
	}
	return nil
}

// usccCharset is the GB 32100 alphabet: digits and capitals without I, O,
// Z, S and V. A character's value is its index.
const usccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccValue maps a byte to its value in usccCharset, -1 when it is not in it.
var usccValue = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(usccCharset); i++ {
		v[usccCharset[i]] = int8(i)
	}
	return v
}()

// usccWeights are 3^i mod 31 for the 17 positions before the check character.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// usccAuthorities are the registration authority codes of GB 32100 (first
// character): 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游,
// 7 宗教, 8 工会, 9 工商/市场监管, A 中央军委改革和编制办公室, N 农业, Y 其他.
const usccAuthorities = "123456789ANY"

// USCC checks an 18-character unified social credit code (GB 32100-2015):
// every character from the GB 32100 alphabet (upper case; no I, O, Z, S,
// V), a known registration authority first, a 6-digit region code in
// positions 3-8, and the MOD 31 check character last. Lower case is not
// accepted: the code is printed in capitals on every licence.
// Errors: ErrFormat, ErrCheckCharacter.
func USCC(s string) error {
	if len(s) != 18 {
		return errorf(CodeFormat, "a unified social credit code has 18 characters, not %d", len(s))
	}
	sum := 0
	for i := 0; i < 18; i++ {
		v := usccValue[s[i]]
		if v < 0 {
			return errorf(CodeFormat, "character %d of the unified social credit code is not allowed (digits and capitals without I, O, Z, S, V)", i+1)
		}
		if i < 17 {
			sum += int(v) * usccWeights[i]
		}
	}
	if !containsByte(usccAuthorities, s[0]) {
		return errorf(CodeFormat, "the unified social credit code's registration authority %q is unknown", s[0])
	}
	if !allDigits(s[2:8]) {
		return errorf(CodeFormat, "characters 3-8 of the unified social credit code are a region code of 6 digits")
	}
	check := 31 - sum%31
	if check == 31 {
		check = 0
	}
	if s[17] != usccCharset[check] {
		return errorf(CodeCheckCharacter, "the unified social credit code's check character is wrong")
	}
	return nil
}

// Mobile checks a mainland China mobile number: 11 digits, 1 then 3-9.
// No country code, spaces or dashes.
func Mobile(s string) error {
	if len(s) != 11 || !allDigits(s) || s[0] != '1' || s[1] < '3' {
		return errorf(CodeFormat, "a mobile number is 11 digits starting with 13-19")
	}
	return nil
}

// Passport checks the shape of a passport number: 5-20 letters and digits.
// Passports of many countries are checked by the border authority, not here.
func Passport(s string) error {
	if len(s) < 5 || len(s) > 20 {
		return errorf(CodeFormat, "a passport number is 5-20 letters and digits")
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return errorf(CodeFormat, "a passport number is 5-20 letters and digits")
		}
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// atoi parses a short string of digits already checked by allDigits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
