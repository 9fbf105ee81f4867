/**
 * Runtime control of schedules, the write side of `llmctl schedule` that the studio calls too:
 * pause and resume (a flag in the schedule's state in Redis, honoured by whichever beat is
 * active, kept across restarts) and trigger (dispatch now, outside the cron, once).
 */
import type { TaskRegistry } from "../tasks/registry.ts";
import type { Broker } from "./broker.ts";
import type { JobSource } from "./payload.ts";
import type { EnqueuedJob } from "./producer.ts";
import { fireDispatch, planSchedule, requireSchedule } from "./schedule-plan.ts";
import { ScheduleStore } from "./schedule-store.ts";

function storeOf(broker: Broker): ScheduleStore {
  return new ScheduleStore(broker.connection, broker.keys, broker.flowProducer());
}

export interface PauseOutcome {
  schedule: string;
  paused: boolean;
  /** The state before: pausing a paused schedule changes nothing. */
  was_paused: boolean;
}

/** Pauses or resumes a schedule of the config. A paused schedule's fire times are skipped, not caught up on resume. */
export async function setSchedulePaused(broker: Broker, name: string, paused: boolean): Promise<PauseOutcome> {
  requireSchedule(broker.config, name);
  const store = storeOf(broker);
  const before = await store.read(name);
  if (before.paused !== paused) await store.setPaused(name, paused);
  return { schedule: name, paused, was_paused: before.paused };
}

export interface TriggerOutcome {
  schedule: string;
  fire_time: string;
  jobs: EnqueuedJob[];
}

/**
 * Dispatches the schedule's task (or workflow) to its targets now, once, as a beat would at a
 * fire time. The cron watermark is left alone, so the next fire time runs as usual; it runs
 * even when the schedule is paused (an explicit request wins). Refused with exit 2, nothing
 * enqueued, when the schedule is unknown or cannot be dispatched.
 */
export async function triggerSchedule(broker: Broker, registry: TaskRegistry, name: string, source: JobSource): Promise<TriggerOutcome> {
  const plan = planSchedule(broker.config, registry, name, requireSchedule(broker.config, name));
  const fireTime = new Date();
  const dispatch = fireDispatch(registry, plan, { fireTime, kind: "trigger", source });
  await storeOf(broker).record(name, { dispatches: [dispatch] }, source);
  return { schedule: name, fire_time: fireTime.toISOString(), jobs: dispatch.enqueued };
}
