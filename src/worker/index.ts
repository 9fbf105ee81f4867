/**
 * The worker role: consumes its queues with N slots per process across all of them, publishes
 * heartbeats, honours revocations, serves probes, and shuts down gracefully.
 */
import { hostname as osHostname } from "node:os";
import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import type { LoadedConfig } from "../config/load.ts";
import { openBroker, type Broker } from "../broker/broker.ts";
import { jobFlow, wakeFlowParent } from "../broker/job-flow.ts";
import { RevocationWatcher, Revocations } from "../broker/revocations.ts";
import { WorkerRegistry, type WorkerHeartbeat } from "../broker/worker-registry.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { loadTaskRegistry } from "../tasks/load.ts";
import { formatDuration, parseDurationMs } from "../util/duration.ts";
import { RuntimeError, errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import { startProbeServer, type ProbeServer } from "../util/probes.ts";
import { withTimeout } from "../util/timeout.ts";
import { VERSION } from "../version.ts";
import { ChildJobs } from "./child-jobs.ts";
import { Dispatcher } from "./dispatcher.ts";
import { QueueConsumer } from "./queue-consumer.ts";
import { JobExecutor } from "./executor.ts";
import { LockRenewalThread } from "./lock-renewal.ts";
import { WorkerMetrics } from "./metrics.ts";
import { selectWorkerQueues } from "./queues.ts";

/** How often a worker looks for new revocations (a version counter, one GET). */
export const REVOCATION_POLL_MS = 250;
/** BullMQ fails a job that stalled more often than this; each stall means a worker died holding it. */
export const MAX_STALLED_COUNT = 2;
const RENEWAL_CONNECT_MS = 10_000;

/**
 * How long start() waits for the renewal thread. Jobs taken meanwhile are not renewed, so with
 * a short lock_duration the wait ends while their locks still hold (three quarters of it): they
 * go back to their queue from here rather than as stalled jobs another worker may already run.
 */
function renewalConnectTimeoutMs(lockDurationMs: number): number {
  return Math.min(RENEWAL_CONNECT_MS, Math.floor(lockDurationMs * 0.75));
}

export interface WorkerStartOptions {
  loaded: LoadedConfig;
  logger: Logger;
  /** "all", a comma-separated list, or undefined (all, or only the role's queues with role). */
  queues?: string;
  concurrency?: number;
  role?: string;
  hostname?: string;
  healthPort?: number;
  graceMs?: number;
  tasksDir?: string;
  /** Shared by `llmctl up`; otherwise the worker opens and closes its own. */
  broker?: Broker;
  registry?: TaskRegistry;
}

export interface WorkerHandle {
  id: string;
  queues: string[];
  concurrency: number;
  healthPort?: number;
  /** Jobs running now. */
  running(): number;
  /** Stops taking jobs, lets running ones finish within the grace period, then returns the rest to their queues. */
  close(): Promise<void>;
}

function renewalReady(renewal: LockRenewalThread, timeoutMs: number): Promise<void> {
  return withTimeout(renewal.ready, timeoutMs, () => new RuntimeError(`the lock renewal thread did not connect to Redis within ${formatDuration(timeoutMs)}`, `check that this host reaches Redis; the wait is ${formatDuration(RENEWAL_CONNECT_MS)}, or three quarters of worker.lock_duration when that is shorter`));
}

export async function start(options: WorkerStartOptions): Promise<WorkerHandle> {
  const { config } = options.loaded;
  const hostname = options.hostname ?? osHostname();
  const queues = selectWorkerQueues(config, { queues: options.queues, role: options.role, hostname });
  const concurrency = options.concurrency ?? config.worker.concurrency;
  const graceMs = options.graceMs ?? parseDurationMs(config.worker.grace)!;
  const heartbeatMs = parseDurationMs(config.worker.heartbeat)!;
  const lockDurationMs = parseDurationMs(config.worker.lock_duration)!;
  const stalledIntervalMs = parseDurationMs(config.worker.stalled_interval)!;
  const registry = options.registry ?? (await loadTaskRegistry(config, { tasksDir: options.tasksDir, configPath: options.loaded.path }));
  const ownsBroker = !options.broker;
  const broker = options.broker ?? (await openBroker(options.loaded, `llmctl:worker:${hostname}:${process.pid}`));
  const id = `${hostname}:${process.pid}:${Bun.randomUUIDv7().slice(-8)}`;
  const logger = options.logger.child({ worker: id });
  const metrics = new WorkerMetrics();
  metrics.slots.set(concurrency);
  const startedAt = new Date().toISOString();
  let processed = 0;
  let failed = 0;

  const revocations = new Revocations(broker.connection, broker.keys);
  let executor: JobExecutor;
  let dispatcher: Dispatcher | undefined; // created once the consumers exist; children only run after that
  const watcher = new RevocationWatcher(
    revocations,
    (queue, jobId) => {
      if (executor?.revoke(queue, jobId)) logger.info({ job: jobId, queue }, "revoked: aborting the running job");
    },
    (error) => logger.warn({ err: errorMessage(error) }, "could not read revocations"),
  );
  executor = new JobExecutor({
    registry,
    config,
    logger,
    worker: { hostname, role: options.role, pid: process.pid, version: VERSION },
    isRevoked: (queue, jobId) => watcher.has(queue, jobId),
    children: new ChildJobs(broker, registry, () => dispatcher!.gate.lend()),
    onFinished: (job: Job, outcome, seconds) => {
      if (outcome === "completed") processed++;
      else failed++;
      metrics.jobs.record(job.queueName, job.name, outcome, seconds);
    },
    flowFor: (job, token) => jobFlow(broker, registry, job, token),
  });

  const connectionName = `llmctl:worker:${id}`;
  // The thread boots and connects while the rest is set up.
  let renewal: LockRenewalThread | undefined;
  if (options.loaded.redis.kind === "redis") {
    renewal = new LockRenewalThread(options.loaded.redis, config.prefix, lockDurationMs, concurrency, `${connectionName}:renewal`);
    renewal.listen({
      lost: (queue, jobId) => logger.error({ job: jobId, queue }, "lost the lock of a running job; another worker may run it"),
      error: (message) => logger.warn({ err: message }, "lock renewal failed"),
    });
  }
  const consumerConnections: Redis[] = [];
  const consumers = queues.map((queue) => {
    const connection = broker.redis.connect({ purpose: "blocking", name: connectionName });
    consumerConnections.push(connection);
    const consumer = new QueueConsumer(
      queue,
      executor.process,
      {
        connection,
        prefix: config.prefix,
        name: id,
        lockDuration: lockDurationMs,
        stalledInterval: stalledIntervalMs,
        maxStalledCount: MAX_STALLED_COUNT,
      },
      renewal,
    );
    consumer.on("error", (error) => logger.warn({ queue, err: errorMessage(error) }, "worker error"));
    const wakeParent = (job: Job) => {
      if (!job.parent) return; // most jobs are in no flow: no promise for them
      void wakeFlowParent(broker, job).catch((error: unknown) => logger.warn({ job: job.id, queue, err: errorMessage(error) }, "could not wake the workflow waiting for this job"));
    };
    consumer.on("completed", wakeParent);
    consumer.on("failed", (job, error) => {
      if (!job) return;
      logger.info({ job: job.id, task: job.name, queue, attempt: job.attemptsMade, err: error.message }, "job failed");
      if (job.finishedOn) wakeParent(job); // its last attempt: no retry will follow
    });
    consumer.on("stalled", (jobId) => logger.warn({ job: jobId, queue }, "job stalled (its worker died); it runs again"));
    return consumer;
  });
  /** Consumers do not close connections they were handed. */
  const closeConsumers = async () => {
    await Promise.allSettled(consumers.map((consumer) => consumer.close()));
    for (const connection of consumerConnections) connection.disconnect();
  };
  const abandon = async () => {
    watcher.stop();
    await closeConsumers();
    await renewal?.close();
    if (ownsBroker) await broker.close();
  };
  try {
    // Revocations must be known before the first job is taken (one recorded while no worker ran counts).
    await Promise.all([watcher.start(REVOCATION_POLL_MS), ...consumers.map((consumer) => consumer.startBackgroundChecks())]);
  } catch (error) {
    await abandon();
    throw error;
  }
  dispatcher = new Dispatcher(consumers, concurrency, broker.redis.connect({ purpose: "blocking", name: connectionName }), logger);
  dispatcher.start();
  if (renewal) {
    // Jobs may be taken while the thread still connects: their locks last lock_duration and the
    // thread first reads the lock table a quarter of that after it starts. If it never connects,
    // the jobs taken meanwhile go back to their queue and the worker does not start.
    try {
      await renewalReady(renewal, renewalConnectTimeoutMs(lockDurationMs));
    } catch (error) {
      await dispatcher.stop(0, () => executor.interruptAll());
      await abandon();
      throw error;
    }
  }

  const workerRegistry = new WorkerRegistry(broker.connection, broker.keys);
  const heartbeat = (): WorkerHeartbeat => ({
    id,
    kind: "worker",
    hostname,
    role: options.role ?? null,
    pid: process.pid,
    queues,
    concurrency,
    slots_in_use: executor.count,
    version: VERSION,
    started_at: startedAt,
    beat_at: new Date().toISOString(),
    processed,
    failed,
    current_jobs: executor.runningJobs(),
  });
  const beat = () =>
    workerRegistry.publish(heartbeat(), heartbeatMs * 3).catch((error: unknown) => logger.warn({ err: errorMessage(error) }, "heartbeat failed"));
  await beat();
  const heartbeatTimer = setInterval(beat, heartbeatMs);

  let closing = false;
  let probes: ProbeServer | undefined;
  if (options.healthPort !== undefined) {
    probes = startProbeServer({
      port: options.healthPort,
      readiness: () => {
        const connected = broker.isConnected();
        return { ready: connected && !closing, detail: { redis: connected ? "connected" : "disconnected", consuming: !closing, queues } };
      },
      metrics: () => {
        metrics.slotsInUse.set(executor.count);
        metrics.redisUp.set(broker.isConnected() ? 1 : 0);
        return metrics.exposition();
      },
    });
  }
  logger.info({ queues, concurrency, hostname, role: options.role ?? null, redis: broker.redis.description, health_port: probes?.port ?? null }, "worker started");

  return {
    id,
    queues,
    concurrency,
    healthPort: probes?.port,
    running: () => executor.count,
    async close() {
      if (closing) return;
      closing = true;
      const inTime = await dispatcher!.stop(graceMs, () => {
        const returned = executor.interruptAll();
        logger.warn({ jobs: returned }, "grace period over: returning running jobs to their queues");
      });
      if (inTime) logger.info("running jobs finished");
      await closeConsumers();
      clearInterval(heartbeatTimer);
      watcher.stop();
      await workerRegistry.remove(id).catch(() => {});
      await probes?.stop();
      await renewal?.close();
      if (ownsBroker) await broker.close();
      logger.info({ processed, failed }, "worker stopped");
    },
  };
}
