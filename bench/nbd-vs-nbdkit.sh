#!/usr/bin/env bash
# raidd (RAID-5, 4 data + 1 parity, image files on tmpfs) against nbdkit's file plugin serving one
# image file of the same size on the same tmpfs, both over NBD on 127.0.0.1, measured with fio's
# nbd engine in the same run: sequential read/write 1 MiB, random read/write 4 KiB.
#
# Builds nothing: it runs cli/target/raidd.jar, so build first:
#     ./mvnw -B -q -pl cli -am install -DskipTests
# Usage: bench/nbd-vs-nbdkit.sh [chunk ...]        (default: 512K 128K)
# Environment: RUNTIME (s, default 15), RAMP (s, default 3), JOBS (2), DEPTH (32),
#              MEMBER_SIZE (default 520M: a volume of just over 2 GiB), RAIDD_JAVA_OPTS,
#              WORK_PARENT (default /dev/shm), JFR=1 (record raidd with JFR into the work dir,
#              kept after the run).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR="$ROOT/cli/target/raidd.jar"
if [ $# -gt 0 ]; then CHUNKS=("$@"); else CHUNKS=(512K 128K); fi
RUNTIME=${RUNTIME:-15}
RAMP=${RAMP:-3}
JOBS=${JOBS:-2}
DEPTH=${DEPTH:-32}
MEMBER_SIZE=${MEMBER_SIZE:-520M}
WORK_PARENT=${WORK_PARENT:-/dev/shm}

for tool in java fio nbdkit nbdinfo; do
    command -v "$tool" >/dev/null || { echo "nbd-vs-nbdkit: $tool is required" >&2; exit 1; }
done
[ -f "$JAR" ] || { echo "nbd-vs-nbdkit: $JAR is missing; build it first: ./mvnw -B -q -pl cli -am install -DskipTests" >&2; exit 1; }

WORK=$(mktemp -d "$WORK_PARENT/raidd-bench.XXXX")
RAIDD_PID=""
NBDKIT_PID=""
cleanup() {
    [ -n "$RAIDD_PID" ] && kill "$RAIDD_PID" 2>/dev/null && wait "$RAIDD_PID" 2>/dev/null || true
    [ -n "$NBDKIT_PID" ] && kill "$NBDKIT_PID" 2>/dev/null && wait "$NBDKIT_PID" 2>/dev/null || true
    if [ "${JFR:-0}" = 1 ]; then
        find "$WORK" -name '*.img' -delete
        echo "JFR recordings kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# fio against URI: prints "MB/s IOPS" (MB = 10^6 bytes) for the workload's direction.
run_fio() {
    local uri=$1 rw=$2 bs=$3 size=$4 extra=()
    local per_job=$((size / JOBS / 1048576 * 1048576))
    case $rw in
        read|write) extra=(--offset_increment="$per_job") ;;   # each job streams its own part
        *) extra=(--norandommap --randrepeat=0) ;;
    esac
    fio --name=bench --ioengine=nbd --uri="$uri" --rw="$rw" --bs="$bs" --iodepth="$DEPTH" \
        --numjobs="$JOBS" --size="$per_job" "${extra[@]}" --time_based --runtime="$RUNTIME" \
        --ramp_time="$RAMP" --group_reporting --output-format=terse --terse-version=3 2>/dev/null |
        awk -F';' -v rw="$rw" '/^3;/ { if (rw ~ /write/) { bw=$48; iops=$49 } else { bw=$7; iops=$8 }
                                 printf "%.1f %.0f\n", bw * 1024 / 1e6, iops }'
}

prefill() {
    local uri=$1 size=$2
    fio --name=prefill --ioengine=nbd --uri="$uri" --rw=write --bs=1M --iodepth=32 --numjobs=1 \
        --size="$size" --output-format=terse --terse-version=3 2>/dev/null |
        awk -F';' '/^3;/ { printf "%.0f MB/s", $48 * 1024 / 1e6 }'
}

echo "raidd vs nbdkit: fio nbd engine, $JOBS jobs x iodepth $DEPTH, ${RUNTIME}s + ${RAMP}s ramp per workload"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r);" \
     "$(java -version 2>&1 | head -1); $(fio --version); nbdkit $(nbdkit --version | awk '{print $2}')"
for chunk in "${CHUNKS[@]}"; do
    dir="$WORK/$chunk"
    mkdir -p "$dir"
    members=()
    for i in 0 1 2 3 4; do members+=("$dir/d$i.img"); done
    java --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$JAR" \
        io.raidd.cli.RaidctlMain create --level 5 --chunk "$chunk" --size "$MEMBER_SIZE" --name vol \
        "${members[@]}" 2>/dev/null | head -1

    port=$(free_port)
    jfr=()
    [ "${JFR:-0}" = 1 ] && jfr=("-XX:StartFlightRecording=filename=$WORK/raidd-$chunk.jfr,settings=profile")
    # shellcheck disable=SC2086
    java --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseG1GC \
        ${RAIDD_JAVA_OPTS:-} "${jfr[@]}" -cp "$JAR" io.raidd.cli.RaiddMain --listen "127.0.0.1:$port" \
        "${members[@]}" > "$dir/raidd.out" 2> "$dir/raidd.err" &
    RAIDD_PID=$!
    for _ in $(seq 1 300); do grep -q '^nbd://' "$dir/raidd.out" && break; sleep 0.1; done
    raidd_uri=$(grep -m1 '^nbd://' "$dir/raidd.out") || { cat "$dir/raidd.err" >&2; exit 1; }
    size=$(nbdinfo --size "$raidd_uri")

    truncate -s "$size" "$dir/nbdkit.img"
    kport=$(free_port)
    nbdkit -f -p "$kport" -i 127.0.0.1 file "$dir/nbdkit.img" &
    NBDKIT_PID=$!
    kit_uri="nbd://127.0.0.1:$kport/"
    for _ in $(seq 1 100); do nbdinfo --size "$kit_uri" >/dev/null 2>&1 && break; sleep 0.1; done

    echo
    echo "chunk $chunk: volume $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f GiB", s / 2^30 }'))," \
         "prefill raidd $(prefill "$raidd_uri" "$size"), nbdkit $(prefill "$kit_uri" "$size")"
    printf "| %-20s | %15s | %15s | %7s | %7s |\n" workload "raidd" "nbdkit" "ratio" target
    printf "|%s|%s|%s|%s|%s|\n" "----------------------" "-----------------" "-----------------" "---------" "---------"
    for w in "read 1M 1.0" "write 1M 0.8" "randread 4k 1.0" "randwrite 4k 0.5"; do
        set -- $w
        r=$(run_fio "$raidd_uri" "$1" "$2" "$size")
        k=$(run_fio "$kit_uri" "$1" "$2" "$size")
        if [ "$2" = 1M ]; then
            rv=$(echo "$r" | cut -d' ' -f1); kv=$(echo "$k" | cut -d' ' -f1); unit="MB/s"
        else
            rv=$(echo "$r" | cut -d' ' -f2); kv=$(echo "$k" | cut -d' ' -f2); unit="IOPS"
        fi
        ratio=$(awk -v a="$rv" -v b="$kv" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
        verdict=$(awk -v r="$ratio" -v t="$3" 'BEGIN { print (r >= t) ? "ok" : "MISSED" }')
        printf "| %-20s | %10s %-4s | %10s %-4s | %6sx | >= %sx %s |\n" "$1 $2" "$rv" "$unit" "$kv" "$unit" \
            "$ratio" "$3" "$verdict"
    done
    kill "$RAIDD_PID"; wait "$RAIDD_PID" || echo "raidd exited $?" >&2; RAIDD_PID=""
    kill "$NBDKIT_PID"; wait "$NBDKIT_PID" 2>/dev/null || true; NBDKIT_PID=""
    rm -f "$dir"/*.img
done
