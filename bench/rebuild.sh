#!/usr/bin/env bash
# Rebuild speed and its cost to clients ("heal" issue, item 8), on image files in tmpfs:
#   (a) RAID-5 4+1, one member failed and one added; (b) RAID-6 4+2, two failed and two added,
#   rebuilt together in one pass.
# For each level and run:
#   1. the I/O floor: one fio (psync, 512 KiB = the rebuild's request size) reading every survivor's
#      data area and writing the data area of fresh image file(s) sequentially, all jobs at once;
#      floor = bytes written to one new member / wall time of the slowest job. Measured before and
#      after the rebuild, the faster of the two counts (a rebuild cannot move its bytes faster).
#   2. idle rebuild: fail the member(s), add fresh image(s), time until the control protocol's
#      "wait" (what raidctl wait sends) returns; rate = member data bytes / s per new member.
#   3. under load: fio through NBD (random 4 KiB, 50 % reads, iodepth 8, 1 job, total latency
#      percentiles) for LOAD_SECONDS after a 3 s ramp, three times: on the healthy volume (idle
#      p99), with the member(s) failed and no rebuild (degraded p99: what the volume costs clients
#      without any rebuild), and with fresh member(s) added half a second after fio starts, so the
#      rebuild runs through fio's whole measured window. The status right after the add and right
#      after fio gives the rebuild rate under load; the run is marked INVALID if the add came after
#      the ramp or the rebuild had ended by then (it is paced at --rebuild-min while clients are
#      active: 1 GiB members take ~100 s at 10 MiB/s, far longer than the window).
# The volume is filled with random data through NBD first, so the rebuild regenerates every stripe
# (it skips stripes that are holes on every survivor); the holes it recorded are shown.
#
# Builds nothing: it runs cli/target/raidd.jar, so build first:
#     ./mvnw -B -ntp -q -pl cli -am package -DskipTests
# Usage: bench/rebuild.sh [level ...]        (default: 5 6)
# Environment: MEMBER_SIZE (per member image, default 1G; 256M for a quick run), RUNS (2),
#              LOAD_SECONDS (20), REBUILD_MIN (raidd --rebuild-min, default 10M = raidd's default),
#              REBUILD_MAX (raidd --rebuild-max, default unset = unlimited), CHUNK (512K),
#              WORK_PARENT (/dev/shm), RESULTS (directory to keep the per-run JSON and raidd logs in),
#              RAIDD_JAVA_OPTS, ASPROF (path to async-profiler's libasyncProfiler.so: profiles raidd
#              during each idle rebuild, collapsed stacks into RESULTS; the profiler costs CPU, so
#              keep such runs apart from the ones you quote).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR="$ROOT/cli/target/raidd.jar"
CTL="$ROOT/bench/rebuild-ctl.py"
if [ $# -gt 0 ]; then LEVELS=("$@"); else LEVELS=(5 6); fi
MEMBER_SIZE=${MEMBER_SIZE:-1G}
RUNS=${RUNS:-2}
LOAD_SECONDS=${LOAD_SECONDS:-20}
RAMP=3
REBUILD_MIN=${REBUILD_MIN:-10M}
REBUILD_MAX=${REBUILD_MAX:-}
CHUNK=${CHUNK:-512K}
WORK_PARENT=${WORK_PARENT:-/dev/shm}
RESULTS=${RESULTS:-}

for tool in java fio python3 truncate; do
    command -v "$tool" >/dev/null || { echo "rebuild: $tool is required (fio: apt-get install fio)" >&2; exit 1; }
done
fio --enghelp=nbd >/dev/null 2>&1 || { echo "rebuild: this fio has no nbd engine (fio >= 3.16 built with libnbd)" >&2; exit 1; }
if [ -n "${ASPROF:-}" ]; then
    command -v jcmd >/dev/null || { echo "rebuild: ASPROF needs jcmd (the JDK's)" >&2; exit 1; }
    [ -f "$ASPROF" ] || { echo "rebuild: ASPROF=$ASPROF is not a file (libasyncProfiler.so)" >&2; exit 1; }
fi
[ -f "$JAR" ] || { echo "rebuild: $JAR is missing; build it first: ./mvnw -B -ntp -q -pl cli -am package -DskipTests" >&2; exit 1; }
for l in "${LEVELS[@]}"; do
    case $l in 5|6) ;; *) echo "rebuild: level $l: only 5 and 6" >&2; exit 1 ;; esac
done

WORK=$(mktemp -d "$WORK_PARENT/raidd-rebuild.XXXX")
RAIDD_PID=""
FIO_PID=""
cleanup() {
    local rc=$?
    [ -n "$FIO_PID" ] && kill "$FIO_PID" 2>/dev/null && wait "$FIO_PID" 2>/dev/null || true
    [ -n "$RAIDD_PID" ] && kill "$RAIDD_PID" 2>/dev/null && wait "$RAIDD_PID" 2>/dev/null || true
    if [ -n "$RESULTS" ]; then
        mkdir -p "$RESULTS" && cp "$WORK"/result-*.json "$RESULTS"/ 2>/dev/null || true
    fi
    if [ $rc -ne 0 ]; then
        if [ -n "${DIR:-}" ] && [ -f "$DIR/raidd.err" ]; then
            echo "rebuild: the end of raidd's log:" >&2; tail -5 "$DIR/raidd.err" >&2
            [ -n "$RESULTS" ] && cp "$DIR/raidd.err" "$RESULTS/raidd-failed.err"
        fi
        echo "rebuild: failed (exit $rc); see the messages above" >&2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "rebuild: command failed at line $LINENO: $BASH_COMMAND" >&2' ERR

JAVA=(java --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
raidctl() { "${JAVA[@]}" -cp "$JAR" io.raidd.cli.RaidctlMain "$@" 2>/dev/null; }
ctl() { python3 "$CTL" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
jget() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }

# floor DIR OUT SURVIVOR... -- NEWFILE...: the I/O floor, all jobs concurrently
floor() {
    local dir=$1 out=$2; shift 2
    local jobs=() f i=0 writes=()
    while [ "$1" != -- ]; do jobs+=(--name="read$i" --rw=read --filename="$1"); i=$((i + 1)); shift; done
    shift
    for f in "$@"; do
        truncate -s "$MEMBER_BYTES" "$f"            # sparse, as raidctl add creates a new member
        jobs+=(--name="write$i" --rw=write --filename="$f"); i=$((i + 1)); writes+=("$f")
    done
    ctl snap "" > "$dir/floor-s0.json"
    fio --ioengine=psync --bs="$CHUNK" --offset="$DATA_OFFSET" --size="$DATA_BYTES" --fallocate=none \
        --output-format=json --output="$dir/floor.fio.json" "${jobs[@]}" > /dev/null
    ctl snap "" > "$dir/floor-s1.json"
    rm -f "${writes[@]}"
    ctl floor "$dir/floor.fio.json" "$dir/floor-s0.json" "$dir/floor-s1.json" "$out"
}

# foreground OUT: the client workload through NBD, LOAD_SECONDS after a RAMP s ramp, JSON to OUT
foreground() {
    fio --name=load --ioengine=nbd --uri="$URI" --rw=randrw --rwmixread=50 --bs=4k --iodepth=8 --numjobs=1 \
        --size="$VOLUME_BYTES" --norandommap --randrepeat=0 --time_based --runtime="$LOAD_SECONDS" --ramp_time="$RAMP" \
        --lat_percentiles=1 --unified_rw_reporting=both --output-format=json --output="$1" > /dev/null 2>&1
}

# new_members SUFFIX: paths of fresh images for the FAIL_SLOTS
new_members() { local s; for s in "${FAIL_SLOTS[@]}"; do printf '%s\n' "$DIR/new$s-$1.img"; done; }
# fail_slots: fails the FAIL_SLOTS' members, takes them out and deletes their files (tmpfs space)
fail_slots() { ctl fail "$SOCK" vol "${FAIL_SLOTS[@]}"; }

echo "raidd rebuild benchmark: member images of $MEMBER_SIZE on $WORK_PARENT, chunk $CHUNK, $RUNS runs," \
     "foreground ${LOAD_SECONDS}s, --rebuild-min $REBUILD_MIN${REBUILD_MAX:+, --rebuild-max $REBUILD_MAX}"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r);" \
     "$(java -version 2>&1 | head -1); $(fio --version); load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
results=()
for run in $(seq 1 "$RUNS"); do
    for level in "${LEVELS[@]}"; do
        DIR="$WORK/raid$level-run$run"
        mkdir -p "$DIR"
        if [ "$level" = 5 ]; then N=5; FAIL_SLOTS=(1); SHAPE="4+1"; else N=6; FAIL_SLOTS=(1 4); SHAPE="4+2"; fi
        members=()
        for i in $(seq 0 $((N - 1))); do members+=("$DIR/m$i.img"); done
        survivors=()
        for i in $(seq 0 $((N - 1))); do
            [[ " ${FAIL_SLOTS[*]} " == *" $i "* ]] || survivors+=("$DIR/m$i.img")
        done
        raidctl create --level "$level" --chunk "$CHUNK" --size "$MEMBER_SIZE" --name vol "${members[@]}" > /dev/null
        raidctl examine --json "${members[0]}" > "$DIR/examine.json"
        DATA_OFFSET=$(jget "$DIR/examine.json" 'd[0]["dataOffsetSectors"] * 512')
        DATA_BYTES=$(jget "$DIR/examine.json" 'd[0]["usedSizeSectors"] * 512')
        MEMBER_BYTES=$(stat -c %s "${members[0]}")
        VOLUME_BYTES=$((DATA_BYTES * 4))

        SOCK="$DIR/ctl.sock"
        port=$(free_port)
        limits=(--rebuild-min "$REBUILD_MIN")
        [ -n "$REBUILD_MAX" ] && limits+=(--rebuild-max "$REBUILD_MAX")
        # shellcheck disable=SC2086
        "${JAVA[@]}" -XX:+UseG1GC ${RAIDD_JAVA_OPTS:-} -cp "$JAR" io.raidd.cli.RaiddMain --listen "127.0.0.1:$port" \
            --control "$SOCK" "${limits[@]}" "${members[@]}" > "$DIR/raidd.out" 2> "$DIR/raidd.err" &
        RAIDD_PID=$!
        for _ in $(seq 1 300); do grep -q '^nbd://' "$DIR/raidd.out" && break; sleep 0.1; done
        URI=$(grep -m1 '^nbd://' "$DIR/raidd.out") || { cat "$DIR/raidd.err" >&2; exit 1; }

        echo
        echo "== RAID-$level $SHAPE, run $run: data area $DATA_BYTES bytes per member at offset $DATA_OFFSET," \
             "volume $VOLUME_BYTES bytes"
        t=$(date +%s.%N)
        fio --name=fill --ioengine=nbd --uri="$URI" --rw=write --bs=1M --iodepth=16 --size="$VOLUME_BYTES" \
            --refill_buffers --output-format=json --output="$DIR/fill.json" > /dev/null 2>&1
        allocated=$(( $(stat -c '%b * %B' "${members[0]}") ))
        echo "filled with random data in $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s;" \
             "member 0 has $allocated bytes allocated"
        [ "$allocated" -ge "$DATA_BYTES" ] || { echo "rebuild: the fill left holes in the members" >&2; exit 1; }
        sleep 3   # past the safe-mode delay (2 s): the volume is idle and clean

        # 1. floor, 2. idle rebuild, 1'. floor again
        floors=()
        new_floor=(); for s in "${FAIL_SLOTS[@]}"; do new_floor+=("$DIR/floor$s.img"); done
        echo -n "I/O floor (before): "
        floor "$DIR" "$DIR/floor-a.json" "${survivors[@]}" -- "${new_floor[@]}"
        fail_slots
        mapfile -t fresh < <(new_members idle)
        if [ -n "${ASPROF:-}" ]; then
            # jcmd parses key=value itself: the agent's options go in as one quoted string
            jcmd "$RAIDD_PID" JVMTI.agent_load "$ASPROF" \
                "\"start,event=${ASPROF_EVENT:-cpu},interval=${ASPROF_INTERVAL:-1ms},threads\"" > /dev/null
        fi
        echo -n "idle rebuild of ${#fresh[@]} member(s): "
        ctl rebuild "$SOCK" vol "$RAIDD_PID" "$DIR/rebuild.json" "${fresh[@]}" | sed 's/$/ s/'
        if [ -n "${ASPROF:-}" ]; then
            mkdir -p "${RESULTS:-$ROOT}"
            jcmd "$RAIDD_PID" JVMTI.agent_load "$ASPROF" \
                "\"stop,collapsed,file=${RESULTS:-$ROOT}/profile-raid$level-run$run.collapsed\"" > /dev/null
            echo "profile: ${RESULTS:-$ROOT}/profile-raid$level-run$run.collapsed"
        fi
        holes=$(grep 'rebuilt (' "$DIR/raidd.err" | tail -1 | sed -n 's/.*regenerated, \([0-9]*\) bytes recorded as holes.*/\1/p')
        echo -n "I/O floor (after):  "
        floor "$DIR" "$DIR/floor-b.json" "${survivors[@]}" -- "${new_floor[@]}"

        # 3. foreground on the healthy volume, degraded (no rebuild), then with a rebuild under it
        echo -n "foreground, healthy volume:  "
        foreground "$DIR/load-idle.fio.json"
        ctl load "$DIR/load-idle.fio.json" "$DIR/load-idle.json"
        fail_slots
        echo -n "foreground, degraded volume: "
        foreground "$DIR/load-degraded.fio.json"
        ctl load "$DIR/load-degraded.fio.json" "$DIR/load-degraded.json"
        mapfile -t fresh < <(new_members load)
        started=$EPOCHREALTIME
        foreground "$DIR/load-rebuild.fio.json" &
        FIO_PID=$!
        sleep 0.5
        ctl add "$SOCK" vol "${fresh[@]}"
        added_after=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
        ctl status "$SOCK" vol "$RAIDD_PID" > "$DIR/load-s0.json"
        wait "$FIO_PID"; FIO_PID=""
        ctl status "$SOCK" vol "$RAIDD_PID" > "$DIR/load-s1.json"
        echo -n "foreground, rebuilding:      "
        ctl load "$DIR/load-rebuild.fio.json" "$DIR/load-rebuild.json" "$DIR/load-s0.json" "$DIR/load-s1.json" \
            "${#FAIL_SLOTS[@]}" "$added_after" "$RAMP"

        python3 - "$DIR" "$WORK/result-raid$level-run$run.json" "$level" "$SHAPE" "$run" "$DATA_BYTES" \
            "${#FAIL_SLOTS[@]}" "${holes:-?}" <<'EOF'
import json, sys
d, out, level, shape, run, data, targets, holes = sys.argv[1:]
def load(name):
    with open(d + "/" + name) as f:
        return json.load(f)
json.dump({"level": int(level), "shape": shape, "run": int(run), "member_bytes": int(data),
           "targets": int(targets), "holes": holes,
           "floor": [load("floor-a.json"), load("floor-b.json")], "rebuild": load("rebuild.json"),
           "load_idle": load("load-idle.json"), "load_degraded": load("load-degraded.json"),
           "load_rebuild": load("load-rebuild.json")}, open(out, "w"))
EOF
        results+=("$WORK/result-raid$level-run$run.json")
        kill "$RAIDD_PID"; wait "$RAIDD_PID" 2>/dev/null || true; RAIDD_PID=""
        [ -n "$RESULTS" ] && mkdir -p "$RESULTS" && cp "$DIR/raidd.err" "$RESULTS/raidd-raid$level-run$run.err"
        rm -f "$DIR"/*.img
    done
done

echo
echo "MB = 10^6 bytes; rebuild rates are per new member (data bytes of one member / s); the floor and the"
echo "rebuild write the same bytes; p99 is fio's total latency (lat_percentiles) over reads and writes together."
echo
ctl table "${results[@]}"
