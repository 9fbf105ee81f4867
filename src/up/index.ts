/**
 * Studio, worker and beat in one process on one shared Broker: what `llmctl up` runs and what
 * `llmctl smoke --local` tests. This is the only module that imports the three roles together
 * (a role never imports another); each still starts through its own `start()`, exactly as its
 * own command would start it, only handed the shared broker and task registry.
 */
import { start as startBeat, type BeatHandle } from "../beat/index.ts";
import { openBroker, type Broker } from "../broker/broker.ts";
import type { LoadedConfig } from "../config/load.ts";
import { start as startStudio, type StudioHandle } from "../studio/index.ts";
import { loadTaskRegistry } from "../tasks/load.ts";
import type { Logger } from "../util/logger.ts";
import { start as startWorker, type WorkerHandle } from "../worker/index.ts";

export interface AllInOneOptions {
  /** The config with the Redis target already chosen (see store.ts). */
  loaded: LoadedConfig;
  logger: Logger;
  /** The studio's token: `llmctl up` always has one, so the dashboard can also listen beyond loopback. */
  token: string;
  host?: string;
  port?: number;
  tasksDir?: string;
  /** The worker's slots (default: worker.concurrency). */
  concurrency?: number;
  /** How long running jobs may take to finish at shutdown (default: worker.grace). */
  graceMs?: number;
  /** Overrides beat.lease_ttl. */
  leaseTtlMs?: number;
  /** The studio's heartbeat and schedule poll for its event stream (tests and smoke shorten it). */
  studioPollMs?: number;
}

export interface AllInOneHandle {
  url: string;
  broker: Broker;
  studio: StudioHandle;
  worker: WorkerHandle;
  beat: BeatHandle;
  /** Stops taking requests, stops dispatching, lets running jobs finish (grace), then closes the store (an embedded one writes its snapshot). */
  close(): Promise<void>;
}

export async function startAll(options: AllInOneOptions): Promise<AllInOneHandle> {
  const { loaded, logger } = options;
  // Loaded once: the worker, beat and studio must agree on which tasks exist.
  const registry = await loadTaskRegistry(loaded.config, { tasksDir: options.tasksDir, configPath: loaded.path });
  const broker = await openBroker(loaded, `llmctl:up:${process.pid}`);
  const shared = { loaded, broker, registry };
  const started: Array<{ close(): Promise<void> }> = [];
  const closeStarted = async () => {
    // Newest first: the studio stops taking requests before beat stops dispatching, and both before the worker drains.
    for (const role of started.splice(0).reverse()) await role.close().catch((error: unknown) => logger.error({ err: error }, "error while stopping"));
    await broker.close();
    logger.info({ redis: broker.redis.description }, "stopped; the store is closed");
  };
  try {
    const worker = await startWorker({ ...shared, logger: logger.child({ component: "worker" }), queues: "all", concurrency: options.concurrency, graceMs: options.graceMs });
    started.push(worker);
    const beat = await startBeat({ ...shared, logger: logger.child({ component: "beat" }), leaseTtlMs: options.leaseTtlMs });
    started.push(beat);
    const studio = await startStudio({
      ...shared,
      logger: logger.child({ component: "studio" }),
      token: options.token,
      host: options.host,
      port: options.port,
      workerPollMs: options.studioPollMs,
    });
    started.push(studio);
    let closing: Promise<void> | undefined;
    return {
      url: studio.url,
      broker,
      studio,
      worker,
      beat,
      close: () => (closing ??= closeStarted()),
    };
  } catch (error) {
    await closeStarted();
    throw error;
  }
}
