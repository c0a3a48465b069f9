#!/usr/bin/env bash
# Per-request cost of the server process, raidd against nbdkit (and optionally a second raidd jar),
# interleaved in one run: throughput, CPU microseconds and context switches per I/O, read from
# /proc/PID/stat and /proc/PID/task/*/status over the middle of each fio run. On a 2-vCPU machine
# where fio and the server share the CPUs, CPU per I/O is what decides throughput, and it is far
# steadier between runs than IOPS.
#
# Usage: bench/per-io-cost.sh [workload ...]     (default: "randread 4k" "read 1M" "randwrite 4k" "write 1M")
# Environment: JAR (default cli/target/raidd.jar), OTHER_JAR (a second raidd jar to A/B against),
#              ROUNDS (1), RUNTIME (s, 10), CHUNK (512K), MEMBER_SIZE (520M), WORK_PARENT (/dev/shm).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=${JAR:-$ROOT/cli/target/raidd.jar}
OTHER_JAR=${OTHER_JAR:-}
ROUNDS=${ROUNDS:-1}
RUNTIME=${RUNTIME:-10}
CHUNK=${CHUNK:-512K}
MEMBER_SIZE=${MEMBER_SIZE:-520M}
WORK_PARENT=${WORK_PARENT:-/dev/shm}
if [ $# -gt 0 ]; then WORKLOADS=("$@"); else WORKLOADS=("randread 4k" "read 1M" "randwrite 4k" "write 1M"); fi
[ "$RUNTIME" -ge 6 ] || { echo "per-io-cost: RUNTIME must be at least 6" >&2; exit 1; }
for tool in java fio nbdkit nbdinfo python3; do
    command -v "$tool" >/dev/null || { echo "per-io-cost: $tool is required" >&2; exit 1; }
done
[ -f "$JAR" ] || { echo "per-io-cost: $JAR is missing; build it: ./mvnw -B -q -pl cli -am install -DskipTests" >&2; exit 1; }

WORK=$(mktemp -d "$WORK_PARENT/raidd-cost.XXXX")
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
members=()
for i in 0 1 2 3 4; do members+=("$WORK/d$i.img"); done
java --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$JAR" io.raidd.cli.RaidctlMain \
    create --level 5 --chunk "$CHUNK" --size "$MEMBER_SIZE" --name vol "${members[@]}" >/dev/null 2>&1

# start_server NAME: starts raidd (NAME=jar path) or nbdkit (NAME=nbdkit); sets SERVER_PID and URI.
start_server() {
    local port
    port=$(free_port)
    if [ "$1" = nbdkit ]; then
        nbdkit -f -p "$port" -i 127.0.0.1 file "$WORK/kit.img" &
        SERVER_PID=$!
        URI="nbd://127.0.0.1:$port/"
        for _ in $(seq 1 100); do nbdinfo --size "$URI" >/dev/null 2>&1 && return; sleep 0.1; done
    else
        java --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$1" io.raidd.cli.RaiddMain \
            --listen "127.0.0.1:$port" "${members[@]}" > "$WORK/raidd.out" 2> "$WORK/raidd.err" &
        SERVER_PID=$!
        for _ in $(seq 1 300); do grep -q '^nbd://' "$WORK/raidd.out" && break; sleep 0.1; done
        URI=$(grep -m1 '^nbd://' "$WORK/raidd.out") || { cat "$WORK/raidd.err" >&2; exit 1; }
    fi
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
# "switches cpu_ticks" of the server process now
snapshot() {
    local switches
    switches=$(cat /proc/"$SERVER_PID"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s }')
    echo "$switches $(awk '{ print $14 + $15 }' /proc/"$SERVER_PID"/stat)"
}
# measure LABEL RW BS: one fio run against URI; prints one line.
measure() {
    local label=$1 rw=$2 bs=$3 extra=() before after
    case $rw in
        read|write) extra=(--offset_increment=1000M --size=1000M) ;;
        *) extra=(--norandommap --randrepeat=0 --size=1000M) ;;
    esac
    fio --name=cost --ioengine=nbd --uri="$URI" --rw="$rw" --bs="$bs" --iodepth=32 --numjobs=2 "${extra[@]}" \
        --time_based --runtime="$RUNTIME" --ramp_time=2 --group_reporting --output-format=terse \
        --terse-version=3 > "$WORK/fio.out" 2>&1 &
    local fio_pid=$!
    sleep 4; before=$(snapshot); sleep $((RUNTIME - 4)); after=$(snapshot)
    wait "$fio_pid"
    awk -F';' -v rw="$rw" -v label="$label" -v b="$before" -v a="$after" -v t=$((RUNTIME - 4)) '/^3;/ {
        iops = (rw ~ /write/) ? $49 : $8; bw = (rw ~ /write/) ? $48 : $7
        split(b, x, " "); split(a, y, " ")
        printf "| %-14s | %-12s | %10.0f IOPS | %8.0f MB/s | %8.1f us | %16.2f |\n", label, rw " " "'"$bs"'", iops,
               bw * 1024 / 1e6, (y[2] - x[2]) * 1e6 / 100 / (iops * t), (y[1] - x[1]) / (iops * t) }' "$WORK/fio.out"
}

truncate -s "$(stat -c %s "${members[0]}")" "$WORK/kit.img"
start_server "$JAR"
size=$(nbdinfo --size "$URI")
truncate -s "$size" "$WORK/kit.img"
fio --name=fill --ioengine=nbd --uri="$URI" --rw=write --bs=1M --iodepth=32 --size="$size" >/dev/null 2>&1
stop_server
start_server nbdkit
fio --name=fill --ioengine=nbd --uri="$URI" --rw=write --bs=1M --iodepth=32 --size="$size" >/dev/null 2>&1
stop_server

echo "per-I/O cost of the server process: RAID-5 4+1 chunk $CHUNK on $WORK_PARENT vs nbdkit file, fio nbd 2 x qd32, ${RUNTIME}s"
echo "| server         | workload     |            IOPS |          MB/s | CPU per I/O | switches per I/O |"
echo "|----------------|--------------|-----------------|---------------|-------------|------------------|"
for round in $(seq 1 "$ROUNDS"); do
    for w in "${WORKLOADS[@]}"; do
        set -- $w
        start_server nbdkit; measure nbdkit "$1" "$2"; stop_server
        start_server "$JAR"; measure raidd "$1" "$2"; stop_server
        if [ -n "$OTHER_JAR" ]; then start_server "$OTHER_JAR"; measure "raidd (other)" "$1" "$2"; stop_server; fi
    done
done
