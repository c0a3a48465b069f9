#!/usr/bin/env bash
# Scrub throughput (integrity issue, item 6), on image files in tmpfs: RAID-5 4+1 and RAID-6 4+2.
# For each level and run:
#   1. the I/O floor: one fio (psync, CHUNK-sized sequential reads) reading every member's data area,
#      all members at once; floor = all bytes read / wall time of the slowest job. Measured before
#      and after the scrub, the faster of the two counts (a scrub cannot read its bytes faster).
#   2. the scrub: `raidctl scrub start --check`, then its status polled until it has finished; the
#      rate is member bytes read (every member's data area the volume uses) / the scrub's own
#      start-to-end time as raidd reports it (ms), so raidctl's start-up is not counted.
#   ratio = scrub rate / floor, both in member bytes per second.
# The volume is filled with random data through NBD first (so every block has a tag to check) and
# left clean; the check scrub must find nothing.
#
# Builds nothing: it runs cli/target/raidd.jar, so build first:
#     ./mvnw -B -ntp -q -pl cli -am package -DskipTests
# Usage: bench/scrub.sh [level ...]        (default: 5 6)
# Environment: MEMBER_SIZE (default 1G; 256M for a quick run), RUNS (2), CHUNK (512K),
#              WARMUP (1: one check scrub first, not measured, so the JIT has compiled the scrub's
#              loops as in a daemon that has been running; 0 to measure a cold start),
#              WORK_PARENT (/dev/shm), RAIDD_JAVA_OPTS, ASPROF (path to async-profiler's
#              libasyncProfiler.so: profiles raidd during each scrub, collapsed stacks into
#              RESULTS or the repository root; keep such runs apart from the ones you quote)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR="$ROOT/cli/target/raidd.jar"
if [ $# -gt 0 ]; then LEVELS=("$@"); else LEVELS=(5 6); fi
MEMBER_SIZE=${MEMBER_SIZE:-1G}
RUNS=${RUNS:-2}
CHUNK=${CHUNK:-512K}
WARMUP=${WARMUP:-1}
WORK_PARENT=${WORK_PARENT:-/dev/shm}

for tool in java fio python3; do
    command -v "$tool" >/dev/null || { echo "scrub: $tool is required" >&2; exit 1; }
done
fio --enghelp=nbd >/dev/null 2>&1 || { echo "scrub: this fio has no nbd engine (fio >= 3.16 built with libnbd)" >&2; exit 1; }
[ -f "$JAR" ] || { echo "scrub: $JAR is missing; build it first: ./mvnw -B -ntp -q -pl cli -am package -DskipTests" >&2; exit 1; }

WORK=$(mktemp -d "$WORK_PARENT/raidd-scrub.XXXX")
RAIDD_PID=""
cleanup() {
    local rc=$?
    [ -n "$RAIDD_PID" ] && kill "$RAIDD_PID" 2>/dev/null && wait "$RAIDD_PID" 2>/dev/null || true
    if [ $rc -ne 0 ] && [ -n "${DIR:-}" ] && [ -f "$DIR/raidd.err" ]; then
        echo "scrub: the end of raidd's log:" >&2; tail -5 "$DIR/raidd.err" >&2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

JAVA=(java --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
raidctl() { "${JAVA[@]}" -cp "$JAR" io.raidd.cli.RaidctlMain "$@" 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
jget() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }

# floor OUT MEMBER...: bytes/s reading every member's data area at once
floor() {
    local out=$1; shift
    local jobs=() i=0 f
    for f in "$@"; do jobs+=(--name="read$i" --rw=read --filename="$f"); i=$((i + 1)); done
    fio --ioengine=psync --bs="$CHUNK" --offset="$DATA_OFFSET" --size="$DATA_BYTES" \
        --output-format=json --output="$out" "${jobs[@]}" > /dev/null
    python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
total = sum(j["read"]["io_bytes"] for j in d["jobs"])
wall = max(j["job_runtime"] for j in d["jobs"]) / 1000.0
print(int(total / wall))
PY
}

mib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }

echo "raidd scrub benchmark: member images of $MEMBER_SIZE on $WORK_PARENT, chunk $CHUNK, $RUNS runs," \
     "warm-up scrub: $WARMUP"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r);" \
     "$(java -version 2>&1 | head -1); $(fio --version); load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
printf '%-10s %-4s %12s %12s %12s %12s %7s %s\n' level run "floor MiB/s" "scrub MiB/s" "(volume)" "seconds" ratio "load avg"
for run in $(seq 1 "$RUNS"); do
    for level in "${LEVELS[@]}"; do
        DIR="$WORK/raid$level-run$run"
        mkdir -p "$DIR"
        if [ "$level" = 5 ]; then N=5; SHAPE="4+1"; else N=6; SHAPE="4+2"; fi
        members=()
        for i in $(seq 0 $((N - 1))); do members+=("$DIR/m$i.img"); done
        raidctl create --level "$level" --chunk "$CHUNK" --size "$MEMBER_SIZE" --name vol "${members[@]}" > /dev/null
        raidctl examine --json "${members[0]}" > "$DIR/examine.json"
        DATA_OFFSET=$(jget "$DIR/examine.json" 'd[0]["dataOffsetSectors"] * 512')
        DATA_BYTES=$(jget "$DIR/examine.json" 'd[0]["usedSizeSectors"] * 512')
        VOLUME_BYTES=$((DATA_BYTES * 4))
        SOCK="$DIR/ctl.sock"
        port=$(free_port)
        # shellcheck disable=SC2086
        "${JAVA[@]}" -XX:+UseG1GC ${RAIDD_JAVA_OPTS:-} -cp "$JAR" io.raidd.cli.RaiddMain --listen "127.0.0.1:$port" \
            --control "$SOCK" "${members[@]}" > "$DIR/raidd.out" 2> "$DIR/raidd.err" &
        RAIDD_PID=$!
        for _ in $(seq 1 300); do grep -q '^nbd://' "$DIR/raidd.out" && break; sleep 0.1; done
        URI=$(grep -m1 '^nbd://' "$DIR/raidd.out") || { cat "$DIR/raidd.err" >&2; exit 1; }
        fio --name=fill --ioengine=nbd --uri="$URI" --rw=write --bs=1M --iodepth=16 --size="$VOLUME_BYTES" \
            --refill_buffers --output-format=json --output="$DIR/fill.json" > /dev/null 2>&1
        sleep 3   # past the safe-mode delay (2 s): the volume is idle and clean

        # scrub_until_done: the check scrub just started, polled until it ends
        scrub_until_done() {
            while true; do
                raidctl --control "$SOCK" scrub status --json vol > "$DIR/scrub.json"
                state=$(jget "$DIR/scrub.json" 'd["state"]')
                [ "$state" = running ] || [ "$state" = queued ] || break
                sleep 0.5
            done
        }
        if [ "$WARMUP" = 1 ]; then
            raidctl --control "$SOCK" scrub start --check vol > /dev/null
            scrub_until_done
        fi
        f1=$(floor "$DIR/floor-a.json" "${members[@]}")
        if [ -n "${ASPROF:-}" ]; then
            jcmd "$RAIDD_PID" JVMTI.agent_load "$ASPROF" "\"start,event=cpu,interval=1ms,threads\"" > /dev/null
        fi
        raidctl --control "$SOCK" scrub start --check vol > /dev/null
        scrub_until_done
        [ "$state" = finished ] || { echo "scrub: scrub ended $state" >&2; cat "$DIR/scrub.json" >&2; exit 1; }
        if [ -n "${ASPROF:-}" ]; then
            jcmd "$RAIDD_PID" JVMTI.agent_load "$ASPROF" \
                "\"stop,collapsed,file=${RESULTS:-$ROOT}/profile-scrub-raid$level-run$run.collapsed\"" > /dev/null
        fi
        found=$(jget "$DIR/scrub.json" 'd["found"]')
        [ "$found" = 0 ] || { echo "scrub: a clean volume had $found findings" >&2; exit 1; }
        f2=$(floor "$DIR/floor-b.json" "${members[@]}")
        floor_bps=$(( f1 > f2 ? f1 : f2 ))
        python3 - "$DIR/scrub.json" "$N" "$floor_bps" "$level $SHAPE" "$run" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
from datetime import datetime
d = json.load(open(sys.argv[1])); n = int(sys.argv[2]); floor = int(sys.argv[3])
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
secs = t(d["ended"]) - t(d["started"])
member_bytes = d["doneBytes"] * n / 4
rate = member_bytes / secs
print("%-10s %-4s %12.0f %12.0f %12.0f %12.2f %7.2f %s" % (
    "RAID-" + sys.argv[4], sys.argv[5], floor / 2**20, rate / 2**20, d["doneBytes"] / secs / 2**20, secs,
    rate / floor, sys.argv[6]))
PY
        kill "$RAIDD_PID"; wait "$RAIDD_PID" 2>/dev/null || true; RAIDD_PID=""
        rm -rf "$DIR"
    done
done
