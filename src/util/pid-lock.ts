/**
 * Lock files held by a live process: created exclusively, holding "<pid>@<hostname>". A lock
 * whose process is gone (SIGKILL, a crash) is taken over. A lock written on another host (a
 * directory shared over the network) cannot be checked and counts as held.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";

export interface LockHolder {
  pid: number;
  host?: string;
}

export type LockAttempt = { held: true; release: () => void } | { held: false; holder: LockHolder };

/** Paths this process holds: its own pid in a lock file means "held here" only for these (a container's pid 1 is reused after a restart). */
const heldHere = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** "<pid>@<host>", or a bare pid as older lock files hold. */
function parseHolder(text: string): LockHolder {
  const [pid, host] = text.trim().split("@", 2);
  return { pid: Number(pid), host: host || undefined };
}

function isLive(lockPath: string, holder: LockHolder): boolean {
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  if (holder.host !== undefined && holder.host !== hostname()) return true;
  return holder.pid === process.pid ? heldHere.has(lockPath) : isRunning(holder.pid);
}

/** Takes the lock file if no live process holds it; otherwise says who does. */
export function tryLock(lockPath: string): LockAttempt {
  mkdirSync(dirname(lockPath), { recursive: true });
  for (;;) {
    try {
      writeFileSync(lockPath, `${process.pid}@${hostname()}`, { flag: "wx" });
      heldHere.add(lockPath);
      return {
        held: true,
        release: () => {
          heldHere.delete(lockPath);
          rmSync(lockPath, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let holder: LockHolder;
    try {
      holder = parseHolder(readFileSync(lockPath, "utf8"));
    } catch {
      continue; // released between our attempt and the read: try again
    }
    if (isLive(lockPath, holder)) return { held: false, holder };
    // Left by a process that is gone: take it over.
    rmSync(lockPath, { force: true });
  }
}

export function describeHolder(holder: LockHolder): string {
  return holder.host ? `pid ${holder.pid} on ${holder.host}` : `pid ${holder.pid}`;
}
