#!/usr/bin/env bash
# Throughput of raidd's NBD server against nbdkit (memory plugin) and qemu-nbd (raw file on
# tmpfs), all serving 1 GiB from RAM on 127.0.0.1, measured with nbdcopy and fio's nbd engine.
# Usage: compare-servers.sh [rounds]   (run `./mvnw -pl nbd-server -am install -DskipTests` first)
set -euo pipefail
ROUNDS=${1:-3}
FIO_SECONDS=${FIO_SECONDS:-8}
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

best() { sort -n | head -1; }
secs() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
fio_iops() {
    fio --name=b --ioengine=nbd --uri="$1" --rw="$2" --bs="$3" --iodepth=64 --size=$SIZE \
        --runtime=$FIO_SECONDS --time_based --group_reporting --output-format=terse --terse-version=3 |
        awk -F';' -v rw="$2" '{ print (rw ~ /write/) ? $49 : $8 }'
}
# The JVM compiles its hot paths during the first runs; every server gets the same warm-up.
for port in 10899 10898 10897; do
    for r in 1 2 3; do
        nbdcopy "$WORK/src.bin" "nbd://127.0.0.1:$port/" && nbdcopy "nbd://127.0.0.1:$port/" null:
        fio_iops "nbd://127.0.0.1:$port/" randrw 4k > /dev/null
    done
done
printf "%-9s %12s %12s %14s %14s %12s\n" server "write1G(s)" "read1G(s)" "randread4k" "randwrite4k" "seqread1M"
for name in raidd:10899 nbdkit:10898 qemu-nbd:10897; do
    port=${name#*:}; uri="nbd://127.0.0.1:$port/"
    w=$(for r in $(seq "$ROUNDS"); do secs nbdcopy "$WORK/src.bin" "$uri"; done | best)
    rd=$(for r in $(seq "$ROUNDS"); do secs nbdcopy "$uri" null:; done | best)
    rr=$(for r in $(seq "$ROUNDS"); do fio_iops "$uri" randread 4k; done | sort -n | tail -1)
    rw=$(for r in $(seq "$ROUNDS"); do fio_iops "$uri" randwrite 4k; done | sort -n | tail -1)
    sr=$(for r in $(seq "$ROUNDS"); do fio_iops "$uri" read 1M; done | sort -n | tail -1)
    printf "%-9s %12s %12s %12s/s %12s/s %10s/s\n" "${name%%:*}" "$w" "$rd" "$rr" "$rw" "$sr"
done
echo "(after warm-up; nbdcopy: best of $ROUNDS, seconds; fio: best IOPS of $ROUNDS, $FIO_SECONDS s each, iodepth 64)"
