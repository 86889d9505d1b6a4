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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isLocal(c byte) bool {
	return isAlnum(c) || c >= 0x80 || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}
func isDomain(c byte) bool { return isAlnum(c) || c >= 0x80 || c == '.' || c == '-' }

// redact appends s to out with PII replaced and returns how many spans it replaced.
func redact(out, s []byte) ([]byte, int) {
	count, copied := 0, 0
	for i := 0; i < len(s); {
		c := s[i]
		end := 0
		if isLocal(c) && (i == 0 || !isLocal(s[i-1])) {
			end = emailEnd(s, i)
		}
		if end == 0 && (isDigit(c) || c == '+' || c == '(') && (i == 0 || !isAlnum(s[i-1])) {
			var scanned int
			if end, scanned = numberEnd(s, i); end == 0 {
				i = scanned
				continue
			}
		}
		if end > 0 {
			out = append(out, s[copied:i]...)
			out = append(out, redacted...)
			count++
			i, copied = end, end
			continue
		}
		i++
	}
	return append(out, s[copied:]...), count
}

func emailEnd(s []byte, i int) int {
	j := i
	for j < len(s) && isLocal(s[j]) {
		j++
	}
	if j == i || j >= len(s) || s[j] != '@' {
		return 0
	}
	d := j + 1
	k := d
	for k < len(s) && isDomain(s[k]) {
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
	if dot == 0 || dot == d {
		return 0
	}
	for x := dot + 1; x < k; x++ {
		if !isAlpha(s[x]) {
			return 0
		}
	}
	if k-dot-1 < 2 {
		return 0
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
		if isDigit(c) {
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
	if end == 0 || tooLong || end < len(s) && isAlnum(s[end]) {
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
