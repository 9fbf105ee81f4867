/**
 * A process's handle on Redis and the queues: the provider, one shared command connection,
 * and BullMQ Queue objects on it, created on first use. Roles open one and close it at exit.
 */
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { LoadedConfig } from "../config/load.ts";
import type { ConfigFile } from "../config/schema.ts";
import { knownQueues } from "../config/targets.ts";
import { topologyOf } from "../config/report.ts";
import { JobInserter } from "./job-inserter.ts";
import { llmctlKeys, type LlmctlKeys } from "./keys.ts";
import { openRedisProvider, type RedisProvider } from "./redis.ts";
import { UsageError } from "../util/errors.ts";

export class Broker {
  readonly keys: LlmctlKeys;
  private readonly queues = new Map<string, Queue>();
  private flows?: JobInserter;
  private closed = false;

  constructor(
    readonly config: ConfigFile,
    readonly redis: RedisProvider,
    /** Shared by every Queue and read of this process. */
    readonly connection: Redis,
  ) {
    this.keys = llmctlKeys(config.prefix);
  }

  get prefix(): string {
    return this.config.prefix;
  }

  queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      queue.on("error", () => {
        // Connection errors surface through the shared connection's own handler and /readyz.
      });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** A FlowProducer that can also queue its inserts into a caller's MULTI (job-inserter.ts). */
  flowProducer(): JobInserter {
    this.flows ??= new JobInserter(this.connection, this.prefix);
    return this.flows;
  }

  /** Every queue the config declares: contract queues, role queues and host queues. */
  declaredQueues(): string[] {
    return [...knownQueues(topologyOf(this.config))];
  }

  isConnected(): boolean {
    return this.connection.status === "ready";
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    await this.flows?.close().catch(() => {});
    this.connection.disconnect();
    await this.redis.close();
  }
}

export async function openBroker(loaded: LoadedConfig, name: string): Promise<Broker> {
  const redis = await openRedisProvider(loaded.redis);
  const connection = redis.connect({ purpose: "command", name });
  connection.on("error", () => {
    // ioredis reconnects with backoff; readiness probes report the outage.
  });
  await connection.connect().catch(() => {});
  return new Broker(loaded.config, redis, connection);
}

/**
 * For one-shot client commands (task, job, schedule): the embedded store lives inside the
 * process that runs it (`llmctl up`), so a second process opening it would work on a copy.
 */
export async function withBroker<T>(loaded: LoadedConfig, name: string, use: (broker: Broker) => Promise<T>): Promise<T> {
  if (loaded.redis.kind === "embedded") {
    throw new UsageError(
      "this command needs a shared Redis; the embedded store lives inside the `llmctl up` process that runs it",
      "use the dashboard or API of `llmctl up`, or set LLMCTL_REDIS_URL to a Redis server",
    );
  }
  const broker = await openBroker(loaded, name);
  try {
    return await use(broker);
  } finally {
    await broker.close();
  }
}
