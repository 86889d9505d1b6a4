package main

// The rules, as in pii_redact.c:
//
//	e-mail  local@domain.tld: local part [A-Za-z0-9._%+-] and non-ASCII letters, domain
//	        [A-Za-z0-9.-] and non-ASCII letters, with a dot and a top-level label of two or more
//	        ASCII letters.
//	card    13 to 19 digits, optionally grouped by single spaces or hyphens, passing the Luhn
//	        check.
//	phone   7 to 15 digits, optionally led by '+' and grouped by spaces, hyphens or
//	        parentheses, that start with '+', contain a separator, or have 10 digits or more.
//	        A run of digits that is neither is skipped whole.

const redacted = "[REDACTED]"

// Character classes, by table: the scan looks at every byte of every message. Bytes of
// multi-byte UTF-8 sequences count as letters, for internationalised addresses.
const (
	digit = 1 << iota
	alpha
	local
	domain
)

var class = func() (t [256]byte) {
	for c := range 256 {
		var k byte
		switch {
		case c >= '0' && c <= '9':
			k = digit | local | domain
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			k = alpha | local | domain
		case c >= 0x80 || c == '.' || c == '-':
			k = local | domain
		case c == '_' || c == '%' || c == '+':
			k = local
		}
		t[c] = k
	}
	return t
}()

// redact appends s to out with PII replaced and returns how many spans it replaced. An address
// is found from its '@', looking back for the local part and ahead for the domain, so ordinary
// words cost one table lookup per byte.
func redact(out, s []byte) ([]byte, int) {
	count, copied := 0, 0
	for i := 0; i < len(s); {
		c := s[i]
		start, end := i, 0
		if c == '@' {
			for start > copied && class[s[start-1]]&local != 0 {
				start--
			}
			if start < i {
				end = domainEnd(s, i+1)
			}
		} else if (class[c]&digit != 0 || c == '+' || c == '(') && (i == 0 || class[s[i-1]]&(digit|alpha) == 0) {
			var scanned int
			if end, scanned = numberEnd(s, i); end == 0 {
				i = scanned
				continue
			}
		}
		if end > 0 {
			out = append(out, s[copied:start]...)
			out = append(out, redacted...)
			count++
			i, copied = end, end
			continue
		}
		i++
	}
	return append(out, s[copied:]...), count
}

// domainEnd returns the end of an address's domain starting at s[d], or 0: a dot, and a
// top-level label of two or more ASCII letters.
func domainEnd(s []byte, d int) int {
	k := d
	for k < len(s) && class[s[k]]&domain != 0 {
		k++
	}
	for k > d && (s[k-1] == '.' || s[k-1] == '-') {
		k--
	}
	dot := 0
	for x := d; x < k; x++ {
		if s[x] == '.' {
			dot = x
		}
	}
	if dot == 0 || dot == d || k-dot-1 < 2 {
		return 0
	}
	for x := dot + 1; x < k; x++ {
		if class[s[x]]&alpha == 0 {
			return 0
		}
	}
	return k
}

func luhn(digits []byte) bool {
	sum := 0
	for i := range digits {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// numberEnd returns the end of a card or phone number starting at s[i], or 0, and the end of
// the run of digits and separators it read.
func numberEnd(s []byte, i int) (end, scanned int) {
	var digits [20]byte
	nd, j, run := 0, i, 0
	plus, sep, tooLong := false, false, false
	if s[j] == '+' {
		plus = true
		j++
	}
	for j < len(s) {
		c := s[j]
		if class[c]&digit != 0 {
			if nd == len(digits) {
				tooLong = true
			} else {
				digits[nd] = c
				nd++
			}
			if run > 0 && nd > 1 {
				sep = true
			}
			run = 0
			j++
			end = j
		} else if (c == ' ' || c == '-' || c == '(' || c == ')') && run < 2 {
			run++
			j++
		} else {
			break
		}
	}
	scanned = max(end, i+1)
	// digits running into a letter, or into an address ("+15551234567@example.com"), are not a
	// number of their own
	if end == 0 || tooLong || end < len(s) && (class[s[end]]&(digit|alpha) != 0 || s[end] == '@') {
		return 0, scanned
	}
	if nd >= 13 && nd <= 19 && !plus && luhn(digits[:nd]) {
		return end, scanned
	}
	if nd >= 7 && nd <= 15 && (plus || sep || nd >= 10) {
		return end, scanned
	}
	return 0, scanned
}
