# shellcheck shell=bash
# Starts and stops a private etcd for fixture scripts and benchmarks.
# Source it, then: start_etcd NAME WORKDIR [extra etcd flags...]
# It sets CLIENT (the client URL) and ETCD_PID, and installs an EXIT trap that
# stops etcd by pid and removes WORKDIR, also on failure. etcd listens on
# 127.0.0.1 only, on free ports, with its data in WORKDIR.
#
# cluster_id and member_id are hashes of the name, the cluster token and the
# *advertised* peer URLs; advertising fixed URLs (never dialled by a one-member
# cluster) keeps them identical on every run. Listening is on the free ports only.

ETCD="${ETCD:-$(command -v etcd || echo /usr/bin/etcd)}"
ETCDCTL="${ETCDCTL:-$(command -v etcdctl || echo /usr/bin/etcdctl)}"
ETCD_PID=""
ETCD_WORK=""

stop_etcd() {
    if [[ -n "$ETCD_PID" ]]; then
        kill -TERM "$ETCD_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$ETCD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$ETCD_PID" 2>/dev/null || true
        wait "$ETCD_PID" 2>/dev/null || true
        ETCD_PID=""
    fi
}

_etcd_cleanup() { stop_etcd; [[ -n "$ETCD_WORK" ]] && rm -rf "$ETCD_WORK"; }

start_etcd() {
    local name="$1"
    ETCD_WORK="$2"
    shift 2
    [[ -x "$ETCD" && -x "$ETCDCTL" ]] || { echo "etcd/etcdctl not found" >&2; exit 1; }
    trap _etcd_cleanup EXIT
    local client_port peer_port metrics_port
    # Bind three sockets to 127.0.0.1:0 at once (so the ports differ), read, close.
    read -r client_port peer_port metrics_port < <(python3 - <<'PY'
import socket
socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks:
    s.close()
PY
)
    CLIENT="http://127.0.0.1:$client_port"
    "$ETCD" --name "$name" --data-dir "$ETCD_WORK/data" \
        --listen-client-urls "$CLIENT" --advertise-client-urls http://127.0.0.1:2379 \
        --listen-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster "$name=http://127.0.0.1:2380" \
        --initial-cluster-token "$name" --initial-cluster-state new \
        --listen-metrics-urls "http://127.0.0.1:$metrics_port" \
        "$@" >"$ETCD_WORK/etcd.log" 2>&1 &
    ETCD_PID=$!
    local healthy=""
    for _ in $(seq 150); do   # 15 s
        if ETCDCTL_API=3 "$ETCDCTL" --endpoints="$CLIENT" --command-timeout=1s endpoint health >/dev/null 2>&1; then healthy=1; break; fi
        kill -0 "$ETCD_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z "$healthy" ]]; then
        echo "etcd did not become healthy within 15 s; log:" >&2
        tail -n 30 "$ETCD_WORK/etcd.log" >&2
        exit 1
    fi
}

ctl() { ETCDCTL_API=3 "$ETCDCTL" --endpoints="$CLIENT" "$@"; }
