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

# Replaces the calling shell, so call it in a subshell: ( run_in_image … ). In the background,
# $! is then the pid of llmctl itself (env, unshare, bash and chroot all exec).
run_in_image() {
  # A private mount namespace: the mounts disappear with it, nothing leaks to the host. The
  # environment is what a container gets: PATH, HOME of the nonroot user, nothing of ours.
  exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/nonroot \
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
(run_in_image /llmctl --version)
echo "==> a write outside /tmp fails"
if (run_in_image /llmctl config init /written-by-llmctl.yaml) >/dev/null 2>&1; then
  echo "verify-image: the root filesystem was writable" >&2
  exit 1
fi
echo "    refused, as it should be"
if command -v redis-server >/dev/null 2>&1; then
  # A worker against a real Redis also starts the lock-renewal thread (a second entry point
  # of the binary) and its connections: the paths smoke --local on the embedded store skips.
  echo "==> llmctl worker against a private redis-server (uid 65532, read-only root)"
  redis_dir="$(mktemp -d /tmp/llmctl-verify-redis.XXXXXX)"
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 20000))
    if redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$redis_dir" \
      --daemonize yes --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" >/dev/null 2>&1 &&
      sleep 0.3 && redis-cli -p "$port" ping >/dev/null 2>&1; then break; fi
    port=""
  done
  [ -n "$port" ] || { echo "verify-image: could not start redis-server" >&2; exit 1; }
  trap 'kill "$(cat "$redis_dir/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$rootfs" "$redis_dir"' EXIT
  worker_log="$redis_dir/worker.log"
  (run_in_image /llmctl worker --redis-url "redis://127.0.0.1:$port/0" --queues all --concurrency 1 --grace 1s) >"$worker_log" 2>&1 &
  worker_pid=$!
  for _ in $(seq 1 100); do grep -q '"worker started"\|worker started' "$worker_log" && break; sleep 0.1; done
  if ! grep -q 'worker started' "$worker_log"; then
    cat "$worker_log" >&2
    echo "verify-image: the worker did not start" >&2
    exit 1
  fi
  kill -TERM "$worker_pid"
  if ! wait "$worker_pid"; then
    cat "$worker_log" >&2
    echo "verify-image: the worker did not stop cleanly on SIGTERM" >&2
    exit 1
  fi
  echo "    started, consumed, stopped on SIGTERM with exit 0"
fi
echo "==> llmctl smoke --local (uid 65532, read-only root)"
(run_in_image /llmctl smoke --local)
echo "==> ok: the distroless root filesystem runs llmctl"
