#!/usr/bin/env bash
# Throughput of raidd's NBD server against nbdkit (memory plugin) and qemu-nbd (raw file on
# tmpfs), all serving 1 GiB from RAM on 127.0.0.1, measured with nbdcopy and fio's nbd engine.
# Servers are measured in turn within each round so that load from other processes on the
# machine hits all of them alike; the table shows medians.
# Usage: compare-servers.sh [rounds]   (run `./mvnw -pl nbd-server -am install -DskipTests` first)
set -euo pipefail
ROUNDS=${1:-5}
FIO_SECONDS=${FIO_SECONDS:-5}
HERE=$(cd "$(dirname "$0")/../../.." && pwd)          # nbd-server/
CP="$HERE/target/classes:$HERE/target/test-classes:$(cd "$HERE/.." && ./mvnw -q -pl nbd-server dependency:build-classpath -Dmdep.outputFile=/dev/stdout)"
SIZE=1G
WORK=$(mktemp -d /dev/shm/nbdbench.XXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
head -c $SIZE /dev/urandom > "$WORK/src.bin"
truncate -s $SIZE "$WORK/qemu.img"

java -cp "$CP" io.raidd.nbd.ServeMemoryExport 10899 1024 > "$WORK/raidd.log" 2>&1 &
nbdkit --exit-with-parent -f -p 10898 memory $SIZE &
qemu-nbd -f raw -t --shared=16 -b 127.0.0.1 -p 10897 -x '' --cache=writeback "$WORK/qemu.img" &
for i in $(seq 1 100); do grep -q listening "$WORK/raidd.log" 2>/dev/null && break; sleep 0.1; done
SERVERS="raidd:10899 nbdkit:10898 qemu-nbd:10897"

secs() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
fio_iops() {
    fio --name=b --ioengine=nbd --uri="$1" --rw="$2" --bs="$3" --iodepth=64 --size=$SIZE \
        --runtime="$FIO_SECONDS" --time_based --group_reporting --output-format=terse --terse-version=3 |
        awk -F';' -v rw="$2" '{ print (rw ~ /write/) ? $49 : $8 }' | tail -1
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# The JVM compiles its hot paths during the first minute; every server gets the same warm-up.
for r in 1 2 3 4; do
    for s in $SERVERS; do
        uri="nbd://127.0.0.1:${s#*:}/"
        nbdcopy "$WORK/src.bin" "$uri"; nbdcopy "$uri" null:; fio_iops "$uri" randrw 4k > /dev/null
    done
done
declare -A result
for test in write read randread randwrite seqread; do
    for r in $(seq "$ROUNDS"); do
        for s in $SERVERS; do
            uri="nbd://127.0.0.1:${s#*:}/"
            case $test in
                write) v=$(secs nbdcopy "$WORK/src.bin" "$uri") ;;
                read) v=$(secs nbdcopy "$uri" null:) ;;
                randread) v=$(fio_iops "$uri" randread 4k) ;;
                randwrite) v=$(fio_iops "$uri" randwrite 4k) ;;
                seqread) v=$(fio_iops "$uri" read 1M) ;;
            esac
            result[$test:${s%%:*}]+="$v "
        done
    done
done
printf "%-9s %12s %12s %14s %14s %12s\n" server "write1G(s)" "read1G(s)" "randread4k/s" "randwrite4k/s" "seqread1M/s"
for s in $SERVERS; do
    n=${s%%:*}
    printf "%-9s" "$n"
    for test in write read randread randwrite seqread; do
        printf " %12s" "$(echo "${result[$test:$n]}" | tr ' ' '\n' | grep . | median)"
    done
    echo
done
echo "(medians of $ROUNDS interleaved rounds after warm-up; nbdcopy 1 GiB in seconds; fio nbd engine IOPS, iodepth 64, $FIO_SECONDS s)"
