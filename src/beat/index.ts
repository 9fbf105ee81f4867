/**
 * The beat role: turns the schedules of the config into jobs, exactly once per schedule, target
 * and fire time, however many beats run. One beat holds the lease and dispatches; the others
 * stand by (leadership.ts). Every dispatch is a transaction on the schedule's state in Redis
 * (broker/schedule-store.ts), which is what makes it exactly once, also across restarts and in
 * a split brain. Beat also publishes heartbeats, serves probes and reloads its config on
 * SIGHUP (wired by the command) or when the file changes.
 */
import { hostname as osHostname } from "node:os";
import { BeatLease } from "../broker/beat-lease.ts";
import { openBroker, type Broker } from "../broker/broker.ts";
import { reconnectDelay } from "../broker/connections.ts";
import { JobInserter } from "../broker/job-inserter.ts";
import { planSchedules, type SchedulePlan } from "../broker/schedule-plan.ts";
import { ScheduleStore } from "../broker/schedule-store.ts";
import { BeatRegistry, type BeatHeartbeat, type BeatRole } from "../broker/worker-registry.ts";
import type { LoadedConfig } from "../config/load.ts";
import { loadTaskRegistry } from "../tasks/load.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { parseDurationMs } from "../util/duration.ts";
import { errorMessage, RuntimeError } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import { startProbeServer, type ProbeServer } from "../util/probes.ts";
import { withTimeout } from "../util/timeout.ts";
import { VERSION } from "../version.ts";
import { watchConfigFile, type ConfigWatch } from "./config-watch.ts";
import { Leadership } from "./leadership.ts";
import { BeatMetrics } from "./metrics.ts";
import { Scheduler } from "./scheduler.ts";

/** Readiness fails when Redis has not answered the lease loop for this long. */
const REDIS_SILENCE_NOT_READY_MS = 5_000;
/** Schedules due at the same moment are dispatched this many at a time, each on its own connection. */
const DISPATCH_LANES = 4;
/** Reads on the shared connection retry across reconnects; beat gives up on them sooner, so no loop hangs in an outage. */
const REDIS_REQUEST_TIMEOUT_MS = 2_000;

export interface BeatStartOptions {
  loaded: LoadedConfig;
  logger: Logger;
  healthPort?: number;
  tasksDir?: string;
  hostname?: string;
  /** Shared by `llmctl up`; otherwise beat opens and closes its own. */
  broker?: Broker;
  registry?: TaskRegistry;
  /** Reads the config again (same file and flags) for a reload; without it, reload is off. */
  reloadConfig?: () => LoadedConfig;
  /** Reload when the config file changes (default: whenever reloadConfig is given and the config is a file). */
  watchConfig?: boolean;
  /** Overrides beat.lease_ttl. */
  leaseTtlMs?: number;
}

export interface BeatHandle {
  id: string;
  healthPort?: number;
  role(): BeatRole;
  /** Reads and checks the config again; false, with the running config kept, when it is invalid. */
  reload(): Promise<boolean>;
  /** Stops dispatching, releases the lease (a standby takes over at once) and closes. */
  close(): Promise<void>;
}

async function connect(options: BeatStartOptions, name: string, logger: Logger, closing: () => boolean): Promise<Broker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openBroker(options.loaded, name);
    } catch (error) {
      // Unreachable at start is the same outage as unreachable later: wait for Redis, do not exit.
      if (!(error instanceof RuntimeError) || closing()) throw error;
      const retryMs = reconnectDelay(attempt);
      logger.warn({ err: error.message, hint: error.hint, retry_in_ms: retryMs }, "cannot reach Redis; retrying");
      await Bun.sleep(retryMs);
    }
  }
}

export async function start(options: BeatStartOptions): Promise<BeatHandle> {
  let loaded = options.loaded;
  const hostname = options.hostname ?? osHostname();
  const id = `${hostname}:${process.pid}:${Bun.randomUUIDv7().slice(-8)}`;
  const logger = options.logger.child({ beat: id });
  const loadRegistry = (config: LoadedConfig) => options.registry ?? loadTaskRegistry(config.config, { tasksDir: options.tasksDir, configPath: config.path });
  let registry = await loadRegistry(loaded);
  // Every schedule is checked before anything connects: a bad one stops beat with exit 2.
  let plans: Map<string, SchedulePlan> = planSchedules(loaded, registry);
  const metrics = new BeatMetrics();
  let closing = false;
  let leadership: Leadership | undefined;

  let probes: ProbeServer | undefined;
  if (options.healthPort !== undefined) {
    probes = startProbeServer({
      port: options.healthPort,
      readiness: () => {
        // A standby is ready: it is doing its job, which is to wait. Readiness gates rollouts, and a
        // standby that never became ready would stall every rolling update of a beat Deployment.
        const redisAnswering = leadership !== undefined && Date.now() - leadership.lastContactAt < REDIS_SILENCE_NOT_READY_MS;
        return {
          ready: redisAnswering && !closing,
          detail: { role: leadership?.role ?? "starting", lease_holder: leadership?.holder ?? null, redis: redisAnswering ? "connected" : "unreachable", schedules: plans.size },
        };
      },
      metrics: () => {
        metrics.leader.set(leadership?.role === "active" ? 1 : 0);
        metrics.redisUp.set(leadership && Date.now() - leadership.lastContactAt < REDIS_SILENCE_NOT_READY_MS ? 1 : 0);
        return metrics.registry.metrics();
      },
    });
  }

  const ownsBroker = !options.broker;
  const broker = options.broker ?? (await connect(options, `llmctl:beat:${id}`, logger, () => closing));
  // WATCH state belongs to a connection: each lane of transactions gets one of its own.
  const lanes = await Promise.all(
    Array.from({ length: DISPATCH_LANES }, async (_, lane) => {
      const connection = broker.redis.connect({ purpose: "transaction", name: `llmctl:beat:${id}:tx${lane}` });
      await connection.connect().catch(() => {});
      const inserter = new JobInserter(connection, broker.prefix);
      return { connection, inserter, store: new ScheduleStore(connection, broker.keys, inserter) };
    }),
  );
  const leaseTtlMs = options.leaseTtlMs ?? parseDurationMs(loaded.config.beat.lease_ttl)!;
  const heartbeatMs = parseDurationMs(loaded.config.beat.heartbeat)!;

  const activeScheduler = new Scheduler({
    lanes: lanes.map((lane) => lane.store),
    logger,
    metrics,
    jobState: (job) => withTimeout(broker.queue(job.queue).getJobState(job.id), REDIS_REQUEST_TIMEOUT_MS, () => new Error(`Redis did not answer within ${REDIS_REQUEST_TIMEOUT_MS} ms`)),
    onFenceLost: (reason) => void leadership?.stepDown(reason),
  });
  activeScheduler.setPlans(plans, registry);
  const beats = new BeatRegistry(broker.connection, broker.keys);
  const startedAt = new Date().toISOString();
  const heartbeat = (): BeatHeartbeat => ({
    id,
    kind: "beat",
    hostname,
    pid: process.pid,
    version: VERSION,
    started_at: startedAt,
    beat_at: new Date().toISOString(),
    role: activeLeadership.role,
    lease_token: activeLeadership.token,
    schedules: activeScheduler.scheduleCount,
    dispatched: activeScheduler.dispatched,
    last_dispatch_at: activeScheduler.lastDispatchAt?.toISOString() ?? null,
  });
  const publishHeartbeat = () => beats.publish(heartbeat(), heartbeatMs * 3).catch(() => {});
  const activeLeadership = new Leadership(new BeatLease(broker.connection, broker.keys, id, leaseTtlMs), logger, {
    acquired: (token) => {
      activeScheduler.lead({ token, beatId: id });
      // Status readers see the new role at once, not a heartbeat later.
      void publishHeartbeat();
    },
    lost: async () => {
      await activeScheduler.stop();
      void publishHeartbeat();
    },
  });
  leadership = activeLeadership;
  activeLeadership.start();
  await publishHeartbeat();

  const heartbeatTimer = setInterval(publishHeartbeat, heartbeatMs);

  let reloading = Promise.resolve(true);
  const reloadNow = async (): Promise<boolean> => {
    if (!options.reloadConfig || closing) return false;
    try {
      const next = options.reloadConfig();
      const nextRegistry = await loadRegistry(next);
      const nextPlans = planSchedules(next, nextRegistry);
      if (next.config.prefix !== loaded.config.prefix || JSON.stringify(next.redis) !== JSON.stringify(loaded.redis)) {
        logger.warn("redis or prefix changed in the config: restart beat to apply that; the schedules are reloaded");
      }
      const removed = [...plans.keys()].filter((name) => !nextPlans.has(name));
      loaded = next;
      registry = nextRegistry;
      plans = nextPlans;
      activeScheduler.setPlans(plans, registry);
      logger.info({ schedules: [...plans.keys()], removed }, "config reloaded");
      return true;
    } catch (error) {
      logger.error({ err: errorMessage(error) }, "config reload rejected: keeping the running config");
      return false;
    }
  };
  const reload = () => (reloading = reloading.then(reloadNow));
  let configWatch: ConfigWatch | undefined;
  if (options.reloadConfig && loaded.path && options.watchConfig !== false) {
    configWatch = watchConfigFile(loaded.path, () => void reload(), (error) => logger.warn({ err: errorMessage(error) }, "cannot watch the config file; reload with SIGHUP"));
  }

  logger.info(
    { schedules: [...plans.keys()], lease_ttl_ms: leaseTtlMs, hostname, redis: broker.redis.description, health_port: probes?.port ?? null },
    "beat started",
  );

  return {
    id,
    healthPort: probes?.port,
    role: () => activeLeadership.role,
    reload,
    async close() {
      if (closing) return;
      closing = true;
      configWatch?.close();
      clearInterval(heartbeatTimer);
      await activeLeadership.stop();
      await activeScheduler.stop();
      await withTimeout(beats.remove(id), REDIS_REQUEST_TIMEOUT_MS, () => new Error("timed out")).catch(() => {});
      await probes?.stop();
      for (const lane of lanes) {
        await lane.inserter.close().catch(() => {});
        lane.connection.disconnect();
      }
      if (ownsBroker) await broker.close();
      logger.info({ dispatched: activeScheduler.dispatched }, "beat stopped");
    },
  };
}
