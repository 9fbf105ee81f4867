/**
 * Checks that need more than the schema: cron expressions, time zones, targets, routes, queue
 * collisions and DST surprises. They run on the raw parsed YAML, guarding every access, so that
 * they report their findings even when the schema found errors elsewhere in the same file —
 * a user fixes everything in one round instead of one error per run.
 */
import { checkCron, dstAnomalies, isValidTimezone, knownTimezones } from "./cron.ts";
import type { Diagnostic, PathSegment, SourceLocator } from "./diagnostics.ts";
import { QUEUE_NAME } from "./schema.ts";
import { hostQueue, isTargetProblem, knownQueues, resolveTarget, type Topology } from "./targets.ts";
import { didYouMean } from "../util/suggest.ts";
import { errorMessage, type UsageError } from "../util/errors.ts";
import { parseRedisUrl } from "./redis-target.ts";
import { checkCommandTemplate } from "./command-template.ts";

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function topologyOf(queues: unknown, workers: unknown): Topology {
  const roles: Topology["roles"] = {};
  if (isRecord(workers)) {
    for (const [name, role] of Object.entries(workers)) {
      if (isRecord(role) && typeof role.queue === "string") roles[name] = { queue: role.queue, hostnames: stringList(role.hostnames) };
    }
  }
  return { queues: stringList(queues), roles };
}

export interface SemanticCheckOptions {
  /** Start of the window in which DST changes are looked for (default: now). */
  now?: Date;
}

export function semanticDiagnostics(raw: unknown, locator: SourceLocator, options: SemanticCheckOptions = {}): Diagnostic[] {
  if (!isRecord(raw)) return [];
  const diagnostics: Diagnostic[] = [];
  const push = (path: PathSegment[], message: string, fix?: string, at: "key" | "value" = "value") =>
    diagnostics.push(locator.diagnostic("error", path, message, fix, at));

  checkRedisUrl(raw.redis, ["redis"], locator, diagnostics, push);
  if (isRecord(raw.environments)) {
    for (const [name, environment] of Object.entries(raw.environments)) {
      if (isRecord(environment)) checkRedisUrl(environment.redis, ["environments", name, "redis"], locator, diagnostics, push);
    }
  }
  checkQueues(raw.queues, push);
  const base = topologyOf(raw.queues, raw.workers);
  checkRoles(base, raw.workers, ["workers"], push);

  const views: Array<{ topology: Topology; label: string }> = [{ topology: base, label: "" }];
  if (isRecord(raw.environments)) {
    for (const [name, environment] of Object.entries(raw.environments)) {
      if (!isRecord(environment) || !isRecord(environment.workers)) continue;
      const merged = topologyOf(raw.queues, { ...(isRecord(raw.workers) ? raw.workers : {}), ...environment.workers });
      checkRoles(merged, environment.workers, ["environments", name, "workers"], push);
      views.push({ topology: merged, label: ` (with environment "${name}")` });
    }
  }

  for (const { topology, label } of views) {
    checkRoutes(raw.routes, topology, label, push);
    checkTaskQueues(raw.tasks, topology, label, push);
    checkScheduleTargets(raw.schedules, topology, label, push);
  }
  checkSchedules(raw.schedules, locator, options.now ?? new Date(), diagnostics, push);
  checkCommandTasks(raw.tasks, push);
  return dedupe(diagnostics);
}

type Push = (path: PathSegment[], message: string, fix?: string, at?: "key" | "value") => void;

function checkRedisUrl(redis: unknown, at: PathSegment[], locator: SourceLocator, diagnostics: Diagnostic[], push: Push): void {
  if (!isRecord(redis) || typeof redis.url !== "string") return;
  try {
    const target = parseRedisUrl(redis.url, "redis.url");
    if (target.kind === "redis" && target.password !== undefined) {
      diagnostics.push(
        locator.diagnostic("warning", [...at, "url"], "the URL holds a password, and config files end up in git", "remove it from the URL and set LLMCTL_REDIS_PASSWORD or redis.password_file"),
      );
    }
  } catch (error) {
    push([...at, "url"], errorMessage(error).replace(/^redis\.url: /, ""), (error as UsageError).hint);
  }
}

function checkQueues(queues: unknown, push: Push): void {
  const seen = new Map<string, number>();
  stringList(queues).forEach((queue, index) => {
    const first = seen.get(queue);
    if (first !== undefined) {
      push(["queues", index], `queue "${queue}" is declared twice (first at queues[${first}])`, "remove the duplicate entry");
    } else {
      seen.set(queue, index);
    }
  });
}

function checkRoles(topology: Topology, workers: unknown, at: PathSegment[], push: Push): void {
  if (!isRecord(workers)) return;
  const contract = new Set(topology.queues);
  const owners = new Map<string, string>();
  for (const [name, role] of Object.entries(topology.roles)) {
    owners.set(role.queue, owners.get(role.queue) ?? name);
  }
  for (const [name, role] of Object.entries(workers)) {
    if (!isRecord(role) || typeof role.queue !== "string") continue;
    const queue = role.queue;
    if (contract.has(queue)) {
      push([...at, name, "queue"], `role "${name}" uses queue "${queue}", which is already a contract queue under queues:`, `give the role its own queue, e.g. ${name}_tasks`);
    }
    const owner = owners.get(queue);
    if (owner !== undefined && owner !== name) {
      push([...at, name, "queue"], `roles "${owner}" and "${name}" share queue "${queue}"`, "give each role its own queue");
    }
    const hostnames = stringList(role.hostnames);
    const seenHosts = new Set<string>();
    hostnames.forEach((hostname, index) => {
      if (seenHosts.has(hostname)) push([...at, name, "hostnames", index], `hostname "${hostname}" is listed twice`, "remove the duplicate");
      seenHosts.add(hostname);
      const perHost = hostQueue(queue, hostname);
      if (contract.has(perHost)) {
        push([...at, name, "hostnames", index], `host queue "${perHost}" of role "${name}" collides with a contract queue`, "rename the role queue or the contract queue");
      }
      if (!QUEUE_NAME.test(perHost)) {
        push([...at, name, "hostnames", index], `host queue "${perHost}" is not a valid queue name`, "use letters, digits, '-' and '.' in hostnames");
      }
    });
  }
}

function checkRoutes(routes: unknown, topology: Topology, label: string, push: Push): void {
  if (!isRecord(routes)) return;
  const queues = knownQueues(topology);
  for (const [task, queue] of Object.entries(routes)) {
    if (typeof queue !== "string" || queues.has(queue)) continue;
    push(["routes", task], `route for "${task}" goes to queue "${queue}", which is not declared${label}${didYouMean(queue, queues)}`, `add "${queue}" under queues:, or route to one of: ${[...new Set(topology.queues)].join(", ")}`);
  }
}

function checkTaskQueues(tasks: unknown, topology: Topology, label: string, push: Push): void {
  if (!isRecord(tasks)) return;
  const queues = knownQueues(topology);
  for (const [task, options] of Object.entries(tasks)) {
    if (!isRecord(options) || typeof options.queue !== "string" || queues.has(options.queue)) continue;
    push(["tasks", task, "queue"], `queue "${options.queue}" of task "${task}" is not declared${label}${didYouMean(options.queue, queues)}`, `add "${options.queue}" under queues:`);
  }
}

function checkScheduleTargets(schedules: unknown, topology: Topology, label: string, push: Push): void {
  if (!isRecord(schedules)) return;
  const check = (targets: unknown, at: PathSegment[]) =>
    stringList(targets).forEach((target, index) => {
      const resolved = resolveTarget(topology, target);
      if (isTargetProblem(resolved)) push([...at, "targets", index], `${resolved.message}${label}`, resolved.fix);
    });
  for (const [name, schedule] of Object.entries(schedules)) {
    if (!isRecord(schedule)) continue;
    check(schedule.targets, ["schedules", name]);
    if (Array.isArray(schedule.steps)) {
      schedule.steps.forEach((step, index) => {
        if (isRecord(step)) check(step.targets, ["schedules", name, "steps", index]);
      });
    }
  }
}

/** A schedule dispatches one task or a workflow of steps; task-level args and targets mean nothing next to steps. */
function checkScheduleShape(name: string, schedule: Raw, push: Push): void {
  const at = ["schedules", name];
  const hasSteps = schedule.steps !== undefined;
  if (schedule.task === undefined && !hasSteps) {
    push(at, `schedule "${name}" names no task`, "add task: NAME, or steps: [{ task: NAME }, …] for a workflow", "key");
    return;
  }
  if (schedule.task !== undefined && hasSteps) {
    push([...at, "steps"], `schedule "${name}" has both task and steps`, "keep task for one job per target, or steps for a workflow, not both", "key");
    return;
  }
  if (!hasSteps) return;
  for (const key of ["args", "targets"] as const) {
    if (schedule[key] !== undefined) {
      push([...at, key], `schedule "${name}" has steps, so ${key} belongs to each step`, `move ${key} into the steps that need it`, "key");
    }
  }
  if (Array.isArray(schedule.steps)) {
    const seen = new Set<string>();
    schedule.steps.forEach((step, index) => {
      if (!isRecord(step) || typeof step.name !== "string") return;
      if (seen.has(step.name)) push([...at, "steps", index, "name"], `step name "${step.name}" is used twice`, "give each step its own name");
      seen.add(step.name);
    });
  }
}

function checkSchedules(schedules: unknown, locator: SourceLocator, now: Date, diagnostics: Diagnostic[], push: Push): void {
  if (!isRecord(schedules)) return;
  const horizon = new Date(now.getTime() + 366 * 86_400_000);
  for (const [name, schedule] of Object.entries(schedules)) {
    if (!isRecord(schedule)) continue;
    checkScheduleShape(name, schedule, push);
    const timezone = typeof schedule.timezone === "string" ? schedule.timezone : "UTC";
    const timezoneValid = isValidTimezone(timezone);
    if (!timezoneValid) {
      push(["schedules", name, "timezone"], `"${timezone}" is not an IANA time zone${didYouMean(timezone, knownTimezones())}`, "use a name such as UTC, Europe/Berlin or America/New_York");
    }
    if (typeof schedule.cron !== "string") continue;
    const problem = checkCron(schedule.cron);
    if (problem) {
      push(["schedules", name, "cron"], problem.message, problem.fix);
      continue;
    }
    if (!timezoneValid) continue;
    for (const anomaly of dstAnomalies(schedule.cron, timezone, now, horizon)) {
      const times = anomaly.localTimes.join(", ");
      const message =
        anomaly.kind === "skipped"
          ? `local time ${times} does not exist on ${anomaly.date} in ${timezone} (clocks go forward); it runs once, shifted forward by the gap`
          : `local time ${times} happens twice on ${anomaly.date} in ${timezone} (clocks go back); it runs once, at the first occurrence`;
      diagnostics.push(
        locator.diagnostic("warning", ["schedules", name, "cron"], message, "pick a time outside the change hour, or use timezone: UTC, if that matters"),
      );
    }
  }
}

function checkCommandTasks(tasks: unknown, push: Push): void {
  if (!isRecord(tasks)) return;
  for (const [name, options] of Object.entries(tasks)) {
    if (!isRecord(options)) continue;
    const isCommand = options.kind === "command";
    if (isCommand && !Array.isArray(options.command)) {
      push(["tasks", name, "kind"], `command task "${name}" has no command`, 'add command: ["/usr/bin/program", "{argument}"]');
      continue;
    }
    if (!isCommand && (options.command !== undefined || options.args !== undefined || options.cwd !== undefined)) {
      push(["tasks", name], `"${name}" has command, args or cwd but is not a command task`, "add kind: command, or remove them");
      continue;
    }
    if (!isCommand) continue;
    const args = isRecord(options.args) ? (options.args as Parameters<typeof checkCommandTemplate>[1]) : {};
    for (const problem of checkCommandTemplate(stringList(options.command), args)) {
      push(["tasks", name, "command", problem.index], problem.message);
    }
  }
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.line}:${d.column}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
