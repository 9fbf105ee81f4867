/**
 * The one way roles get Redis connections: a provider opened once per process from the
 * resolved RedisTarget. For a real server it checks reachability first (bounded, explained);
 * every connection it hands out afterwards reconnects on its own.
 */
import type { Redis } from "ioredis";
import { describeRedisTarget, type RedisTarget } from "../config/redis-target.ts";
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
    // Imported lazily: the Lua VM and ioredis-mock are only loaded by processes that use them.
    const { openEmbeddedStore } = await import("../embedded/index.ts");
    const store = await openEmbeddedStore({ snapshotPath: target.path });
    return {
      kind: "embedded",
      description: describeRedisTarget(target),
      connect: (options) => store.connect({ name: options.name }),
      close: () => store.close(),
    };
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
