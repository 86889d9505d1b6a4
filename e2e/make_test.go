package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// make run takes the listeners' addresses, and make plugins has nothing to do when nothing
// changed (before, every make run rebuilt all the plugins: 53 s to restart).
func TestMakeRun(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", "-n", "run", "LISTEN=127.0.0.1:9090", "ADMIN_LISTEN=127.0.0.1:9091")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "serve --config configs/iom.yaml --listen 127.0.0.1:9090 --admin-listen 127.0.0.1:9091") {
		t.Fatalf("make run does not pass the listeners on:\n%s", out)
	}
	// make test builds the plugins first, into the directory IOM_PLUGINS_DIR names.
	if os.Getenv("IOM_PLUGINS_DIR") == "" {
		return
	}
	cmd = exec.Command("make", "-n", "plugins")
	cmd.Dir = ".."
	out, err = cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "build") {
		t.Fatalf("make plugins would rebuild although nothing changed: %v\n%s", err, out)
	}
}
