/** What `llmctl config show|workers|schedules` print: plain rows and objects, no formatting. */
import { formatLocal, nextFireTimes } from "./cron.ts";
import type { LoadedConfig } from "./load.ts";
import { describeRedisTarget } from "./redis-target.ts";
import type { ConfigFile, Schedule } from "./schema.ts";
import { hostQueue, isTargetProblem, resolveTarget, type ResolvedTarget, type Topology } from "./targets.ts";

export function topologyOf(config: ConfigFile): Topology {
  const roles: Topology["roles"] = {};
  for (const [name, role] of Object.entries(config.workers)) roles[name] = { queue: role.queue, hostnames: role.hostnames };
  return { queues: config.queues, roles };
}

export interface WorkerRoleRow {
  role: string;
  queue: string;
  hostnames: string[];
  host_queues: string[];
}

export function workerRoleRows(config: ConfigFile): WorkerRoleRow[] {
  return Object.entries(config.workers).map(([role, definition]) => ({
    role,
    queue: definition.queue,
    hostnames: definition.hostnames,
    host_queues: definition.hostnames.map((hostname) => hostQueue(definition.queue, hostname)),
  }));
}

export interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  task: string;
  targets: string[];
  queues: string[];
  next: string[];
  next_utc: string[];
  enabled: boolean;
  catchup: string;
  description?: string;
}

/** The queue a task goes to without targets: its route, its own queue option, then the default queue. */
export function routedQueue(config: ConfigFile, task: string, taskDefaultQueue?: string): string {
  return config.routes[task] ?? config.tasks[task]?.queue ?? taskDefaultQueue ?? config.queues[0]!;
}

/** The task of a schedule, or its workflow's steps as "a → b → c". */
export function describeScheduleWork(schedule: Schedule): string {
  return schedule.steps ? `steps: ${schedule.steps.map((step) => step.task).join(" → ")}` : (schedule.task ?? "");
}

/** Where one task sent to `targets` lands (unresolvable targets are left out; validation reports them). */
export function resolveTaskTargets(config: ConfigFile, task: string, targets: string[] | undefined): ResolvedTarget[] {
  const topology = topologyOf(config);
  return (targets ?? [routedQueue(config, task)]).flatMap((target) => {
    const resolved = resolveTarget(topology, target);
    return isTargetProblem(resolved) ? [] : resolved;
  });
}

function targetQueues(config: ConfigFile, task: string, targets: string[] | undefined): string[] {
  return resolveTaskTargets(config, task, targets).map((target) => target.queue);
}

export function scheduleRows(config: ConfigFile, now: Date, count = 3): ScheduleRow[] {
  return Object.entries(config.schedules).map(([name, schedule]) => {
    const next = nextFireTimes(schedule.cron, schedule.timezone, now, count);
    const queues = schedule.steps
      ? [...new Set(schedule.steps.flatMap((step) => targetQueues(config, step.task, step.targets)))]
      : targetQueues(config, schedule.task ?? "", schedule.targets);
    return {
      name,
      cron: schedule.cron,
      timezone: schedule.timezone,
      task: describeScheduleWork(schedule),
      targets: schedule.steps ? [] : (schedule.targets ?? []),
      queues,
      next: next.map((date) => formatLocal(date, schedule.timezone)),
      next_utc: next.map((date) => date.toISOString()),
      enabled: schedule.enabled,
      catchup: schedule.catchup,
      description: schedule.description,
    };
  });
}

/** The effective config as a plain object, Redis resolved and its password redacted. */
export function effectiveConfig(loaded: LoadedConfig): Record<string, unknown> {
  const { environments: _environments, $schema: _schema, redis: _redis, ...rest } = loaded.config;
  const { origin, configured: _configured, ...target } = loaded.redis;
  const redis: Record<string, unknown> = { url: describeRedisTarget(loaded.redis) };
  if (target.kind === "redis") {
    redis.host = target.host;
    redis.port = target.port;
    redis.db = target.db;
    redis.tls = target.tls;
    if (target.username) redis.username = target.username;
    if (target.password !== undefined) redis.password = "***";
  } else if (target.path) {
    redis.path = target.path;
  }
  redis.origin = origin;
  return {
    source: { file: loaded.path ?? "built-in default contract", found_by: loaded.source, environment: loaded.environment ?? null },
    redis,
    ...rest,
  };
}
