/**
 * Revocations are records in Redis, not messages: a worker that was offline, or that picks the
 * job up after stalled-job recovery, still sees them. Workers poll a version counter (one GET)
 * and reload the set only when it moves, so a running job learns of its revocation within a
 * poll interval without a Redis round trip per job.
 */
import type { Redis } from "ioredis";
import type { LlmctlKeys } from "./keys.ts";

/** Records older than this are dropped; by then the job has long finished or been removed. */
export const REVOCATION_RETENTION_MS = 7 * 24 * 3600 * 1000;

export interface Revocation {
  queue: string;
  jobId: string;
  at: string;
  reason: string;
}

export function revocationKey(queue: string, jobId: string): string {
  return `${queue}/${jobId}`;
}

export class Revocations {
  constructor(
    private readonly redis: Redis,
    private readonly keys: LlmctlKeys,
  ) {}

  async record(queue: string, jobId: string, reason = "revoked"): Promise<void> {
    const key = revocationKey(queue, jobId);
    const now = Date.now();
    const record: Revocation = { queue, jobId, at: new Date(now).toISOString(), reason };
    const expired = await this.redis.zrangebyscore(this.keys.revokedIndex, "-inf", now - REVOCATION_RETENTION_MS);
    const multi = this.redis.multi().hset(this.keys.revoked, key, JSON.stringify(record)).zadd(this.keys.revokedIndex, now, key);
    if (expired.length > 0) multi.hdel(this.keys.revoked, ...expired).zrem(this.keys.revokedIndex, ...expired);
    await multi.incr(this.keys.revokedVersion).exec();
  }

  async isRevoked(queue: string, jobId: string): Promise<boolean> {
    return (await this.redis.hexists(this.keys.revoked, revocationKey(queue, jobId))) === 1;
  }

  async version(): Promise<string | null> {
    return await this.redis.get(this.keys.revokedVersion);
  }

  async revokedKeys(): Promise<Set<string>> {
    return new Set(await this.redis.hkeys(this.keys.revoked));
  }
}

/** Keeps a local copy of the revoked set and reports newly revoked jobs. */
export class RevocationWatcher {
  private known = new Set<string>();
  private lastVersion: string | null | undefined;
  private timer?: ReturnType<typeof setInterval>;
  private polling = false;

  constructor(
    private readonly revocations: Revocations,
    private readonly onRevoked: (queue: string, jobId: string) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  has(queue: string, jobId: string): boolean {
    return this.known.has(revocationKey(queue, jobId));
  }

  async start(pollMs: number): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), pollMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const version = await this.revocations.version();
      if (version === this.lastVersion) return;
      this.lastVersion = version;
      const current = await this.revocations.revokedKeys();
      for (const key of current) {
        if (this.known.has(key)) continue;
        const slash = key.indexOf("/"); // queue names cannot contain "/", job ids might
        this.onRevoked(key.slice(0, slash), key.slice(slash + 1));
      }
      this.known = current;
    } catch (error) {
      this.onError(error);
    } finally {
      this.polling = false;
    }
  }
}
