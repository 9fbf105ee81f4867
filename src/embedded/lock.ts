/**
 * One process per snapshot file. Two processes on one snapshot would each load it, run their
 * own copy, and overwrite each other's writes at every interval and at close — jobs enqueued in
 * one would vanish. A lock file beside the snapshot (`<snapshot>.lock`, created exclusively,
 * holding the pid) refuses the second opener; a lock whose process is gone (SIGKILL, a crash)
 * is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { LlmctlError } from "../util/errors.ts";

export class SnapshotInUseError extends LlmctlError {
  constructor(path: string, pid: number) {
    super(`the embedded store ${path} is in use by another process (pid ${pid})`, {
      hint: `stop that process (e.g. the other llmctl up), use another file or --data-dir; if no such process runs, delete ${path}.lock`,
    });
  }
}

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

/** Takes the lock of a snapshot file; returns the release. Throws SnapshotInUseError when a live process holds it. */
export function lockSnapshot(path: string): () => void {
  const lockPath = `${path}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (;;) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: "wx" });
      heldHere.add(path);
      return () => {
        heldHere.delete(path);
        rmSync(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(lockPath, "utf8").trim());
    } catch {
      continue; // released between our attempt and the read: try again
    }
    const live = Number.isInteger(holder) && holder > 0 && (holder === process.pid ? heldHere.has(path) : isRunning(holder));
    if (live) throw new SnapshotInUseError(path, holder);
    // Left by a process that is gone: take it over.
    rmSync(lockPath, { force: true });
  }
}
