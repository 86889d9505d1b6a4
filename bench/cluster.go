package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The cluster row: nginx in front of three gateways that share their keys' limits through one
// Redis, against one gateway alone. The bench key has a rate limit far above what the loader
// sends, so every request is checked against Redis (a key without limits makes no Redis call).

// clusterNodes is how many gateways the cluster row runs.
const clusterNodes = 3

// runningCluster is the processes of the cluster row and the nginx target in front of them.
type runningCluster struct {
	target target
	procs  []*child // Redis, the gateways, nginx: their CPU is the cluster's
}

// startCluster starts Redis, the gateways and nginx in dir, each gateway in front of mock, and
// waits until they listen.
func startCluster(iom, dir, mock string) (*runningCluster, error) {
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server is not installed")
	}
	nginx, err := findNginx()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "redis"), 0o700); err != nil {
		return nil, err
	}
	rc := &runningCluster{}
	type listener struct {
		c    *child
		addr string
	}
	var starting []listener
	redisAddr := freePort()
	_, port, _ := strings.Cut(redisAddr, ":")
	r := startChild("redis", redis, "--bind", "127.0.0.1", "--port", port, "--dir", filepath.Join(dir, "redis"),
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	starting = append(starting, listener{r, redisAddr})
	rc.procs = append(rc.procs, r)
	var upstreams []string
	for i := range clusterNodes {
		addr, admin := freePort(), freePort()
		cfg := filepath.Join(dir, fmt.Sprintf("iom-node-%d.yaml", i))
		data := filepath.Join(dir, fmt.Sprintf("data-node-%d", i))
		if err := os.WriteFile(cfg, []byte(clusterConfig(addr, admin, data, mock, redisAddr, i)), 0o600); err != nil {
			return nil, err
		}
		c := startChild(fmt.Sprintf("gateway %d of the cluster", i+1), iom, "serve", "--config", cfg)
		starting = append(starting, listener{c, addr})
		rc.procs = append(rc.procs, c)
		upstreams = append(upstreams, addr)
	}
	lb := freePort()
	n := startNginx(nginx, filepath.Join(dir, "nginx-cluster"), lb, upstreams...)
	starting = append(starting, listener{n, lb})
	rc.procs = append(rc.procs, n)
	for _, l := range starting {
		if err := l.c.waitReady(l.addr, 20*time.Second); err != nil {
			return nil, err
		}
	}
	rc.target = target{name: "3 gateways via nginx", addr: lb, pid: n.pid(), path: chatPath, auth: true}
	return rc, nil
}

// clusterConfig is node i's: the core gateway's header with a rate-limited key and the cluster
// section naming Redis.
func clusterConfig(listen, admin, dataDir, mock, redis string, i int) string {
	cfg := header(listen, admin, dataDir, mock)
	cfg = strings.Replace(cfg, "    key: "+benchKey+"\n", "    key: "+benchKey+"\n    limits: {rps: 10000000, burst: 10000000}\n", 1)
	return cfg + fmt.Sprintf(`cluster:
  nodeId: bench-%d
  redis:
    url: redis://%s/0
`, i+1, redis)
}

// cpu is the processes' user and system CPU so far.
func (rc *runningCluster) cpu() time.Duration {
	var d time.Duration
	for _, c := range rc.procs {
		d += cpuTime(c.pid())
	}
	return d
}

// stop ends the cluster's processes now, so that they stay out of the rows measured after.
func (rc *runningCluster) stop() {
	for _, c := range rc.procs {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range rc.procs {
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
}

// measureCluster runs the cluster's max-throughput rounds, as the targets' are run; nil with a
// note when it cannot run here.
func measureCluster(iom, dir, mock string, rounds, conns int, d time.Duration) ([]maxRun, string) {
	step("starting 3 gateways sharing Redis behind nginx")
	rc, err := startCluster(iom, dir, mock)
	if err != nil {
		return nil, fmt.Sprintf("no cluster row: %v", err)
	}
	defer rc.stop()
	attack(rc.target, 500, time.Second) // warm-up
	var runs []maxRun
	for r := 1; r <= rounds; r++ {
		step(fmt.Sprintf("round %d: max throughput against 3 gateways via nginx", r))
		cpu0 := rc.cpu()
		rps, total := closedLoop(rc.target, conns, d, dir)
		mr := maxRun{rps: rps}
		if total > 0 {
			mr.cpuPerReq = (rc.cpu() - cpu0) / time.Duration(total)
		}
		runs = append(runs, mr)
	}
	return runs, ""
}
