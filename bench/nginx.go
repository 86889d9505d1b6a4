package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// nginx is the peer the gateway's goals are set against: the same hop, made by a server built
// for nothing else, configured the way one would put it in front of an OpenAI-style upstream.

// nginxStreamPath is where nginx serves streams: nginx cannot choose a location by the request
// body, so streams have one of their own, unbuffered, and plain answers keep the default.
const nginxStreamPath = "/stream/v1/chat/completions"

// findNginx looks on PATH, then where Debian installs it (not on every user's PATH).
func findNginx() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", errors.New("nginx is not installed")
}

// nginxVersion is what `nginx -v` says, such as "nginx/1.22.1".
func nginxVersion(path string) string {
	out, _ := exec.Command(path, "-v").CombinedOutput()
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: ")
}

// startNginx runs nginx from a config in dir, listening on listen and proxying to the upstreams,
// round robin.
func startNginx(path, dir, listen string, upstreams ...string) *child {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fatalf("cannot create nginx's dir: %v", err)
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(dir, listen, upstreams)), 0o600); err != nil {
		fatalf("cannot write nginx's config: %v", err)
	}
	return startChild("nginx", path, "-p", dir+"/", "-c", conf)
}

// nginxConfig keeps every path nginx writes inside dir. One process serves (master_process off:
// the event loop a worker runs, without a master above it), so its CPU figures are all in one
// pid and SIGTERM to that pid stops nginx. Keep-alive requests are not capped on either side,
// as neither the gateway nor the bare proxy caps them.
func nginxConfig(dir, listen string, upstreams []string) string {
	servers := ""
	for _, u := range upstreams {
		servers += "        server " + u + ";\n"
	}
	return fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log stderr warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    keepalive_requests 1000000;

    upstream mock {
%[3]s        keepalive 64;
        keepalive_requests 1000000;
    }

    server {
        listen %[2]s;
        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location = /v1/chat/completions {
            proxy_pass http://mock;
        }
        location = %[4]s {
            proxy_pass http://mock/v1/chat/completions;
            proxy_buffering off;
        }
    }
}
`, dir, listen, servers, nginxStreamPath)
}
