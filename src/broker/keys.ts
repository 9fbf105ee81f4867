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
    /** Hash per schedule: watermark, last dispatch, paused, the fencing token that last wrote it (schedule-state.ts). */
    schedule: (name: string) => `${base}:schedule:${name}`,
    /** Set of schedule names that have state, so state outlives a schedule removed from the config. */
    schedules: `${base}:schedules`,
    /** String "<token> <beat id>" with a TTL: the active beat's lease (beat-lease.ts). */
    beatLease: `${base}:beat:lease`,
    /** Counter: the last fencing token handed out with the lease. */
    beatFencing: `${base}:beat:fencing`,
    /** Sorted set: beat id → heartbeat expiry (ms). */
    beats: `${base}:beats`,
    /** String (JSON heartbeat) per beat, with a TTL. */
    beat: (id: string) => `${base}:beat:heartbeat:${id}`,
  };
}

export type LlmctlKeys = ReturnType<typeof llmctlKeys>;
