/**
 * Heartbeats of the long-running roles (workers and beats): each process writes what it is
 * doing under a key with a TTL of three beats and indexes itself in a sorted set by expiry, so
 * a dead process disappears within the TTL and readers never list one whose key has expired.
 */
import type { Redis } from "ioredis";
import type { LlmctlKeys } from "./keys.ts";

export interface RunningJob {
  id: string;
  queue: string;
  task: string;
  started_at: string;
}

export interface WorkerHeartbeat {
  id: string;
  kind: "worker";
  hostname: string;
  role: string | null;
  pid: number;
  queues: string[];
  concurrency: number;
  slots_in_use: number;
  version: string;
  started_at: string;
  beat_at: string;
  processed: number;
  failed: number;
  current_jobs: RunningJob[];
}

export type BeatRole = "active" | "standby" | "disconnected";

export interface BeatHeartbeat {
  id: string;
  kind: "beat";
  hostname: string;
  pid: number;
  version: string;
  started_at: string;
  beat_at: string;
  /** active: holds the lease and dispatches; standby: waits for the lease; disconnected: cannot reach Redis. */
  role: BeatRole;
  /** The fencing token of the lease while active. */
  lease_token: number | null;
  /** Enabled schedules in this beat's config. */
  schedules: number;
  /** Jobs this process has dispatched since it started. */
  dispatched: number;
  last_dispatch_at: string | null;
}

export class HeartbeatRegistry<T extends { id: string; started_at: string }> {
  constructor(
    private readonly redis: Redis,
    private readonly index: string,
    private readonly keyOf: (id: string) => string,
  ) {}

  async publish(heartbeat: T, ttlMs: number): Promise<void> {
    const expires = Date.now() + ttlMs;
    await this.redis
      .multi()
      .set(this.keyOf(heartbeat.id), JSON.stringify(heartbeat), "PX", ttlMs)
      .zadd(this.index, expires, heartbeat.id)
      .exec();
  }

  async remove(id: string): Promise<void> {
    await this.redis.multi().del(this.keyOf(id)).zrem(this.index, id).exec();
  }

  /** Live processes, oldest first. */
  async list(): Promise<T[]> {
    const now = Date.now();
    await this.redis.zremrangebyscore(this.index, "-inf", now);
    const ids = await this.redis.zrangebyscore(this.index, now, "+inf");
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map((id) => this.keyOf(id)));
    return values
      .filter((value): value is string => value !== null)
      .map((value) => JSON.parse(value) as T)
      .sort((a, b) => a.started_at.localeCompare(b.started_at));
  }
}

export class WorkerRegistry extends HeartbeatRegistry<WorkerHeartbeat> {
  constructor(redis: Redis, keys: LlmctlKeys) {
    super(redis, keys.workers, keys.worker);
  }
}

export class BeatRegistry extends HeartbeatRegistry<BeatHeartbeat> {
  constructor(redis: Redis, keys: LlmctlKeys) {
    super(redis, keys.beats, keys.beat);
  }
}
