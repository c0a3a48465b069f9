#!/usr/bin/env bash
# What checking integrity tags on every read costs: raidd (RAID-5 4+1, image files on tmpfs) with
# --verify-reads on and off, and nbdkit's file plugin on one image of the same size, all on the same
# tmpfs, over NBD on 127.0.0.1, measured with fio's nbd engine in the same run, interleaved
# (on, off, nbdkit; ROUNDS times): random 4 KiB reads and sequential 1 MiB reads of prefilled data.
#
# Builds nothing: it runs cli/target/raidd.jar (./mvnw -B -q -pl cli -am package -DskipTests).
# Environment: RUNTIME (s, default 15), RAMP (3), JOBS (2), DEPTH (32), MEMBER_SIZE (520M),
#              ROUNDS (2), CHUNK (512K), WORK_PARENT (/dev/shm)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR="$ROOT/cli/target/raidd.jar"
RUNTIME=${RUNTIME:-15}
RAMP=${RAMP:-3}
JOBS=${JOBS:-2}
DEPTH=${DEPTH:-32}
MEMBER_SIZE=${MEMBER_SIZE:-520M}
ROUNDS=${ROUNDS:-2}
CHUNK=${CHUNK:-512K}
WORK_PARENT=${WORK_PARENT:-/dev/shm}

for tool in java fio nbdkit nbdinfo; do
    command -v "$tool" >/dev/null || { echo "verify-reads: $tool is required" >&2; exit 1; }
done
[ -f "$JAR" ] || { echo "verify-reads: $JAR is missing; build it first" >&2; exit 1; }

WORK=$(mktemp -d "$WORK_PARENT/raidd-verify.XXXX")
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# fio against URI: prints "MB/s IOPS" (MB = 10^6 bytes).
run_fio() {
    local uri=$1 rw=$2 bs=$3 size=$4 extra=()
    local per_job=$((size / JOBS / 1048576 * 1048576))
    case $rw in
        read) extra=(--offset_increment="$per_job") ;;
        *) extra=(--norandommap --randrepeat=0) ;;
    esac
    fio --name=bench --ioengine=nbd --uri="$uri" --rw="$rw" --bs="$bs" --iodepth="$DEPTH" \
        --numjobs="$JOBS" --size="$per_job" "${extra[@]}" --time_based --runtime="$RUNTIME" \
        --ramp_time="$RAMP" --group_reporting --output-format=terse --terse-version=3 2>/dev/null |
        awk -F';' '/^3;/ { printf "%.1f %.0f\n", $7 * 1024 / 1e6, $8 }'
}

members=()
for i in 0 1 2 3 4; do members+=("$WORK/d$i.img"); done
java --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$JAR" \
    io.raidd.cli.RaidctlMain create --level 5 --chunk "$CHUNK" --size "$MEMBER_SIZE" --name vol \
    "${members[@]}" 2>/dev/null | head -1

start_raidd() {
    local port
    port=$(free_port)
    java --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseG1GC -cp "$JAR" \
        io.raidd.cli.RaiddMain --listen "127.0.0.1:$port" --control "$WORK/raidd.sock" "$@" "${members[@]}" \
        > "$WORK/raidd.out" 2> "$WORK/raidd.err" &
    PID=$!
    for _ in $(seq 1 300); do grep -q '^nbd://' "$WORK/raidd.out" && break; sleep 0.1; done
    URI=$(grep -m1 '^nbd://' "$WORK/raidd.out") || { cat "$WORK/raidd.err" >&2; exit 1; }
}
start_nbdkit() {
    local port
    port=$(free_port)
    nbdkit -f -p "$port" -i 127.0.0.1 file "$WORK/nbdkit.img" &
    PID=$!
    URI="nbd://127.0.0.1:$port/"
    for _ in $(seq 1 100); do nbdinfo --size "$URI" >/dev/null 2>&1 && break; sleep 0.1; done
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
prefill() {
    fio --name=prefill --ioengine=nbd --uri="$URI" --rw=write --bs=1M --iodepth=32 --numjobs=1 \
        --size="$SIZE" --output-format=terse --terse-version=3 >/dev/null 2>&1
}

start_raidd
SIZE=$(nbdinfo --size "$URI")
prefill
stop
truncate -s "$SIZE" "$WORK/nbdkit.img"
start_nbdkit
prefill
stop

echo "verify-reads: RAID-5 4+1, chunk $CHUNK, volume $SIZE bytes; fio nbd engine, $JOBS jobs x iodepth $DEPTH," \
     "${RUNTIME}s + ${RAMP}s ramp; $(nproc) CPUs, $(uname -r); $(java -version 2>&1 | head -1)"
printf "| %-5s | %-12s | %18s | %18s | %18s | %9s | %9s |\n" round workload "raidd verify on" "raidd verify off" \
    "nbdkit file" "on / off" "on / kit"
printf "|%s|%s|%s|%s|%s|%s|%s|\n" "-------" "--------------" "--------------------" "--------------------" \
    "--------------------" "-----------" "-----------"
for round in $(seq 1 "$ROUNDS"); do
    for w in "randread 4k" "read 1M"; do
        set -- $w
        start_raidd --verify-reads on;  on=$(run_fio "$URI" "$1" "$2" "$SIZE");  stop
        start_raidd --verify-reads off; off=$(run_fio "$URI" "$1" "$2" "$SIZE"); stop
        start_nbdkit;                    kit=$(run_fio "$URI" "$1" "$2" "$SIZE"); stop
        if [ "$2" = 1M ]; then f=1; unit="MB/s"; else f=2; unit="IOPS"; fi
        a=$(echo "$on" | cut -d' ' -f$f); b=$(echo "$off" | cut -d' ' -f$f); c=$(echo "$kit" | cut -d' ' -f$f)
        printf "| %-5s | %-12s | %13s %-4s | %13s %-4s | %13s %-4s | %8sx | %8sx |\n" "$round" "$1 $2" \
            "$a" "$unit" "$b" "$unit" "$c" "$unit" \
            "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
            "$(awk -v a="$a" -v b="$c" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
    done
done
