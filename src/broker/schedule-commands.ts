/** `llmctl schedule list|pause|resume|trigger`: the CLI over schedule-control.ts and the Inspector. */
import type { LoadedConfig } from "../config/load.ts";
import { formatLocal } from "../config/cron.ts";
import { loadTaskRegistry } from "../tasks/load.ts";
import { formatDuration } from "../util/duration.ts";
import { printJson, printRows, renderTable } from "../util/output.ts";
import { withBroker } from "./broker.ts";
import { Inspector, type LeaseView, type ScheduleView } from "./inspector.ts";
import { planSchedule, requireSchedule } from "./schedule-plan.ts";
import { setSchedulePaused, triggerSchedule } from "./schedule-control.ts";
import type { BeatHeartbeat } from "./worker-registry.ts";

function count(outcomes: ScheduleView["last_jobs"]): string {
  if (outcomes.length === 0) return "-";
  const byState = new Map<string, number>();
  for (const outcome of outcomes) byState.set(outcome.state, (byState.get(outcome.state) ?? 0) + 1);
  return [...byState].map(([state, n]) => (n === 1 && outcomes.length === 1 ? state : `${n} ${state}`)).join(", ");
}

function localTime(iso: string | null, timezone: string | null): string {
  return iso ? formatLocal(new Date(iso), timezone ?? "UTC") : "-";
}

/** The SCHEDULES table of `schedule list` and `task status`. */
export function renderSchedules(views: ScheduleView[]): string {
  if (views.length === 0) return "no schedules (add them under schedules: in the config)";
  return renderTable(
    views.map((view) => ({
      name: view.name,
      cron: view.cron ? `${view.cron} ${view.timezone}` : "-",
      task: view.task ?? "-",
      state: !view.in_config ? "not in config" : view.paused ? "paused" : view.enabled ? "active" : "disabled",
      last: view.last_fire_time ? `${localTime(view.last_fire_time, view.timezone)}${view.last_kind && view.last_kind !== "cron" ? ` (${view.last_kind})` : ""}` : "-",
      outcome: count(view.last_jobs),
      next: localTime(view.next_fire_time, view.timezone),
    })),
    [
      { key: "name", header: "SCHEDULE" },
      { key: "cron", header: "CRON" },
      { key: "task", header: "TASK" },
      { key: "state", header: "STATE" },
      { key: "last", header: "LAST FIRE" },
      { key: "outcome", header: "LAST JOBS" },
      { key: "next", header: "NEXT FIRE" },
    ],
  );
}

/** One line on who dispatches: the lease holder, or that nobody does. */
export function describeLease(lease: LeaseView | null, beats: BeatHeartbeat[]): string {
  const standby = beats.filter((beat) => beat.role !== "active").map((beat) => `${beat.id} (${beat.role})`);
  const others = standby.length ? `; standing by: ${standby.join(", ")}` : "";
  if (!lease) return `no beat holds the lease: nothing is being dispatched (start one with: llmctl beat)${others}`;
  return `active beat: ${lease.holder} (lease token ${lease.token}, expires in ${formatDuration(lease.expires_in_ms)} unless renewed)${others}`;
}

export async function listSchedules(loaded: LoadedConfig, json: boolean): Promise<void> {
  await withBroker(loaded, "llmctl:cli", async (broker) => {
    const inspector = new Inspector(broker);
    const [schedules, beats, lease] = await Promise.all([inspector.schedules(), inspector.beats(), inspector.lease()]);
    if (json) {
      printJson({ lease, beats, schedules });
      return;
    }
    process.stdout.write(`${renderSchedules(schedules)}\n\n${describeLease(lease, beats)}\n`);
  });
}

export async function pauseOrResume(loaded: LoadedConfig, name: string, paused: boolean, json: boolean): Promise<void> {
  requireSchedule(loaded.config, name);
  await withBroker(loaded, "llmctl:cli", async (broker) => {
    const outcome = await setSchedulePaused(broker, name, paused);
    if (json) printJson(outcome);
    else if (outcome.was_paused === paused) process.stdout.write(`schedule ${name} was already ${paused ? "paused" : "running"}\n`);
    else process.stdout.write(paused ? `paused ${name}: its fire times are skipped until: llmctl schedule resume ${name}\n` : `resumed ${name}: it runs from its next fire time (the skipped ones are not caught up)\n`);
  });
}

export async function trigger(loaded: LoadedConfig, name: string, options: { tasksDir?: string; json: boolean }): Promise<void> {
  // Everything that can be refused is checked before connecting: exit 2, nothing enqueued.
  const schedule = requireSchedule(loaded.config, name);
  const registry = await loadTaskRegistry(loaded.config, { tasksDir: options.tasksDir, configPath: loaded.path });
  planSchedule(loaded.config, registry, name, schedule);
  await withBroker(loaded, "llmctl:cli", async (broker) => {
    const outcome = await triggerSchedule(broker, registry, name, "cli");
    if (options.json) {
      printJson(outcome);
      return;
    }
    process.stdout.write(`triggered ${name}: ${outcome.jobs.length} job${outcome.jobs.length === 1 ? "" : "s"}\n`);
    printRows(outcome.jobs, [{ key: "id", header: "JOB" }, { key: "queue", header: "QUEUE" }, { key: "target", header: "TARGET" }], {});
  });
}
