/**
 * A schedule of the config resolved for dispatch: its task (or the workflow job that runs its
 * steps), validated arguments and resolved targets. Beat plans every schedule before it
 * connects, `schedule trigger` plans one before it enqueues, and dry-run shows the plans; a
 * schedule that names an unknown task, a bad argument or an unknown target is refused with the
 * file, line and column of the mistake.
 */
import type { LoadedConfig } from "../config/load.ts";
import { ConfigError, errorAt, type Diagnostic, type PathSegment } from "../config/diagnostics.ts";
import type { ConfigFile, Schedule } from "../config/schema.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { NotFoundError } from "../util/errors.ts";
import { didYouMean } from "../util/suggest.ts";
import { buildJobs, describeJobs, EnqueueError, fieldSegments, planEnqueue, type EnqueuePlan } from "./producer.ts";
import type { JobSource } from "./payload.ts";
import { scheduleDefinition, type DispatchKind } from "./schedule-state.ts";
import type { FireDispatch } from "./schedule-store.ts";
import { WORKFLOW_TASK } from "./workflow.ts";

export interface SchedulePlan {
  name: string;
  schedule: Schedule;
  /** The task each fire time dispatches: the schedule's, or llmctl.workflow for steps. */
  task: string;
  /** Validated arguments and resolved targets (one job per target queue). */
  plan: EnqueuePlan;
  /** cron|timezone: what the watermark in Redis was counted with. */
  definition: string;
}

/** Plans one schedule; throws EnqueueError naming the field at fault (task, args.x, targets[0], args.steps[1].task). */
export function planSchedule(config: ConfigFile, registry: TaskRegistry, name: string, schedule: Schedule): SchedulePlan {
  const task = schedule.steps ? WORKFLOW_TASK : schedule.task!;
  const args = schedule.steps ? { name, steps: schedule.steps } : schedule.args;
  const plan = planEnqueue(config, registry, task, args, { targets: schedule.steps ? undefined : schedule.targets });
  return { name, schedule, task, plan, definition: scheduleDefinition(schedule) };
}

/** Where in the schedule an EnqueueError's field points: steps live beside the schedule's own keys, not under args. */
function fieldPath(schedule: Schedule, field: string): PathSegment[] {
  const segments: PathSegment[] = fieldSegments(field);
  return schedule.steps && segments[0] === "args" ? segments.slice(1) : segments;
}

/** Plans each schedule of the config; a schedule that cannot be dispatched gives a diagnostic at its file:line:col instead. */
export function planEachSchedule(loaded: LoadedConfig, registry: TaskRegistry): { plans: Map<string, SchedulePlan>; diagnostics: Diagnostic[] } {
  const plans = new Map<string, SchedulePlan>();
  const diagnostics: Diagnostic[] = [];
  for (const [name, schedule] of Object.entries(loaded.config.schedules)) {
    try {
      plans.set(name, planSchedule(loaded.config, registry, name, schedule));
    } catch (error) {
      if (!(error instanceof EnqueueError)) throw error;
      const path = ["schedules", name, ...fieldPath(schedule, error.field)];
      const message = error.message.replace(/^steps\[\d+\]: /, "");
      diagnostics.push(errorAt(loaded, path, message, error.hint));
    }
  }
  return { plans, diagnostics };
}

/** Plans every schedule of the config; throws one ConfigError listing every schedule that cannot be dispatched. */
export function planSchedules(loaded: LoadedConfig, registry: TaskRegistry): Map<string, SchedulePlan> {
  const { plans, diagnostics } = planEachSchedule(loaded, registry);
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  return plans;
}

/** The jobs of one fire time. Ids are "<schedule>.<fire time ms>" (plus -<host> in a fan-out), readable in `job show`. */
export function fireDispatch(
  registry: TaskRegistry,
  plan: SchedulePlan,
  fire: { fireTime: Date; kind: DispatchKind; source?: JobSource; targets?: EnqueuePlan["targets"] },
): FireDispatch {
  const { fireTime, kind } = fire;
  const enqueuePlan = { ...plan.plan, targets: fire.targets ?? plan.plan.targets };
  const jobId = kind === "trigger" ? `${plan.name}.trigger.${Bun.randomUUIDv7().slice(-12)}` : `${plan.name}.${fireTime.getTime()}`;
  const jobs = buildJobs(registry, plan.task, enqueuePlan, { source: fire.source ?? "beat", schedule: plan.name, fireTime, jobId });
  return { fireTime, kind, jobs, enqueued: describeJobs(plan.task, enqueuePlan, jobs) };
}

/** The named schedule of the config, or a NotFoundError (exit 2) with a did-you-mean. */
export function requireSchedule(config: ConfigFile, name: string): Schedule {
  const schedule = config.schedules[name];
  if (!schedule) {
    const names = Object.keys(config.schedules);
    throw new NotFoundError(`unknown schedule "${name}"${didYouMean(name, names)}`, names.length ? `schedules in this config: ${names.join(", ")}` : "add it under schedules: in the config");
  }
  return schedule;
}
