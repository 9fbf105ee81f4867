/**
 * smoke's "last dispatch is recent" rule on the Inspector's schedule views: every schedule of the
 * config must have had its due fire times handled by a beat within the grace; how long ago the
 * last dispatch was does not matter (a daily schedule rightly has not run for hours).
 */
import { describe, expect, it } from "bun:test";
import type { ScheduleView } from "../../../src/broker/inspector.ts";
import { checkRecent } from "../../../src/smoke/live.ts";

const GRACE_MS = 15_000;

function view(name: string, fields: Partial<ScheduleView>): ScheduleView {
  return {
    name,
    in_config: true,
    enabled: true,
    cron: "0 3 * * *",
    timezone: "UTC",
    task: "llmctl.ping",
    targets: [],
    catchup: "skip",
    overlap: "allow",
    paused: false,
    paused_at: null,
    next_fire_time: null,
    last_fire_time: null,
    last_dispatched_at: null,
    last_kind: null,
    last_dispatched_by: null,
    last_jobs: [],
    last_skip: null,
    handled_until: null,
    lag_ms: 0,
    lease: null,
    ...fields,
  };
}

describe("smoke: beat's last dispatch is recent", () => {
  it("passes when no fire time waits longer than the grace, however old the last dispatch", () => {
    const daily = view("nightly", { last_kind: "cron", last_dispatched_at: new Date(Date.now() - 20 * 3_600_000).toISOString() });
    const detail = checkRecent([daily, view("hourly", { lag_ms: 400 })], GRACE_MS);
    expect(detail).toBe("2 schedules up to date (no fire time overdue by more than 15s); last dispatch: nightly, 20h ago");
  });

  it("fails naming the schedule whose fire time has waited longer than the grace", () => {
    expect(() => checkRecent([view("nightly", {}), view("tick", { lag_ms: 42_000 })], GRACE_MS)).toThrow(
      "schedule tick: a fire time has waited 42s for a beat (allowed: 15s); the active beat is not dispatching",
    );
  });

  it("fails for a schedule no beat has counted, and ignores state of schedules no longer in the config", () => {
    expect(() => checkRecent([view("new_one", { lag_ms: null })], GRACE_MS)).toThrow("schedule new_one: no beat has counted its fire times yet");
    expect(checkRecent([view("gone", { in_config: false, lag_ms: null })], GRACE_MS)).toBe("no schedules in the config: nothing to dispatch");
  });
});
