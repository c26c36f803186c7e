#!/usr/bin/env bash
# Runs the driver's VFIO backend for real: boots a small Linux guest in QEMU (q35, TCG,
# emulated Intel IOMMU, QEMU's `edu` PCI device), binds edu to vfio-pci and runs a
# static build of driver/examples/vfio_edu.rs, which opens container, group and
# device, maps BAR0, reads edu's identity register through RegIo and does a DMA round
# trip through the IOMMU; then routes edu's interrupt (MSI: edu has no MSI-X) to an
# eventfd with VFIO_DEVICE_SET_IRQS and takes from it an interrupt raised through
# edu's raise register and the two completions of a second, interrupt-driven DMA round
# trip, checking the bytes, edu's interrupt status and acknowledging each; no
# interrupt may arrive before the first raise or after the vectors are disabled. The
# guest also has an e1000e (which has MSI-X; no driver of its own is loaded): its
# MSI-X vectors are routed to eventfds; VFIO's loopback trigger, then the device
# itself (a queue cause per vector, set through its ICS register), must reach each
# vector's own eventfd and no other.
# Exits 0 only if the guest console shows the PASS line.
#
# Installs what it needs: qemu-system-x86, busybox-static and cpio (Debian packages,
# when missing and running as root) and the Debian linux-image-6.1 kernel package,
# downloaded into target/vfio-qemu/ and unpacked there with dpkg-deb (not installed).
#
# Environment: VFIO_QEMU_TIMEOUT (seconds, default 300); VFIO_QEMU_EDU=0 boots the
# guest without the edu device (the check must then fail: used to test this script).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work="$here/target/vfio-qemu"
mkdir -p "$work"
log() { printf '[vfio-qemu] %s\n' "$*" >&2; }
die() { printf '[vfio-qemu] FAIL: %s\n' "$*" >&2; exit 1; }

# 1. Host tools.
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v dpkg-deb >/dev/null || die "dpkg-deb missing (this script expects Debian)"
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing ${need[*]} and not root to install them"
    log "installing ${need[*]}"
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found"
file /bin/busybox 2>/dev/null | grep -q dynamic && die "/bin/busybox is not static (install busybox-static)"

# 2. Kernel: Debian's 6.1 image package, unpacked (it has vfio, vfio-pci as modules).
kdir="$work/kernel"
if ! ls "$kdir"/root/boot/vmlinuz-* >/dev/null 2>&1; then
    mkdir -p "$kdir"
    find_pkg() {
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6\.1/{print $2; exit}')
        [ -n "$pkg" ] || pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' | sort -V | tail -1 | cut -d' ' -f1)
    }
    find_pkg
    if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq >&2 && find_pkg
    fi
    [ -n "$pkg" ] || die "no linux-image-6.1 package known to apt (run apt-get update)"
    log "downloading $pkg"
    (cd "$kdir" && apt-get download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
    deb=$(ls "$kdir"/*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$kdir/root"
fi
vmlinuz=$(ls "$kdir"/root/boot/vmlinuz-* | head -1)
moddir=$(ls -d "$kdir"/root/lib/modules/* | head -1)

# 3. The static check binary (own target dir: the calling `cargo test` holds the lock
#    on the normal one).
log "building static vfio_edu"
build_start=$(date +%s)
env -u CARGO_TARGET_DIR -u RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS \
    CARGO_TARGET_DIR="$work/cargo" \
    CARGO_ENCODED_RUSTFLAGS="-Ctarget-feature=+crt-static" \
    cargo build --quiet --manifest-path "$here/Cargo.toml" -p driver --example vfio_edu \
    --target x86_64-unknown-linux-gnu >&2
bin="$work/cargo/x86_64-unknown-linux-gnu/debug/examples/vfio_edu"
[ -x "$bin" ] || die "static binary not built"
file "$bin" | grep -q -E 'statically linked|static-pie linked' || die "$bin is not statically linked"
log "built in $(( $(date +%s) - build_start )) s"

# 4. Initramfs: busybox, the modules in dependency order, init, the binary.
rd="$work/initramfs.$$"
trap 'rm -rf "$rd" "$work/initramfs.$$.cpio.gz"' EXIT
rm -rf "$rd" && mkdir -p "$rd/bin" "$rd/modules"
cp /bin/busybox "$rd/bin/busybox"
cp "$here/driver/qemu/init.sh" "$rd/init" && chmod +x "$rd/init"
cp "$bin" "$rd/vfio_edu"
: > "$rd/modules/order"
for m in irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci; do
    f=$(find "$moddir/kernel" -name "$m.ko" | head -1)
    [ -n "$f" ] || die "module $m.ko not in $(basename "$moddir")"
    cp "$f" "$rd/modules/"
    echo "$m" >> "$rd/modules/order"
done
(cd "$rd" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.$$.cpio.gz"

# 5. Boot. The console (ttyS0) goes to a log file that decides the result.
edu=(-device edu)
[ "${VFIO_QEMU_EDU:-1}" = 0 ] && edu=()
console="$work/console${VFIO_QEMU_EDU:+-edu$VFIO_QEMU_EDU}.log"
rm -f "$console"
timeout_s=${VFIO_QEMU_TIMEOUT:-300}
log "booting guest (timeout ${timeout_s}s)"
boot_start=$(date +%s)
set +e
timeout "$timeout_s" qemu-system-x86_64 \
    -machine q35 -accel tcg -cpu max -m 512M -smp 1 \
    -device intel-iommu \
    "${edu[@]}" -nic none -device e1000e \
    -kernel "$vmlinuz" -initrd "$work/initramfs.$$.cpio.gz" \
    -append "console=ttyS0 intel_iommu=on panic=-1 loglevel=4 rdinit=/init" \
    -display none -serial "file:$console" -monitor none -no-reboot </dev/null >&2
qrc=$?
set -e
log "guest ran $(( $(date +%s) - boot_start )) s (qemu exit $qrc)"
grep -a -E '^(VFIO-|\[.*(DMAR|vfio|VFIO))' "$console" >&2 || true
if grep -a -q '^VFIO-EDU-CHECK: PASS' "$console"; then
    log "PASS (console: $console)"
    exit 0
fi
[ "$qrc" -eq 124 ] && die "guest timed out after ${timeout_s}s (console: $console)"
die "no PASS line on the guest console (console: $console)"
