#!/bin/busybox sh
# /init of the kernel-test VM's initramfs (test/kernel-vm/vm.ts builds it), run by busybox-static.
#
# Stage 1 (PID 1 in the initramfs): loads the modules listed in /modules.list (the harness resolved
# their dependencies, in load order), mounts the host's root file system (9p tag `root`, read-only)
# under a writable overlay whose upper layer is RAM, mounts the job directory (9p tag `job`,
# read-write) and the caller's output directory if any (tag `out`), then switch_root's into the overlay, so the kernel's own module autoloading finds the
# host's modprobe and /lib/modules like on an installed Debian system.
# Stage 2 (PID 1 in the new root, `init.sh stage2`): runs the job's command.sh as root, its output on
# the serial console, writes the exit code to the job directory and on the console, and powers off.
#
# The harness reads two markers on the console: `@@bench-vm:ready <uptime s>@@` when the command
# starts and `@@bench-vm:exit <code>@@` when it has ended.
bb=/bin/busybox

fail() {
  echo "@@bench-vm:boot-failed $*@@"
  $bb sync
  $bb reboot -f
  $bb sleep 60
}

if [ "$1" = stage2 ]; then
  bb=/.bench-vm/busybox
  $bb hostname bench-vm
  $bb ip link set lo up 2>/dev/null
  echo "@@bench-vm:ready $($bb cut -d' ' -f1 /proc/uptime)@@"
  # Through a pipe: the command's output is not a terminal (no progress bars, no redrawing), as in CI.
  set -o pipefail
  /bin/sh /run/vm-job/command.sh </dev/null 2>&1 | $bb cat
  code=$?
  echo "$code" > /run/vm-job/exit-code
  $bb sync
  echo "@@bench-vm:exit $code@@"
  $bb reboot -f
  $bb sleep 60
fi

$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb mount -t devtmpfs dev /dev
for m in $($bb cat /modules.list); do
  $bb insmod "/modules/$m.ko" || fail "insmod $m"
done
$bb mkdir -p /lower /rw /newroot
$bb mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose root /lower || fail "mount of the host root (9p)"
$bb mount -t tmpfs -o "size=$($bb cat /overlay.size)" rw /rw || fail "tmpfs"
$bb mkdir -p /rw/upper /rw/work
$bb mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || fail "overlay"
$bb mount -t proc proc /newroot/proc
$bb mount -t sysfs sys /newroot/sys
$bb mount -t devtmpfs dev /newroot/dev
$bb mkdir -p /newroot/dev/pts /newroot/dev/shm
$bb mount -t devpts devpts /newroot/dev/pts
$bb mount -t tmpfs shm /newroot/dev/shm
$bb mount -t tmpfs tmp /newroot/tmp
$bb mount -t tmpfs run /newroot/run
$bb mkdir -p /newroot/run/vm-job /newroot/.bench-vm
$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 job /newroot/run/vm-job || fail "mount of the job directory (9p)"
# The caller's output directory, when it gave one.
$bb mkdir -p /newroot/run/vm-out
$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /newroot/run/vm-out 2>/dev/null || $bb rmdir /newroot/run/vm-out
$bb cp /bin/busybox /init /newroot/.bench-vm/
exec $bb switch_root /newroot /.bench-vm/busybox sh /.bench-vm/init stage2
