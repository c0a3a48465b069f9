#!/usr/bin/env bash
# What the size checks around member writes cost (MemberSizeCheckBenchmark.fileBlockDeviceWrite),
# measured against FileBlockDevice as it was at BASE (default: the commit before the checks), in
# alternating short runs so that a load that drifts over minutes hits both alike. Prints, per write
# size, the median per-run CPU time per write (the thread's CPU clock, not wall time: on a shared
# machine most of the wall-clock noise is waiting for a core) and the difference.
#
#   bench/member-size-check.sh            # after ./mvnw -pl bench -am package -DskipTests
#   BASE=f481e07 ROUNDS=6 SIZES="4096 524288" bench/member-size-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:-f481e07}
ROUNDS=${ROUNDS:-6}
SIZES=${SIZES:-"4096 524288"}
JAR=bench/target/benchmarks.jar
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

git archive "$BASE" blockdev/src/main/java | tar -x -C "$WORK"
mkdir "$WORK/classes"
javac --release 17 -nowarn -cp "$JAR" -d "$WORK/classes" $(find "$WORK/blockdev" -name '*.java')

for size in $SIZES; do
  for round in $(seq "$ROUNDS"); do
    for variant in before after; do
      cp=$JAR
      [ "$variant" = before ] && cp="$WORK/classes:$JAR"
      java -cp "$cp" org.openjdk.jmh.Main 'MemberSizeCheckBenchmark.fileBlockDeviceWrite$' \
        -p writeBytes="$size" -f 1 -wi 2 -i 6 -w 1s -r 500ms \
        -rf json -rff "$WORK/$size-$round-$variant.json" >/dev/null
    done
  done
done

python3 - "$WORK" "$ROUNDS" $SIZES <<'PY'
import json, statistics, sys
work, rounds, sizes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def cpu(size, rnd, variant):
    r = json.load(open(f"{work}/{size}-{rnd}-{variant}.json"))[0]
    raw = [x for fork in r["secondaryMetrics"]["cpuNsPerOp"]["rawData"] for x in fork]
    return statistics.median(raw)
print("| write | before, CPU ns/write | after, CPU ns/write | after − before (median of pairs) |")
print("|---|---|---|---|")
for size in sizes:
    b = [cpu(size, i, "before") for i in range(1, rounds + 1)]
    a = [cpu(size, i, "after") for i in range(1, rounds + 1)]
    d = statistics.median(x - y for x, y in zip(a, b))
    print(f"| {int(size) // 1024} KiB | {statistics.median(b):.0f} | {statistics.median(a):.0f} |"
          f" {d:+.0f} ns ({100 * d / statistics.median(b):+.1f} %) |")
PY
