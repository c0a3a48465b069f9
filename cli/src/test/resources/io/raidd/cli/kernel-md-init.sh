#!/bin/busybox sh
# /init of the KernelMd oracle VM (see KernelMd.java): loads the md modules, shows what mdadm
# thinks of the members, assembles them with the real md driver, runs md's own parity/copy check,
# optionally copies the start of the array onto an extra disk for the host to hash, and powers off.
#
# Everything the host parses is between marker lines:
#   @@T <name> <uptime>          a timestamp (guest seconds since boot)
#   @@BEGIN <section> ... @@END <section>
#   @@KV <key>=<value>           one value
# The script must always reach "@@DONE" and poweroff: the host fails the test without it, and every
# wait below is bounded so that a stuck md cannot hold the VM until the host's timeout.
#
# Parameters come from the kernel command line (not the environment: names with dots would be
# taken as module parameters): raidd_members=N (vda.. are the members), raidd_copy=BYTES (0: no
# copy; else the disk after the members receives the first BYTES of /dev/md0), raidd_check=0|1,
# raidd_wait=SECONDS (bound for each resync/recovery/check wait).

/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run/mdadm /tmp
# mdadm must not wait for a udev that does not exist.
export MDADM_NO_UDEV=1

uptime_s() { cut -d' ' -f1 /proc/uptime; }
stamp() { echo "@@T $1 $(uptime_s)"; }
begin() { echo "@@BEGIN $1"; }
end() { echo "@@END $1"; }
kv() { echo "@@KV $1=$2"; }

stamp init

members=0
copy=0
check=1
wait_s=300
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    raidd_members=*) members="${arg#*=}" ;;
    raidd_copy=*) copy="${arg#*=}" ;;
    raidd_check=*) check="${arg#*=}" ;;
    raidd_wait=*) wait_s="${arg#*=}" ;;
  esac
done

begin modules
for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" 2>&1 || echo "@@ERROR insmod $m failed"
done
end modules
stamp modules

letters="a b c d e f g h i j k l m n o p q r s t u v w x y z"
devs=""
i=0
for l in $letters; do
  [ "$i" -lt "$members" ] || break
  devs="$devs /dev/vd$l"
  i=$((i + 1))
done
copy_dev=""
if [ "$copy" != 0 ]; then
  set -- $letters
  shift "$members"
  copy_dev="/dev/vd$1"
fi

# virtio_blk probes asynchronously: wait (bounded) until every disk has its node.
last_dev=${copy_dev:-${devs##* }}
i=0
while [ ! -b "$last_dev" ] && [ "$i" -lt 100 ]; do
  usleep 100000
  i=$((i + 1))
done
kv devices "$(ls /dev/vd* 2>/dev/null | tr '\n' ' ')"

begin examine
for d in $devs; do
  mdadm --examine "$d" 2>&1
done
end examine

# md's rates are in KiB/s; the default maximum (200 MB/s) would make check the slow part under KVM.
echo 2000000 > /proc/sys/dev/raid/speed_limit_max
echo 2000000 > /proc/sys/dev/raid/speed_limit_min

stamp assemble
begin assemble
mdadm --assemble /dev/md0 $devs 2>&1
kv assemble_rc $?
end assemble
stamp assembled

md=/sys/block/md0/md
sysfs_values() {
  for f in level raid_disks layout chunk_size array_state degraded resync_start sync_action sync_completed; do
    [ -e "$md/$f" ] && kv "$1.$f" "$(cat "$md/$f")"
  done
  for d in "$md"/dev-*; do
    [ -d "$d" ] || continue
    n=${d##*/dev-}
    kv "$1.dev.$n" "slot=$(cat "$d/slot") state=$(cat "$d/state") recovery_start=$(cat "$d/recovery_start")"
  done
}

# Waits until md has no resync, recovery or check running, at most wait_s seconds.
wait_idle() {
  i=0
  limit=$((wait_s * 10))
  while [ "$(cat "$md/sync_action")" != idle ] && [ "$i" -lt "$limit" ]; do
    usleep 100000
    i=$((i + 1))
  done
  kv "$1.sync_action" "$(cat "$md/sync_action")"
}

if [ -d "$md" ] && [ "$(cat "$md/array_state")" != inactive ] && [ "$(cat "$md/array_state")" != clear ]; then
  kv assembled 1
  # Read right after assembly: what md decided about our members before it did anything.
  sysfs_values at_assembly
  begin mdstat_at_assembly
  cat /proc/mdstat
  end mdstat_at_assembly
  kv size_bytes "$(blockdev --getsize64 /dev/md0)"
  begin detail_at_assembly
  mdadm --detail /dev/md0 2>&1
  end detail_at_assembly

  case "$(cat "$md/array_state")" in
    read-auto | readonly) mdadm --readwrite /dev/md0 2>&1 ;;
  esac

  stamp sync_wait
  wait_idle after_sync
  stamp sync_done

  if [ "$check" = 1 ]; then
    stamp check
    kv check.last_sync_action_before "$(cat "$md/last_sync_action")"
    echo check > "$md/sync_action"
    kv check_rc $?
    # The check starts in md's thread; until then sync_action may still read idle.
    i=0
    while [ "$(cat "$md/sync_action")" = idle ] && [ "$i" -lt 10 ]; do
      usleep 10000
      i=$((i + 1))
    done
    wait_idle after_check
    stamp check_done
    # Proof that a check ran (a degraded array, for one, may refuse it): md remembers the last action.
    kv check.last_sync_action "$(cat "$md/last_sync_action")"
    kv mismatch_cnt "$(cat "$md/mismatch_cnt")"
  fi

  if [ -n "$copy_dev" ]; then
    stamp copy
    begin copy
    dd if=/dev/md0 of="$copy_dev" bs=1M count="$copy" iflag=count_bytes,direct oflag=direct conv=fsync 2>&1
    kv copy_rc $?
    end copy
    stamp copy_done
  fi

  sysfs_values final
  begin mdstat_final
  cat /proc/mdstat
  end mdstat_final
  begin detail_final
  mdadm --detail /dev/md0 2>&1
  end detail_final
  begin stop
  mdadm --stop /dev/md0 2>&1
  end stop
else
  kv assembled 0
  begin mdstat_at_assembly
  cat /proc/mdstat
  end mdstat_at_assembly
fi

begin dmesg
dmesg | grep -E 'md|raid|async|xor|virtio|insmod|Unknown symbol|module'
end dmesg
sync
stamp done
echo "@@DONE"
poweroff -f
