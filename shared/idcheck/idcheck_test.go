package idcheck

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The helpers below compute check characters the way the standards print
// them (weight tables), independently of the code under test.

// gb11643Weights and gb11643Check are the tables printed in GB 11643-1999.
var gb11643Weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const gb11643Check = "10X98765432" // indexed by sum mod 11

func residentCheck(first17 string) byte {
	sum := 0
	for i, w := range gb11643Weights {
		sum += int(first17[i]-'0') * w
	}
	return gb11643Check[sum%11]
}

// withResidentCheck completes 17 digits to a resident ID number.
func withResidentCheck(first17 string) string { return first17 + string(residentCheck(first17)) }

// mod11_2Naive computes weights as powers of two by repeated doubling and
// the check by search: the character c with sum + c ≡ 1 (mod 11).
func mod11_2Naive(digits string) byte {
	n, sum := len(digits), 0
	for i := 0; i < n; i++ {
		w := 1
		for k := 0; k < n-i; k++ {
			w = w * 2 % 11
		}
		sum += int(digits[i]-'0') * w
	}
	for c := 0; c < 11; c++ {
		if (sum+c)%11 == 1 {
			return "0123456789X"[c]
		}
	}
	panic("unreachable")
}

// usccCheckNaive computes the GB 32100 check with weights 3^i mod 31.
func usccCheckNaive(first17 string) byte {
	const cs = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(cs, first17[i]) * w
		w = w * 3 % 31
	}
	return cs[(31-sum%31)%31]
}

func withUSCCCheck(first17 string) string { return first17 + string(usccCheckNaive(first17)) }

// fixNow pins the package clock for one test.
func fixNow(t *testing.T, at time.Time) {
	t.Helper()
	old := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = old })
}

func TestMod11_2(t *testing.T) {
	tests := []struct {
		digits string
		want   byte
	}{
		// GB 11643-1999's own example 11010519491231002X.
		{"11010519491231002", 'X'},
		// The contract's example serial 13010012026112200000013: its check
		// character 3 is right under the rule.
		{"1301001202611220000001", '3'},
		{"0000000000000000000000", '1'},
		{"9999999999999999999999", mod11_2Naive("9999999999999999999999")},
		{"7", mod11_2Naive("7")},
	}
	for _, tt := range tests {
		got, err := Mod11_2(tt.digits)
		if err != nil || got != tt.want {
			t.Errorf("Mod11_2(%s) = %q, %v; want %q", tt.digits, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "12a4", " 123", "１２３"} {
		if _, err := Mod11_2(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("Mod11_2(%q) err = %v, want ErrFormat", bad, err)
		}
	}
}

func TestMod11_2MatchesGB11643Table(t *testing.T) {
	for _, p := range []string{"11010519491231002", "44052418800101001", "13010020000101123", "65010119991231999"} {
		got, _ := Mod11_2(p)
		if want := residentCheck(p); got != want {
			t.Errorf("Mod11_2(%s) = %q, GB 11643 table says %q", p, got, want)
		}
	}
}

func TestMod11_2DoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = Mod11_2("1301001202611220000001") }); n != 0 {
		t.Errorf("Mod11_2 allocates %v times per call", n)
	}
}

func TestResidentID(t *testing.T) {
	fixNow(t, time.Date(2026, 11, 22, 10, 0, 0, 0, shanghai))
	tests := []struct {
		name, id string
		want     error // nil for valid
	}{
		{"standard example", "11010519491231002X", nil},
		{"lower-case x", "11010519491231002x", nil},
		{"digit check", withResidentCheck("13010020000229123"), nil}, // 2000 is a leap year
		{"Hong Kong prefix", withResidentCheck("81000019900101001"), nil},
		{"born today", withResidentCheck("31011520261122001"), nil},
		{"born 1900-01-01", withResidentCheck("11010119000101001"), nil},

		{"empty", "", ErrFormat},
		{"17 chars", "11010519491231002", ErrFormat},
		{"19 chars", "11010519491231002X1", ErrFormat},
		{"letter inside", "1101051949123100AX", ErrFormat},
		{"bad last char", "11010519491231002Y", ErrFormat},
		{"15-digit old format", "110105491231002", ErrFormat},
		{"full-width digits", "１１０１０５１９４９１２３１００２X", ErrFormat},

		{"province 00", withResidentCheck("00010519491231002"), ErrRegion},
		{"province 16", withResidentCheck("16010519491231002"), ErrRegion},
		{"province 99", withResidentCheck("99010519491231002"), ErrRegion},

		{"February 30", withResidentCheck("11010519900230002"), ErrBirthDate},
		{"1900 not leap", withResidentCheck("11010519000229002"), ErrBirthDate},
		{"month 13", withResidentCheck("11010519901301002"), ErrBirthDate},
		{"day 00", withResidentCheck("11010519900100002"), ErrBirthDate},
		{"tomorrow", withResidentCheck("11010520261123002"), ErrBirthDate},
		// GB 11643's second example is born in 1880: its check digit is
		// right, its date before our 1900 floor.
		{"standard example 1880", "440524188001010014", ErrBirthDate},

		{"check digit off by one", "110105194912310021", ErrCheckDigit},
		{"X where a digit belongs", "11010519491231001X", ErrCheckDigit},
		{"transposed digits", "11010519491213002X", ErrCheckDigit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ResidentID(tt.id)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ResidentID(%s) = %v, want valid", tt.id, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("ResidentID(%s) = %v (code %q), want %v", tt.id, err, CodeOf(err), tt.want)
			}
			if CodeOf(err) != tt.want.(*Error).Code {
				t.Errorf("CodeOf = %q", CodeOf(err))
			}
			if len(tt.id) == 18 && strings.Contains(err.Error(), tt.id[6:]) {
				t.Errorf("error %q repeats the ID number", err)
			}
		})
	}
}

func TestUSCC(t *testing.T) {
	tests := []struct {
		name, code string
		want       error
	}{
		// A published code; its check character 3 is right (see usccCheckNaive).
		{"published example", "91350100M000100Y43", nil},
		{"computed enterprise", withUSCCCheck("91110000600037341"), nil},
		{"computed social org", withUSCCCheck("51100000500019585"), nil},
		{"check character 0", check0USCC(t), nil},
		{"authority Y", withUSCCCheck("Y1130100MA0000001"), nil},

		{"empty", "", ErrFormat},
		{"17 chars", "91350100M000100Y4", ErrFormat},
		{"lower case", "91350100m000100y43", ErrFormat},
		{"letter I", "91350100I000100Y43", ErrFormat},
		{"letter O", "91350100O000100Y43", ErrFormat},
		{"letter Z", "91350100Z000100Y43", ErrFormat},
		{"letter S", "91350100S000100Y43", ErrFormat},
		{"letter V", "91350100V000100Y43", ErrFormat},
		{"unknown authority", withUSCCCheck("B1350100M000100Y4"), ErrFormat},
		{"letter in region", withUSCCCheck("913501A0M000100Y4"), ErrFormat},

		{"wrong check", "91350100M000100Y44", ErrCheckCharacter},
		{"changed body", "91350100M000101Y43", ErrCheckCharacter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := USCC(tt.code)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("USCC(%s) = %v, want valid", tt.code, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("USCC(%s) = %v (code %q), want %v", tt.code, err, CodeOf(err), tt.want)
			}
		})
	}
}

// check0USCC finds a code whose check value is 31, written '0'.
func check0USCC(t *testing.T) string {
	for i := 0; i < 1000; i++ {
		c := withUSCCCheck("9111000060003" + pad4(i))
		if c[17] == '0' {
			return c
		}
	}
	t.Fatal("no code with check character 0 in 1000 tries")
	return ""
}

func pad4(i int) string {
	return string([]byte{byte('0' + i/1000%10), byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}

func TestMobile(t *testing.T) {
	for _, ok := range []string{"13800138000", "19912345678", "15000000000"} {
		if err := Mobile(ok); err != nil {
			t.Errorf("Mobile(%s) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1380013800", "138001380000", "12800138000", "10800138000", "23800138000", "+8613800138000", "138-0013-8000", "1380013800a"} {
		if err := Mobile(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("Mobile(%q) = %v, want ErrFormat", bad, err)
		}
	}
}

func TestRegion(t *testing.T) {
	for _, ok := range []string{"110000", "130100", "150000", "210000", "230000", "310115", "370000", "410000", "460000", "500000", "540000", "610000", "650000", "710000", "810000", "820000"} {
		if err := Region(ok); err != nil {
			t.Errorf("Region(%s) = %v", ok, err)
		}
	}
	for _, bad := range []string{"000000", "100000", "160000", "200000", "240000", "300000", "380000", "470000", "550000", "660000", "700000", "720000", "800000", "830000", "990000"} {
		if err := Region(bad); !errors.Is(err, ErrRegion) {
			t.Errorf("Region(%s) = %v, want ErrRegion", bad, err)
		}
	}
	for _, bad := range []string{"", "13010", "1301000", "13010a", " 30100"} {
		if err := Region(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("Region(%q) = %v, want ErrFormat", bad, err)
		}
	}
}

func TestCodeOf(t *testing.T) {
	if CodeOf(nil) != "" || CodeOf(errors.New("x")) != "" {
		t.Error("CodeOf of a foreign error is not empty")
	}
	if CodeOf(ResidentID("")) != CodeFormat {
		t.Error("CodeOf(ResidentID(\"\")) is not format")
	}
	if errors.Is(ErrFormat, ErrCheckDigit) {
		t.Error("distinct codes match")
	}
}

// --- fuzz ---

// mutate returns s with the byte at pos replaced by c, and whether that is
// a real change (not the accepted x/X case folding of a check character).
func mutate(s string, pos int, c byte) (string, bool) {
	b := []byte(s)
	old := b[pos]
	b[pos] = c
	same := old == c || (pos == 17 && (old|0x20) == 'x' && (c|0x20) == 'x')
	return string(b), !same
}

func FuzzMod11_2(f *testing.F) {
	for _, s := range []string{"1301001202611220000001", "11010519491231002", "", "x", "0", "99999999999999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Mod11_2(s)
		if err != nil {
			if s != "" && allDigits(s) {
				t.Fatalf("Mod11_2(%q) rejected digits: %v", s, err)
			}
			return
		}
		if s == "" || !allDigits(s) {
			t.Fatalf("Mod11_2(%q) accepted a non-digit string", s)
		}
		if len(s) <= 64 {
			if want := mod11_2Naive(s); c != want {
				t.Fatalf("Mod11_2(%q) = %q, naive %q", s, c, want)
			}
		}
	})
}

func FuzzResidentID(f *testing.F) {
	f.Add("11010519491231002X", uint32(0), uint8(0), byte('1'))
	f.Add("440524188001010014", uint32(12345), uint8(17), byte('x'))
	f.Add("", uint32(99999), uint8(9), byte('X'))
	f.Fuzz(func(t *testing.T, s string, seed uint32, pos uint8, c byte) {
		// Whatever s is: no panic, and anything accepted re-validates.
		if err := ResidentID(s); err == nil {
			if err := ResidentID(strings.ToUpper(s)); err != nil {
				t.Fatalf("ResidentID(%q) ok but upper-cased: %v", s, err)
			}
			last := s[17]
			if last == 'x' {
				last = 'X'
			}
			if got := residentCheck(s[:17]); got != last {
				t.Fatalf("ResidentID(%q) accepted a wrong check digit (table says %q)", s, got)
			}
		} else if CodeOf(err) == "" {
			t.Fatalf("ResidentID(%q) error without a code: %v", s, err)
		}
		// A valid ID built from seed: a single changed character is rejected.
		id := validResidentID(seed)
		if err := ResidentID(id); err != nil {
			t.Fatalf("built ID %s rejected: %v", id, err)
		}
		if m, changed := mutate(id, int(pos)%18, c); changed {
			if ResidentID(m) == nil {
				t.Fatalf("ResidentID(%q) accepted one changed character of %s", m, id)
			}
		}
	})
}

// validResidentID derives a valid ID number from seed: one of a few real
// regions, a birth date between 1900 and 2009, a sequence.
func validResidentID(seed uint32) string {
	regions := []string{"110105", "130100", "310115", "440524", "650102", "820000"}
	birth := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(seed%40000))
	seq := seed % 1000
	first17 := regions[seed%uint32(len(regions))] + birth.Format("20060102") +
		string([]byte{byte('0' + seq/100), byte('0' + seq/10%10), byte('0' + seq%10)})
	return withResidentCheck(first17)
}

func FuzzUSCC(f *testing.F) {
	f.Add("91350100M000100Y43", []byte("seed"), uint8(0), byte('1'))
	f.Add("91350100m000100y43", []byte{0, 255, 17}, uint8(17), byte('0'))
	f.Add("", []byte{}, uint8(3), byte('A'))
	f.Fuzz(func(t *testing.T, s string, seed []byte, pos uint8, c byte) {
		if err := USCC(s); err == nil {
			if got := usccCheckNaive(s[:17]); got != s[17] {
				t.Fatalf("USCC(%q) accepted a wrong check character (naive %q)", s, got)
			}
			if strings.ToUpper(s) != s {
				t.Fatalf("USCC(%q) accepted lower case", s)
			}
		} else if CodeOf(err) == "" {
			t.Fatalf("USCC(%q) error without a code: %v", s, err)
		}
		code := validUSCC(seed)
		if err := USCC(code); err != nil {
			t.Fatalf("built code %s rejected: %v", code, err)
		}
		if m, changed := mutate(code, int(pos)%18, c); changed {
			if USCC(m) == nil {
				t.Fatalf("USCC(%q) accepted one changed character of %s", m, code)
			}
		}
	})
}

// validUSCC derives a valid code from seed bytes.
func validUSCC(seed []byte) string {
	at := func(i int) byte {
		if len(seed) == 0 {
			return byte(i * 7)
		}
		return seed[i%len(seed)] + byte(i*7)
	}
	b := make([]byte, 17)
	b[0] = usccAuthorities[int(at(0))%len(usccAuthorities)]
	b[1] = usccCharset[int(at(1))%len(usccCharset)]
	for i := 2; i < 8; i++ {
		b[i] = '0' + at(i)%10
	}
	for i := 8; i < 17; i++ {
		b[i] = usccCharset[int(at(i))%len(usccCharset)]
	}
	return withUSCCCheck(string(b))
}

func TestPassport(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"E12345678", true}, {"G1234", true}, {"ab12345678901234567X", true},
		{"", false}, {"E123", false}, {"E1234567890123456789X", false}, {"E1234 5678", false}, {"护照12345", false},
	} {
		if err := Passport(tc.in); (err == nil) != tc.ok {
			t.Errorf("Passport(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
		if err := Passport(tc.in); err != nil && CodeOf(err) != CodeFormat {
			t.Errorf("Passport(%q) code %q, want %q", tc.in, CodeOf(err), CodeFormat)
		}
	}
}
