/**
 * One process per snapshot file. Two processes on one snapshot would each load it, run their
 * own copy, and overwrite each other's writes at every interval and at close — jobs enqueued in
 * one would vanish. A lock file beside the snapshot (`<snapshot>.lock`) refuses the second
 * opener; a lock whose process is gone (SIGKILL, a crash) is taken over.
 */
import { LlmctlError } from "../util/errors.ts";
import { describeHolder, tryLock, type LockHolder } from "../util/pid-lock.ts";

export class SnapshotInUseError extends LlmctlError {
  constructor(path: string, holder: LockHolder) {
    super(`the embedded store ${path} is in use by another process (${describeHolder(holder)})`, {
      hint: `stop that process (e.g. the other llmctl up), use another file or --data-dir; if no such process runs, delete ${path}.lock`,
    });
  }
}

/** Takes the lock of a snapshot file; returns the release. Throws SnapshotInUseError when a live process holds it. */
export function lockSnapshot(path: string): () => void {
  const attempt = tryLock(`${path}.lock`);
  if (!attempt.held) throw new SnapshotInUseError(path, attempt.holder);
  return attempt.release;
}
