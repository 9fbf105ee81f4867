/**
 * The one way roles get Redis connections: a provider opened once per process from the
 * resolved RedisTarget. For a real server it checks reachability first (bounded, explained);
 * every connection it hands out afterwards reconnects on its own.
 */
import type { Redis } from "ioredis";
import { describeRedisTarget, type RedisTarget } from "../config/redis-target.ts";
import { UsageError } from "../util/errors.ts";
import { connectOrExplain, createRealConnection, type ConnectionOptions } from "./connections.ts";

export interface RedisProvider {
  readonly kind: "redis" | "embedded";
  /** Human-readable address, password redacted. */
  readonly description: string;
  /** A new connection (lazy: it connects on first command). */
  connect(options: ConnectionOptions): Redis;
  /** Closes what the provider owns (the embedded store writes its final snapshot). */
  close(): Promise<void>;
}

export async function openRedisProvider(target: RedisTarget): Promise<RedisProvider> {
  if (target.kind === "embedded") {
    throw new UsageError(
      "the embedded store is not available in this build",
      "set LLMCTL_REDIS_URL to a Redis server (redis://host:6379/0)",
    );
  }
  const probe = await connectOrExplain(target, { purpose: "command", name: "llmctl:probe" });
  probe.disconnect();
  return {
    kind: "redis",
    description: describeRedisTarget(target),
    connect: (options) => createRealConnection(target, options),
    close: async () => {},
  };
}
