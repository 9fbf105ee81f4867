/** Why a running job's signal fired. The executor turns each into the job's outcome. */

/** Revoked by a user: fails the job at once, without retries. */
export class RevokedError extends Error {
  override name = "RevokedError";
  constructor() {
    super("revoked");
  }
}

/** Ran longer than the task's timeout: fails this attempt (retried if attempts remain). */
export class TaskTimeoutError extends Error {
  override name = "TaskTimeoutError";
}

/** The worker shut down before the job finished: the job goes back to its queue, not counted as failed. */
export class ShutdownInterrupted extends Error {
  override name = "ShutdownInterrupted";
  constructor() {
    super("worker shut down before the job finished; returned to its queue");
  }
}
