/**
 * The overview's schedules panel: which beat dispatches, and per schedule its cron, state, next
 * and last run (with its jobs' outcome), how far behind beat is, and pause/resume and trigger.
 * Everything comes from the live state, so a trigger shows its run without a reload.
 */
import { api, type Schedule } from "../api.ts";
import { ageLabel, h, localTime, stateBadge } from "../dom.ts";
import { live } from "../live.ts";
import { runAction } from "../notice.ts";
import type { OverviewPanel } from "./overview.ts";

/** Lag below this is beat's normal wake-up time, not worth showing. */
const SHOWN_LAG_MS = 5_000;

function scheduleState(schedule: Schedule): string {
  if (!schedule.in_config) return "not in config";
  if (schedule.paused) return "paused";
  return schedule.enabled ? "active" : "disabled";
}

function leaseLine(): HTMLElement {
  const beats = [...live.beats.values()];
  const active = beats.find((beat) => beat.role === "active");
  const holder = active?.id ?? [...live.schedules.values()].find((schedule) => schedule.lease)?.lease?.holder;
  const standby = beats.filter((beat) => beat.role !== "active").map((beat) => `${beat.id} (${beat.role})`);
  if (!holder) {
    return h("p", { class: "warn-text", id: "lease-holder", "data-lease": "" }, "No beat holds the lease: schedules are not being dispatched. Start one with: llmctl beat");
  }
  return h(
    "p",
    { class: "muted", id: "lease-holder", "data-lease": holder },
    "Dispatched by beat ",
    h("span", { class: "mono" }, holder),
    standby.length ? `; standing by: ${standby.join(", ")}` : null,
  );
}

function lastRun(schedule: Schedule): HTMLElement {
  const skip = schedule.last_skip ? `last skipped: ${localTime(schedule.last_skip.fire_time)} (${schedule.last_skip.reason})` : undefined;
  if (!schedule.last_fire_time) return h("span", { class: "muted", title: skip }, "never");
  return h(
    "span",
    { title: [`fire time ${localTime(schedule.last_fire_time)}`, `dispatched by ${schedule.last_dispatched_by ?? "?"}`, skip].filter(Boolean).join("\n") },
    ageLabel(schedule.last_dispatched_at ?? schedule.last_fire_time),
    schedule.last_kind && schedule.last_kind !== "cron" ? ` (${schedule.last_kind})` : "",
    " ",
    schedule.last_jobs.map((job) => h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, title: `${job.id} on ${job.queue}${job.error ? `: ${job.error}` : ""}` }, stateBadge(job.state))),
  );
}

function scheduleRow(schedule: Schedule): HTMLElement {
  const state = scheduleState(schedule);
  const toggle = h("button", { type: "button", class: "small", "data-action": schedule.paused ? "resume" : "pause", disabled: !schedule.in_config }, schedule.paused ? "Resume" : "Pause");
  toggle.addEventListener("click", () =>
    void runAction(toggle, `${schedule.paused ? "Resuming" : "Pausing"} ${schedule.name}`, () => api.setSchedulePaused(schedule.name, !schedule.paused), (result) =>
      result.paused ? `${result.schedule} paused: its fire times are skipped until resumed` : `${result.schedule} resumed from its next fire time`,
    ),
  );
  const trigger = h("button", { type: "button", class: "small", "data-action": "trigger", disabled: !schedule.in_config }, "Trigger");
  trigger.addEventListener("click", () =>
    void runAction(trigger, `Triggering ${schedule.name}`, () => api.triggerSchedule(schedule.name), (result) => `${result.schedule} triggered: ${result.jobs.length} job${result.jobs.length === 1 ? "" : "s"}`),
  );
  const lag = schedule.lag_ms !== null && schedule.lag_ms >= SHOWN_LAG_MS ? h("span", { class: "badge late", title: "the oldest fire time no beat has handled yet is this old" }, `${Math.round(schedule.lag_ms / 1000)} s behind`) : null;
  return h(
    "tr",
    { "data-schedule": schedule.name },
    h("th", { scope: "row" }, schedule.name),
    h("td", { class: "mono" }, schedule.cron ? `${schedule.cron} ${schedule.timezone}` : "–"),
    h("td", { title: schedule.targets.join(", ") }, schedule.task ?? "–", schedule.targets.length ? h("small", { class: "muted" }, `→ ${schedule.targets.join(", ")}`) : null),
    h("td", { "data-schedule-state": state }, h("span", { class: `badge ${state === "active" ? "" : "paused"}` }, state), lag),
    h("td", { "data-next": schedule.next_fire_time ?? "", title: localTime(schedule.next_fire_time) }, schedule.next_fire_time ? ["in ", ageLabel(schedule.next_fire_time, "")] : "–"),
    h("td", { "data-last": schedule.last_kind ?? "" }, lastRun(schedule)),
    h("td", {}, h("div", { class: "actions" }, toggle, trigger)),
  );
}

export const schedulesPanel: OverviewPanel = {
  id: "schedules",
  title: "Schedules",
  state: () => JSON.stringify([[...live.schedules.values()].map((schedule) => ({ ...schedule, lease: schedule.lease?.holder })), [...live.beats.values()].map((beat) => [beat.id, beat.role])]),
  render() {
    const schedules = [...live.schedules.values()];
    // Without schedules, no beat is nothing to warn about.
    if (schedules.length === 0) return h("p", { class: "empty" }, "No schedules. Add them under schedules: in the config.");
    return h(
      "div",
      {},
      leaseLine(),
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { class: "grid" },
          h("thead", {}, h("tr", {}, ...["Schedule", "Cron", "Task", "State", "Next run", "Last run", ""].map((label) => h("th", { scope: "col" }, label)))),
          h("tbody", {}, schedules.map(scheduleRow)),
        ),
      ),
    );
  },
};
