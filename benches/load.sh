#!/usr/bin/env bash
# Load benchmark (not a test): Postfix's smtp-source drives the demo server
# (smtp-tokio/examples/demo-server) and Postfix's smtp-sink in the same run, on
# loopback only, and prints messages per second and the ratios; then the
# demo server's resident memory per idle connection.
#
#   bash benches/load.sh            # full run (20,000 messages per case)
#   MESSAGES=2000 bash benches/load.sh   # a quicker run
#   DEMO_FLAGS="--threads 1" bash benches/load.sh
#   ONLY=store bash benches/load.sh      # only the storing runs
#   DEMO_BIN=/path/to/demo-server ONLY=store bash benches/load.sh
#                                        # another build (before/after)
#
# smtp-source flags: -s sessions in parallel, -m messages in total,
# -l payload length, -d "don't disconnect after a message" (connection
# reuse; without it every message gets its own connection).
set -euo pipefail
cd "$(dirname "$0")/.."

SESSIONS=${SESSIONS:-10}
MESSAGES=${MESSAGES:-20000}
LENGTH=${LENGTH:-1024}
IDLE=${IDLE:-1000}
ROUNDS=${ROUNDS:-5}

bash scripts/install-peers.sh
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)

ONLY=${ONLY:-all}
if [ -n "${DEMO_BIN:-}" ]; then
    DEMO=$DEMO_BIN
else
    cargo build -q --release -p smtp-sansio-tokio --example demo-server
    DEMO=target/release/examples/demo-server
fi

# Room for the idle connections (both ends live on this machine).
ulimit -n $((IDLE * 4 + 1024)) 2>/dev/null || true

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {
    for _ in $(seq 1 200); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1).close()" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    echo "port $1 never opened" >&2
    return 1
}

# start_server KIND -> sets PORT and PID
start_server() {
    PORT=$(free_port)
    case "$1" in
        sink)
            # -u nobody: smtp-sink drops root; -m: simultaneous connections.
            "$SINK" -u nobody -m 2048 "127.0.0.1:$PORT" 1024 &
            ;;
        discard)
            # shellcheck disable=SC2086
            "$DEMO" --quiet --discard $DEMO_FLAGS --relay "127.0.0.1:$PORT" --submission off --implicit-tls off &
            ;;
        store)
            # shellcheck disable=SC2086
            "$DEMO" --quiet --maildir "$work/mail" $DEMO_FLAGS --relay "127.0.0.1:$PORT" --submission off --implicit-tls off &
            ;;
    esac
    PID=$!
    pids+=("$PID")
    wait_port "$PORT"
}

stop_server() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# run_source PORT REUSE_FLAG -> messages per second of one run
run_source() {
    local t0 t1
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$SOURCE" $2 -s "$SESSIONS" -m "$MESSAGES" -l "$LENGTH" -f alice@example.org \
        -t bob@example.net -M client.example.org "127.0.0.1:$1"
    t1=$(date +%s.%N)
    python3 -c "print(int($MESSAGES/($t1-$t0)))"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

DEMO_FLAGS=${DEMO_FLAGS:-}
if [ "$ONLY" = store ]; then
    # Storing only: ROUNDS runs per shape, the median and every run.
    for reuse in "" "-d"; do
        name=${reuse:-"-"}
        runs=()
        for _ in $(seq 1 "$ROUNDS"); do
            rm -rf "$work/mail"
            start_server store
            runs+=("$(run_source "$PORT" "$reuse")")
            stop_server "$PID"
            stored=$(find "$work/mail" -name '*.eml' | wc -l)
            [ "$stored" -eq "$MESSAGES" ] || echo "warning: stored $stored of $MESSAGES" >&2
        done
        echo "storing $name ($DEMO): median $(median "${runs[@]}") msg/s; runs ${runs[*]}"
    done
    exit 0
fi
start_server sink; SINK_PORT=$PORT; SINK_PID=$PID
start_server discard; DISCARD_PORT=$PORT; DISCARD_PID=$PID
declare -A R
for reuse in "" "-d"; do
    name=${reuse:-"-"}
    sink_runs=(); discard_runs=()
    # Interleaved rounds, so that noise on this shared machine hits both
    # servers alike; the median of ROUNDS is reported.
    for _ in $(seq 1 "$ROUNDS"); do
        sink_runs+=("$(run_source "$SINK_PORT" "$reuse")")
        discard_runs+=("$(run_source "$DISCARD_PORT" "$reuse")")
    done
    R[sink$name]=$(median "${sink_runs[@]}")
    R[discard$name]=$(median "${discard_runs[@]}")
    echo "runs $name: smtp-sink ${sink_runs[*]}; demo --discard ${discard_runs[*]}" >&2
    # Storage on (fsync per message): one run, a fresh folder.
    rm -rf "$work/mail"
    start_server store
    R[store$name]=$(run_source "$PORT" "$reuse")
    stop_server "$PID"
    stored=$(find "$work/mail" -name '*.eml' | wc -l)
    [ "$stored" -eq "$MESSAGES" ] || echo "warning: stored $stored of $MESSAGES" >&2
done
stop_server "$SINK_PID"
stop_server "$DISCARD_PID"

# Resident memory per idle connection: IDLE connections that read the
# greeting and then stay silent.
PORT=$(free_port)
# (--max-connections: the default 500 would refuse part of them.)
"$DEMO" --quiet --discard --max-connections $((IDLE + 16)) --relay "127.0.0.1:$PORT" --submission off --implicit-tls off &
PID=$!
pids+=("$PID")
wait_port "$PORT"
sleep 0.3
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
before=$(rss "$PID")
python3 - "$PORT" "$IDLE" "$PID" "$work/after" <<'PY'
import socket, sys, time
port, n, pid, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), 5)
    socks.append(s)
for s in socks:
    buf = b""
    while not buf.endswith(b"\r\n"):
        buf += s.recv(512)
    assert buf.startswith(b"220"), buf
time.sleep(0.5)
with open(f"/proc/{pid}/status") as f:
    rss = [l.split()[1] for l in f if l.startswith("VmRSS")][0]
open(out, "w").write(rss)
for s in socks:
    s.close()
PY
after=$(cat "$work/after")
stop_server "$PID"

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo
echo "smtp-source -s $SESSIONS -m $MESSAGES -l $LENGTH (loopback, $(nproc) cores), messages/s, median of $ROUNDS interleaved runs (storing: one run):"
printf '| connections | smtp-sink | demo --discard | ratio | demo storing (fsync) | ratio |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: |\n'
for name in "-" "-d"; do
    label="one message per connection"
    [ "$name" = "-d" ] && label="reused (-d)"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "${R[sink$name]}" "${R[discard$name]}" \
        "$(ratio "${R[discard$name]}" "${R[sink$name]}")" "${R[store$name]}" \
        "$(ratio "${R[store$name]}" "${R[sink$name]}")"
done
echo
echo "demo server VmRSS: $before KiB idle, $after KiB with $IDLE idle connections:" \
    "$(python3 -c "print(f'{($after-$before)/$IDLE:.1f}')") KiB per connection"
