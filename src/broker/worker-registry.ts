/**
 * Worker heartbeats: each worker writes what it is doing under a key with a TTL of three beats
 * and indexes itself in a sorted set by expiry, so a dead worker disappears within the TTL and
 * readers never list a worker whose key has expired.
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

export class WorkerRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: LlmctlKeys,
  ) {}

  async publish(heartbeat: WorkerHeartbeat, ttlMs: number): Promise<void> {
    const expires = Date.now() + ttlMs;
    await this.redis
      .multi()
      .set(this.keys.worker(heartbeat.id), JSON.stringify(heartbeat), "PX", ttlMs)
      .zadd(this.keys.workers, expires, heartbeat.id)
      .exec();
  }

  async remove(id: string): Promise<void> {
    await this.redis.multi().del(this.keys.worker(id)).zrem(this.keys.workers, id).exec();
  }

  /** Live workers, oldest first. */
  async list(): Promise<WorkerHeartbeat[]> {
    const now = Date.now();
    await this.redis.zremrangebyscore(this.keys.workers, "-inf", now);
    const ids = await this.redis.zrangebyscore(this.keys.workers, now, "+inf");
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map((id) => this.keys.worker(id)));
    return values
      .filter((value): value is string => value !== null)
      .map((value) => JSON.parse(value) as WorkerHeartbeat)
      .sort((a, b) => a.started_at.localeCompare(b.started_at));
  }
}
