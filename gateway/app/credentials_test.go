package app

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSetCredential: a credential's assignment is replaced, others' stay, even when two keys'
// names make one variable name; a file of an earlier release (no labels) is taken over.
func TestSetCredential(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	f := func(label, name, value, want string) {
		t.Helper()
		if err := setCredential(path, label, name, value); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		if string(b) != want {
			t.Fatalf("after %s=%s:\n%s\nwant:\n%s", name, value, b, want)
		}
	}
	os.WriteFile(path, []byte("IOM_ADMIN_TOKEN=old\nIOM_KEY_APP=app1\n"), 0o600)
	f("admin token", "IOM_ADMIN_TOKEN", "t1",
		"IOM_KEY_APP=app1\n# admin token\nIOM_ADMIN_TOKEN=t1\n")
	f(`gateway key "a-b"`, "IOM_KEY_A_B", "k1",
		"IOM_KEY_APP=app1\n# admin token\nIOM_ADMIN_TOKEN=t1\n# gateway key \"a-b\"\nIOM_KEY_A_B=k1\n")
	f(`gateway key "a.b"`, "IOM_KEY_A_B", "k2",
		"IOM_KEY_APP=app1\n# admin token\nIOM_ADMIN_TOKEN=t1\n# gateway key \"a-b\"\nIOM_KEY_A_B=k1\n# gateway key \"a.b\"\nIOM_KEY_A_B=k2\n")
	f("admin token", "IOM_ADMIN_TOKEN", "t2",
		"IOM_KEY_APP=app1\n# gateway key \"a-b\"\nIOM_KEY_A_B=k1\n# gateway key \"a.b\"\nIOM_KEY_A_B=k2\n# admin token\nIOM_ADMIN_TOKEN=t2\n")
	f(`gateway key "a-b"`, "IOM_KEY_A_B", "k3",
		"IOM_KEY_APP=app1\n# gateway key \"a.b\"\nIOM_KEY_A_B=k2\n# admin token\nIOM_ADMIN_TOKEN=t2\n# gateway key \"a-b\"\nIOM_KEY_A_B=k3\n")
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	labels, bare := savedCredentials(path)
	if !labels["admin token"] || !labels[`gateway key "a.b"`] || !labels[`gateway key "a-b"`] || !bare["IOM_KEY_APP"] || bare["IOM_ADMIN_TOKEN"] {
		t.Fatalf("saved: %v %v", labels, bare)
	}
}
