/**
 * The beat lease: one beat at a time is active and dispatches; the others stand by and take the
 * lease over when it expires. Holding the lease is an optimisation (only one beat does the
 * work); exactly-once does not depend on it, because every dispatch is a transaction that
 * checks the schedule's watermark and fencing token (schedule-store.ts).
 */
import type { Redis } from "ioredis";
import acquireScript from "./scripts/acquire-beat-lease.lua" with { type: "text" };
import releaseScript from "./scripts/release-beat-lease.lua" with { type: "text" };
import type { LlmctlKeys } from "./keys.ts";

export interface LeaseHolder {
  token: number;
  /** The beat id holding it. */
  holder: string;
  expiresInMs: number;
}

export interface LeaseStatus extends LeaseHolder {
  /** True when this beat holds the lease. */
  held: boolean;
  /**
   * Until when this process may act as the holder (epoch ms): counted from before the request
   * was sent, so it ends no later than the lease does in Redis.
   */
  validUntil: number;
}

interface LeaseScripts {
  llmctlAcquireBeatLease(lease: string, fencing: string, beatId: string, ttlMs: number): Promise<[number, string, number]>;
  llmctlReleaseBeatLease(lease: string, value: string): Promise<number>;
}

function withLeaseScripts(redis: Redis): Redis & LeaseScripts {
  const scripted = redis as Redis & Partial<LeaseScripts>;
  if (typeof scripted.llmctlAcquireBeatLease !== "function") {
    redis.defineCommand("llmctlAcquireBeatLease", { numberOfKeys: 2, lua: acquireScript });
    redis.defineCommand("llmctlReleaseBeatLease", { numberOfKeys: 1, lua: releaseScript });
  }
  return scripted as Redis & LeaseScripts;
}

export function parseLeaseValue(value: string): { token: number; holder: string } | undefined {
  const space = value.indexOf(" ");
  const token = Number(value.slice(0, space));
  return space > 0 && Number.isInteger(token) ? { token, holder: value.slice(space + 1) } : undefined;
}

export class BeatLease {
  private readonly redis: Redis & LeaseScripts;

  constructor(
    redis: Redis,
    private readonly keys: LlmctlKeys,
    readonly beatId: string,
    readonly ttlMs: number,
  ) {
    this.redis = withLeaseScripts(redis);
  }

  /** Takes the lease if it is free, renews it if this beat holds it; reports who holds it after. */
  async acquireOrRenew(): Promise<LeaseStatus> {
    const sentAt = Date.now();
    const [token, holder, expiresInMs] = await this.redis.llmctlAcquireBeatLease(this.keys.beatLease, this.keys.beatFencing, this.beatId, this.ttlMs);
    const held = holder === this.beatId;
    return { token: Number(token), holder, expiresInMs: Number(expiresInMs), held, validUntil: held ? sentAt + this.ttlMs : 0 };
  }

  /** Deletes the lease if this beat still holds it with `token`. */
  async release(token: number): Promise<boolean> {
    return (await this.redis.llmctlReleaseBeatLease(this.keys.beatLease, `${token} ${this.beatId}`)) === 1;
  }
}

/** Who holds the lease now, for status displays; undefined when nobody does. */
export async function readLease(redis: Redis, keys: LlmctlKeys): Promise<LeaseHolder | undefined> {
  const [value, pttl] = (await redis.multi().get(keys.beatLease).pttl(keys.beatLease).exec()) ?? [];
  const parsed = typeof value?.[1] === "string" ? parseLeaseValue(value[1]) : undefined;
  return parsed ? { ...parsed, expiresInMs: Number(pttl?.[1] ?? 0) } : undefined;
}
