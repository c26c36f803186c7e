#!/bin/busybox sh
# PID 1 of the VFIO test guest (see scripts/vfio-qemu-test.sh). Loads the VFIO modules,
# binds QEMU's edu device (1234:11e8) to vfio-pci, runs the static check binary and
# powers off. The host reads the verdict from the console.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

for m in $(cat /modules/order); do
    insmod "/modules/$m.ko" || echo "VFIO-QEMU: insmod $m failed"
done

dev=""
msix=""
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
        dev=$(basename "$d")
    fi
    # QEMU's e1000e (8086:10d3): a device with MSI-X, for the MSI-X routing check.
    if [ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x10d3 ]; then
        msix=$(basename "$d")
    fi
done
if [ -z "$dev" ]; then
    echo "VFIO-EDU-CHECK: FAIL: no edu device in the guest"
else
    echo "VFIO-QEMU: edu at $dev, IOMMU group $(basename "$(readlink "/sys/bus/pci/devices/$dev/iommu_group")")"
    echo 1234 11e8 > /sys/bus/pci/drivers/vfio-pci/new_id
    echo "VFIO-QEMU: /dev/vfio: $(ls /dev/vfio | tr '\n' ' ')"
    if [ -n "$msix" ]; then
        echo 8086 10d3 > /sys/bus/pci/drivers/vfio-pci/new_id
        echo "VFIO-QEMU: e1000e (MSI-X) at $msix"
    fi
    /vfio_edu "$dev" $msix
    echo "VFIO-QEMU: check exited with $?"
fi
sync
poweroff -f
