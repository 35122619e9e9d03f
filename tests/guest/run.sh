#!/usr/bin/env bash
# Boots Debian's stock kernel under QEMU (TCG) with a busybox initramfs and
# runs one test script inside it. See docs/guest-tests.md.
#
# usage: run.sh --script FILE [options] [-- extra qemu args...]
#   --script FILE      shell script run (by busybox sh) as init's payload
#   --bin PATH         host executable to include as /bin/<name>, with the
#                      shared libraries ldd finds (repeatable)
#   --file SRC[:DEST]  data file to include (default DEST /data/<name>) (repeatable)
#   --timeout SEC      wall-clock limit for the whole boot (default 600)
#   --memory MB        guest RAM (default 1024)
#   --smp N            guest CPUs (default 1)
#   --log FILE         also write the console output here, line by line as it comes
#   --append ARGS      extra kernel command line
#   --no-default-tools don't include the libcdio/sg3/dvd+rw tools found on the host
#   --qemu-arg ARG     one extra QEMU argument (repeatable); or put them after --
# The script's exit status is printed by init as "GUEST-RESULT: <rc>" and
# becomes run.sh's exit status; 124 = timeout, 125 = no result line (crash).
# Environment: UDISC_GUEST_CACHE (kernel cache dir), UDISC_GUEST_KERNEL (boot
# this kernel file), UDISC_GUEST_KVM=1 (use /dev/kvm when writable).
# Inside the guest: /proc, /sys, /dev (devtmpfs), /tmp (tmpfs) are mounted;
# modules sr_mod, sg, isofs, udf, virtio_scsi are loaded; target_core_user,
# tcm_loop, loop, iscsi_tcp, crc32c_generic and virtio_net are available to
# modprobe; $UDISC_GUEST=1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

script=""; bins=(); files=(); timeout_s=600; mem=1024; smp=1; log=""; append=""
default_tools=1; qemu_extra=()
while (($#)); do
  case "$1" in
    --script) script="$2"; shift 2 ;;
    --bin) bins+=("$2"); shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --memory) mem="$2"; shift 2 ;;
    --smp) smp="$2"; shift 2 ;;
    --log) log="$2"; shift 2 ;;
    --append) append="$2"; shift 2 ;;
    --no-default-tools) default_tools=0; shift ;;
    --qemu-arg) qemu_extra+=("$2"); shift 2 ;;
    --) shift; qemu_extra+=("$@"); break ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$script" && -f "$script" ]] || { echo "run.sh: --script FILE is required (got '$script')" >&2; exit 2; }

t_start=$(date +%s.%N)
kroot="$("$here/prepare.sh")"
kver="$(cat "$kroot/.kernel-version")"
# The uncompressed vmlinux (PVH entry) boots ~10 s faster under TCG than the
# xz-compressed bzImage; prepare.sh extracts it when python3 is available.
vmlinuz="$kroot/boot/vmlinuz-$kver"
[[ -f "$kroot/boot/vmlinux-$kver" ]] && vmlinuz="$kroot/boot/vmlinux-$kver"
vmlinuz="${UDISC_GUEST_KERNEL:-$vmlinuz}"
busybox="$(command -v busybox || true)"
[[ -n "$busybox" ]] && file -L "$busybox" 2>/dev/null | grep -q "statically linked" || busybox=/bin/busybox
[[ -x "$busybox" ]] || { echo "run.sh: busybox-static is needed" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/udisc-guest.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,data,mnt,lib/modules/"$kver"}

# busybox; init links the applets with `busybox --install -s` (faster than here)
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

# kernel modules and their dependencies
modules=(sr_mod sg isofs udf virtio_pci virtio_scsi target_core_user tcm_loop loop iscsi_tcp crc32c_generic virtio_net)
for m in "${modules[@]}"; do
  modprobe -d "$kroot" -S "$kver" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r ko; do
  rel="${ko#"$kroot"/}"; rel="${rel#./}"
  mkdir -p "$root/$(dirname "$rel")"
  cp "$ko" "$root/$rel"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
  cp "$kroot/lib/modules/$kver/$f" "$root/lib/modules/$kver/" 2>/dev/null || true
done
depmod -b "$root" "$kver"

# host executables and their shared libraries
add_bin() {
  local src="$1" name
  name="$(basename "$src")"
  cp -L "$src" "$root/bin/$name.real" 2>/dev/null || { echo "run.sh: cannot copy $src" >&2; exit 2; }
  # debug info only makes the initramfs bigger and slower to build and boot
  command -v strip >/dev/null && strip --strip-debug "$root/bin/$name.real" 2>/dev/null || true
  mv "$root/bin/$name.real" "$root/bin/$name"
  chmod +x "$root/bin/$name"
  ldd "$src" 2>/dev/null | awk '/=> \//{print $3} /^\s*\/[^ ]+ \(/{print $1}' | while read -r lib; do
    [[ -f "$root$lib" ]] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
if ((default_tools)); then
  for t in cd-info cd-read cdparanoia sg_inq sg_vpd sg_modes sg_get_config sg_raw sg_turs sg_readcap sg_reset dvd+rw-mediainfo; do
    p="$(command -v "$t" || true)"
    [[ -n "$p" ]] && add_bin "$p"
  done
fi
for b in "${bins[@]}"; do
  [[ -x "$b" ]] || { echo "run.sh: --bin $b is not an executable" >&2; exit 2; }
  add_bin "$b"
done
# the dynamic loader's usual path, whatever ldd printed
if [[ -f /lib64/ld-linux-x86-64.so.2 && ! -e "$root/lib64/ld-linux-x86-64.so.2" ]]; then
  mkdir -p "$root/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
fi

for f in "${files[@]}"; do
  src="${f%%:*}"; dest="/data/$(basename "$src")"
  [[ "$f" == *:* ]] && dest="${f#*:}"
  [[ -f "$src" ]] || { echo "run.sh: --file $src not found" >&2; exit 2; }
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$src" "$root$dest"
done
cp "$script" "$root/test.sh"

cat > "$root/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin UDISC_GUEST=1 HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
for m in sr_mod sg isofs udf virtio_pci virtio_scsi; do modprobe "$m" || echo "init: modprobe $m failed"; done
echo "GUEST-START: $(uname -r) uptime $(cut -d' ' -f1 /proc/uptime)"
cd /tmp
sh /test.sh </dev/null
rc=$?
echo "GUEST-RESULT: $rc uptime $(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
INIT
chmod +x "$root/init"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$work/initrd.gz"
t_built=$(date +%s.%N)
echo "run.sh: initramfs $(du -k "$work/initrd.gz" | cut -f1) KiB built in $(echo "$t_built $t_start" | awk '{printf "%.1f", $1-$2}') s" >&2

accel=(-accel tcg)
[[ "${UDISC_GUEST_KVM:-0}" == 1 && -w /dev/kvm ]] && accel=(-accel kvm -cpu host)
out="$work/console.log"
set +e
timeout -k 10 "$timeout_s" qemu-system-x86_64 "${accel[@]}" -m "$mem" -smp "$smp" \
  -nographic -no-reboot -serial mon:stdio -monitor none -nodefaults \
  -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init $append" \
  "${qemu_extra[@]}" </dev/null | stdbuf -oL tr -d '\r' | tee "$out" ${log:+"$log"}
qrc=${PIPESTATUS[0]}
set -e
echo "run.sh: guest ran $(echo "$(date +%s.%N) $t_built" | awk '{printf "%.1f", $1-$2}') s (boot, test, power-off)" >&2
if ((qrc == 124 || qrc == 137)); then
  echo "run.sh: guest timed out after ${timeout_s}s" >&2
  exit 124
fi
rc="$(sed -n 's/^GUEST-RESULT: \([0-9]*\).*/\1/p' "$out" | tail -n1)"
if [[ -z "$rc" ]]; then
  echo "run.sh: no GUEST-RESULT line (guest crashed? qemu exit $qrc)" >&2
  exit 125
fi
exit "$rc"
