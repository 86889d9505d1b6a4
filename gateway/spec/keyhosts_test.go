package spec

import "testing"

func TestCheckKeyHost(t *testing.T) {
	for _, ok := range []string{"api.groq.com", "127.0.0.1:8000", "[::1]:8000", "*.corp.example", "*.corp.example:8443", "::1"} {
		if err := CheckKeyHost(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "https://api.groq.com", "api.groq.com/v1", "host:0", "host:x", "*", "10.0.0.0/8", "a b"} {
		if err := CheckKeyHost(bad); err == nil {
			t.Errorf("%q passed", bad)
		}
	}
}
