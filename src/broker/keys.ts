/**
 * Keys llmctl keeps beside BullMQ's. They live under `<prefix>:@llmctl:`; '@' cannot occur in a
 * queue name, so they never collide with BullMQ's `<prefix>:<queue>:…` keys.
 */
export function llmctlKeys(prefix: string) {
  const base = `${prefix}:@llmctl`;
  return {
    /** Sorted set: worker id → heartbeat expiry (ms). */
    workers: `${base}:workers`,
    /** String (JSON heartbeat) per worker, with a TTL. */
    worker: (id: string) => `${base}:worker:${id}`,
    /** Hash: "<queue>/<jobId>" → JSON revocation record. */
    revoked: `${base}:revoked`,
    /** Sorted set: "<queue>/<jobId>" → revocation time, to expire old records. */
    revokedIndex: `${base}:revoked:index`,
    /** Counter bumped on every revocation; workers poll it (cheap) and reload the hash when it moves. */
    revokedVersion: `${base}:revoked:version`,
    /** Schedule state and beat leadership (beat). */
    schedule: (name: string) => `${base}:schedule:${name}`,
    schedules: `${base}:schedules`,
    beatLease: `${base}:beat:lease`,
    beatFencing: `${base}:beat:fencing`,
    fire: (schedule: string, target: string, fireTime: number) => `${base}:fire:${schedule}:${target}:${fireTime}`,
  };
}

export type LlmctlKeys = ReturnType<typeof llmctlKeys>;
