#!/usr/bin/env bash
# A cluster to try on one machine (`make cluster`): Redis, VictoriaMetrics, three gateways (gw-a,
# gw-b, gw-c) sharing keys, limits and budgets through them, and nginx in front, round robin.
# Ctrl-C stops everything. The gateways serve the default config's offline WASM models.
#
#   scripts/cluster.sh                      start everything, in the foreground
#   scripts/cluster.sh --write-configs DIR  only write the configs into DIR (the tests check them)
#
# Settings, from the environment (defaults in brackets): IOM [bin/iom], PLUGINS [bin/plugins],
# CLUSTER_DIR [data/cluster: each node's data, the credentials, the logs], LB_PORT [8080: nginx],
# NODE_PORTS [8180 8280 8380: data planes; each admin API is on the next port], REDIS_PORT [6380],
# VM_PORT [8428].
set -euo pipefail

IOM=${IOM:-bin/iom}
PLUGINS=${PLUGINS:-bin/plugins}
CLUSTER_DIR=${CLUSTER_DIR:-data/cluster}
LB_PORT=${LB_PORT:-8080}
read -r -a NODE_PORTS <<<"${NODE_PORTS:-8180 8280 8380}"
REDIS_PORT=${REDIS_PORT:-6380}
VM_PORT=${VM_PORT:-8428}
NODES=(gw-a gw-b gw-c)

die() {
	echo "cluster: $*" >&2
	exit 1
}

# node_config writes node $1's config (data plane on port $2, admin on the next) into dir $3.
# The admin token and the keys come from the environment, so every node knows the same ones.
node_config() {
	local id=$1 port=$2 dir=$3 plugins=$PLUGINS
	[[ $plugins == /* ]] || plugins=$PWD/$plugins
	cat >"$dir/$id.yaml" <<EOF
# $id of the cluster scripts/cluster.sh runs.
server:
  listen: "127.0.0.1:$port"
  adminListen: "127.0.0.1:$((port + 1))"
  dataDir: "$dir/$id"
admin:
  token: \${IOM_ADMIN_TOKEN}
cluster:
  nodeId: $id
  redis:
    url: redis://127.0.0.1:$REDIS_PORT/0
  onRedisDown: serve
metrics:
  victoriaMetrics:
    url: http://127.0.0.1:$VM_PORT
    pushIntervalMs: 2000
keys:
  - name: demo-app
    key: \${IOM_KEY_DEMO_APP}
    org: acme
  - name: limited-app             # 5 at once, then one a second: shared by the three nodes
    key: \${IOM_KEY_LIMITED_APP}
    org: acme
    limits: {rps: 1, burst: 5}
  - name: metered-app             # tokens per minute and a daily budget, counted across the nodes
    key: \${IOM_KEY_METERED_APP}
    org: acme
    limits: {rps: 1000, burst: 1000, tokensPerMinute: 100000, budget: {usd: 1.00, period: day}}
plugins:
  - {name: local-models, path: $plugins/local-models.wasm, language: go, allow: {clock: true}, limits: {instances: 1, memoryMB: 128}}
models:
  - id: local-sentiment
    name: Lexicon sentiment classifier
    provider: wasm:local-models
    upstreamModel: sentiment
    modelType: classification
    owner: IoM
    costPerToken: 0.000001        # a price, so that metered-app's budget has something to count
    tags: [local, sentiment]
  - id: local-summarizer
    name: Extractive summarizer
    provider: wasm:local-models
    upstreamModel: summarizer
    modelType: llm
    owner: IoM
    tags: [local, summarization]
EOF
}

# nginx_config writes nginx's config into dir $1: one process in the foreground, every path it
# writes inside the dir, the three data planes round robin on kept-alive connections, answers
# (streams too) passed on as they come.
nginx_config() {
	local dir=$1 servers="" p
	for p in "${NODE_PORTS[@]}"; do
		servers+="        server 127.0.0.1:$p;"$'\n'
	done
	mkdir -p "$dir/nginx"
	cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
pid $dir/nginx/nginx.pid;
error_log stderr warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    client_max_body_size 4m;

    upstream gateways {
$servers        keepalive 64;
    }

    server {
        listen 127.0.0.1:$LB_PORT;
        location / {
            proxy_pass http://gateways;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 300s;
        }
    }
}
EOF
}

# write_configs writes every config into dir $1.
write_configs() {
	local dir=$1 i
	mkdir -p "$dir"
	for i in "${!NODES[@]}"; do
		node_config "${NODES[$i]}" "${NODE_PORTS[$i]}" "$dir"
	done
	nginx_config "$dir"
}

# credentials reads the cluster's admin token and keys from dir $1/credentials, making those it
# lacks (all of them on the first start); every node is given the same ones.
credentials() {
	local file=$1/credentials name
	local names=(IOM_ADMIN_TOKEN IOM_KEY_DEMO_APP IOM_KEY_LIMITED_APP IOM_KEY_METERED_APP)
	unset "${names[@]}"
	if [[ ! -f $file ]]; then
		(
			umask 077
			echo "# The cluster's admin token and keys: source this file, then use \$IOM_ADMIN_TOKEN and \$IOM_KEY_<NAME>." >"$file"
		)
	fi
	# shellcheck source=/dev/null
	source "$file"
	for name in "${names[@]}"; do
		if [[ -z ${!name:-} ]]; then
			printf -v "$name" %s "$(random)"
			echo "$name=${!name}" >>"$file"
		fi
		export "${name?}"
	done
}

random() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

find_nginx() {
	if command -v nginx >/dev/null; then
		command -v nginx
	elif [[ -x /usr/sbin/nginx ]]; then
		echo /usr/sbin/nginx
	else
		die "nginx is not installed (Debian: apt-get install nginx)"
	fi
}

# wait_port waits up to 15 s for 127.0.0.1:$1 to accept connections, failing when process $2
# has exited meanwhile.
wait_port() {
	local port=$1 pid=$2 what=$3 i
	for ((i = 0; i < 150; i++)); do
		if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || die "$what exited; see $LOGS"
		sleep 0.1
	done
	die "$what does not listen on 127.0.0.1:$port; see $LOGS"
}

PIDS=()
NAMES=() # of PIDS, in the same order

# stop ends what this script started, newest first, each with SIGTERM and a few seconds to stop.
stop() {
	trap - INT TERM EXIT
	local i pid
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${PIDS[$i]}" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	echo "cluster: stopped"
}

# start runs command $2... in the background, its output in $LOGS/$1.log.
start() {
	local name=$1
	shift
	"$@" >"$LOGS/$name.log" 2>&1 &
	PIDS+=("$!")
	NAMES+=("$name")
}

main() {
	if [[ ${1:-} == --write-configs ]]; then
		[[ -n ${2:-} ]] || die "--write-configs needs a directory"
		write_configs "$(mkdir -p "$2" && cd "$2" && pwd)"
		return
	fi
	[[ $# -eq 0 ]] || die "unknown argument $1 (see the top of $0)"
	[[ -x $IOM ]] || die "$IOM is not built (make build)"
	[[ -f $PLUGINS/local-models.wasm ]] || die "$PLUGINS/local-models.wasm is not built (make plugins)"
	command -v redis-server >/dev/null || die "redis-server is not installed (Debian: apt-get install redis-server)"
	command -v victoria-metrics >/dev/null || die "victoria-metrics is not installed (Debian: apt-get install victoria-metrics)"
	local nginx dir i pid
	nginx=$(find_nginx)
	dir=$(mkdir -p "$CLUSTER_DIR" && cd "$CLUSTER_DIR" && pwd)
	chmod 700 "$dir"
	LOGS=$dir/logs
	mkdir -p "$LOGS" "$dir/redis" "$dir/vm"
	credentials "$dir"
	write_configs "$dir"

	trap stop EXIT
	trap 'exit 130' INT TERM
	# Redis keeps nothing on disk: the nodes seed it again with their keys when it starts empty.
	start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir/redis" --save "" \
		--appendonly no --protected-mode yes
	wait_port "$REDIS_PORT" "${PIDS[-1]}" redis-server
	# Queries see pushed points at once, not 30 s later.
	start victoria-metrics victoria-metrics -httpListenAddr="127.0.0.1:$VM_PORT" \
		-storageDataPath="$dir/vm" -retentionPeriod=7d -search.latencyOffset=0s -loggerLevel=ERROR
	wait_port "$VM_PORT" "${PIDS[-1]}" victoria-metrics
	for i in "${!NODES[@]}"; do
		start "${NODES[$i]}" "$IOM" serve --config "$dir/${NODES[$i]}.yaml"
	done
	for i in "${!NODES[@]}"; do
		pid=${PIDS[i + 2]} # after Redis and VictoriaMetrics
		wait_port "${NODE_PORTS[$i]}" "$pid" "${NODES[$i]}"
	done
	start nginx "$nginx" -p "$dir/nginx/" -c "$dir/nginx.conf"
	wait_port "$LB_PORT" "${PIDS[-1]}" nginx

	local admin=$((NODE_PORTS[0] + 1))
	cat <<EOF

The cluster runs: nginx on 127.0.0.1:$LB_PORT in front of ${NODES[*]} (data planes on
127.0.0.1:${NODE_PORTS[0]}, :${NODE_PORTS[1]} and :${NODE_PORTS[2]}, each admin API and console on the next port;
pids ${PIDS[2]}, ${PIDS[3]} and ${PIDS[4]}), Redis on 127.0.0.1:$REDIS_PORT, VictoriaMetrics on
http://127.0.0.1:$VM_PORT. Logs: $LOGS.

  source $dir/credentials
  curl -s localhost:$LB_PORT/v1/chat/completions -H "Authorization: Bearer \$IOM_KEY_DEMO_APP" \\
    -d '{"model":"local-sentiment","messages":[{"role":"user","content":"This is wonderful"}]}' -D - -o /dev/null | grep -i x-iom
  for i in \$(seq 8); do curl -s -o /dev/null -w '%{http_code} ' localhost:$LB_PORT/v1/chat/completions \\
    -H "Authorization: Bearer \$IOM_KEY_LIMITED_APP" -d '{"model":"local-sentiment","messages":[{"role":"user","content":"ok"}]}'; done
  curl -s 127.0.0.1:$admin/api/cluster -H "Authorization: Bearer \$IOM_ADMIN_TOKEN"

Ctrl-C stops everything.
EOF
	# Until Ctrl-C. One that exits (a node killed to watch the others) is reported; the rest run on.
	local alive=("${PIDS[@]}") gone rc
	while ((${#alive[@]} > 0)); do
		rc=0 gone=
		wait -n -p gone "${alive[@]}" || rc=$?
		[[ -n $gone ]] || break # none of them is left to wait for
		for i in "${!PIDS[@]}"; do
			[[ ${PIDS[$i]} == "$gone" ]] && echo "cluster: ${NAMES[$i]} exited ($rc); see $LOGS/${NAMES[$i]}.log" >&2
		done
		for i in "${!alive[@]}"; do
			[[ ${alive[$i]} == "$gone" ]] && unset "alive[$i]"
		done
		alive=("${alive[@]}")
	done
}

main "$@"
