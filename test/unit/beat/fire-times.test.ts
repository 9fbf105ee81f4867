import { describe, expect, it } from "bun:test";
import { ON_TIME_GRACE_MS, planFires, type FireSchedule } from "../../../src/beat/fire-times.ts";

const at = (iso: string) => Date.parse(iso);
const schedule = (cron: string, overrides: Partial<FireSchedule> = {}): FireSchedule => ({ cron, timezone: "UTC", catchup: "skip", max_catchup: 100, ...overrides });
const fires = (plan: ReturnType<typeof planFires>) => plan.dispatch.map((fire) => `${fire.kind} ${new Date(fire.fireTime).toISOString()}`);

describe("planFires", () => {
  it("dispatches a fire time beat reaches on time and moves the watermark to it", () => {
    const plan = planFires({ schedule: schedule("* * * * * *"), watermark: at("2026-06-01T10:00:00Z"), definitionChanged: false, now: at("2026-06-01T10:00:01.005Z") });
    expect(fires(plan)).toEqual(["cron 2026-06-01T10:00:01.000Z"]);
    expect(plan.watermark).toBe(at("2026-06-01T10:00:01Z"));
    expect(plan.dropped).toBeUndefined();
  });

  it("dispatches nothing before the next fire time and keeps the watermark", () => {
    const plan = planFires({ schedule: schedule("0 * * * *"), watermark: at("2026-06-01T10:00:00Z"), definitionChanged: false, now: at("2026-06-01T10:59:59Z") });
    expect(plan.dispatch).toEqual([]);
    expect(plan.watermark).toBe(at("2026-06-01T10:00:00Z"));
  });

  it("still counts a fire time as on time within the grace, and as missed after it", () => {
    const watermark = at("2026-06-01T10:00:00Z");
    const late = (ms: number) => planFires({ schedule: schedule("0 * * * *"), watermark, definitionChanged: false, now: at("2026-06-01T11:00:00Z") + ms });
    expect(fires(late(ON_TIME_GRACE_MS - 1))).toEqual(["cron 2026-06-01T11:00:00.000Z"]);
    expect(fires(late(ON_TIME_GRACE_MS + 1))).toEqual([]);
    expect(late(ON_TIME_GRACE_MS + 1).dropped).toEqual({ fireTime: new Date("2026-06-01T11:00:00Z"), reason: "missed" });
  });

  describe("after three hours down (hourly schedule, last run 08:00, back at 11:20)", () => {
    const input = { watermark: at("2026-06-01T08:00:00Z"), definitionChanged: false, now: at("2026-06-01T11:20:00Z") };

    it("skip drops 09:00, 10:00 and 11:00 and runs nothing until 12:00", () => {
      const plan = planFires({ ...input, schedule: schedule("0 * * * *", { catchup: "skip" }) });
      expect(plan.dispatch).toEqual([]);
      expect(plan.dropped).toEqual({ fireTime: new Date("2026-06-01T11:00:00Z"), reason: "missed" });
      expect(plan.watermark).toBe(at("2026-06-01T11:00:00Z"));
    });

    it("once runs one job for all three, keyed by the latest", () => {
      const plan = planFires({ ...input, schedule: schedule("0 * * * *", { catchup: "once" }) });
      expect(fires(plan)).toEqual(["catchup 2026-06-01T11:00:00.000Z"]);
      expect(plan.watermark).toBe(at("2026-06-01T11:00:00Z"));
    });

    it("all runs each of them, oldest first", () => {
      const plan = planFires({ ...input, schedule: schedule("0 * * * *", { catchup: "all" }) });
      expect(fires(plan)).toEqual(["catchup 2026-06-01T09:00:00.000Z", "catchup 2026-06-01T10:00:00.000Z", "catchup 2026-06-01T11:00:00.000Z"]);
    });
  });

  it("all keeps the latest max_catchup and names the newest one it dropped", () => {
    const plan = planFires({ schedule: schedule("* * * * *", { catchup: "all", max_catchup: 3 }), watermark: at("2026-06-01T10:00:00Z"), definitionChanged: false, now: at("2026-06-01T10:10:30Z") });
    expect(fires(plan)).toEqual(["catchup 2026-06-01T10:08:00.000Z", "catchup 2026-06-01T10:09:00.000Z", "catchup 2026-06-01T10:10:00.000Z"]);
    expect(plan.dropped).toEqual({ fireTime: new Date("2026-06-01T10:07:00Z"), reason: "catchup limit" });
  });

  it("runs missed and on-time fire times together under all, the on-time one as cron", () => {
    const plan = planFires({ schedule: schedule("* * * * * *", { catchup: "all" }), watermark: at("2026-06-01T10:00:00Z"), definitionChanged: false, now: at("2026-06-01T10:00:05.100Z") });
    expect(fires(plan)).toEqual([
      "catchup 2026-06-01T10:00:01.000Z",
      "catchup 2026-06-01T10:00:02.000Z",
      "catchup 2026-06-01T10:00:03.000Z",
      "cron 2026-06-01T10:00:04.000Z",
      "cron 2026-06-01T10:00:05.000Z",
    ]);
  });

  it("starts a new schedule, or one whose cron changed, at its next fire time without catch-up", () => {
    const fresh = planFires({ schedule: schedule("0 * * * *", { catchup: "all" }), watermark: null, definitionChanged: false, now: at("2026-06-01T11:00:00.500Z") });
    expect(fresh.dispatch).toEqual([]);
    expect(fresh.watermark).toBe(at("2026-06-01T11:00:00.500Z"));
    const changed = planFires({ schedule: schedule("*/5 * * * *", { catchup: "all" }), watermark: at("2026-06-01T08:00:00Z"), definitionChanged: true, now: at("2026-06-01T11:20:00Z") });
    expect(changed.dispatch).toEqual([]);
    expect(changed.watermark).toBe(at("2026-06-01T11:20:00Z"));
  });

  describe("DST", () => {
    const berlin = (overrides: Partial<FireSchedule> = {}) => schedule("30 2 * * *", { timezone: "Europe/Berlin", ...overrides });
    const newYork = (overrides: Partial<FireSchedule> = {}) => schedule("30 2 * * *", { timezone: "America/New_York", ...overrides });

    it("runs Berlin's 02:30 once on the spring-forward day, at 03:30 CEST", () => {
      const plan = planFires({ schedule: berlin(), watermark: at("2026-03-28T01:30:00Z"), definitionChanged: false, now: at("2026-03-29T01:30:00.200Z") });
      expect(fires(plan)).toEqual(["cron 2026-03-29T01:30:00.000Z"]);
      const after = planFires({ schedule: berlin(), watermark: plan.watermark, definitionChanged: false, now: at("2026-03-30T00:00:00Z") });
      expect(after.dispatch).toEqual([]);
    });

    it("runs Berlin's 02:30 once on the fall-back day, also when beat looks again during the repeated hour", () => {
      const first = planFires({ schedule: berlin(), watermark: at("2026-10-24T00:30:00Z"), definitionChanged: false, now: at("2026-10-25T00:30:00.200Z") });
      expect(fires(first)).toEqual(["cron 2026-10-25T00:30:00.000Z"]);
      // 01:30Z is 02:30 CET, the second pass of the repeated local time.
      const repeated = planFires({ schedule: berlin(), watermark: first.watermark, definitionChanged: false, now: at("2026-10-25T01:30:00.200Z") });
      expect(repeated.dispatch).toEqual([]);
      expect(repeated.watermark).toBe(first.watermark);
    });

    it("runs New York's 02:30 once on the spring-forward day and once on the fall-back day", () => {
      const spring = planFires({ schedule: newYork(), watermark: at("2026-03-07T07:30:00Z"), definitionChanged: false, now: at("2026-03-08T07:30:00.200Z") });
      expect(fires(spring)).toEqual(["cron 2026-03-08T07:30:00.000Z"]);
      const fallBackDay = planFires({ schedule: newYork({ catchup: "all" }), watermark: at("2026-10-31T06:30:00Z"), definitionChanged: false, now: at("2026-11-02T12:00:00Z") });
      expect(fires(fallBackDay)).toEqual(["catchup 2026-11-01T07:30:00.000Z", "catchup 2026-11-02T07:30:00.000Z"]);
    });

    it("catches up across a fall-back change with one run per day", () => {
      const plan = planFires({ schedule: berlin({ catchup: "all" }), watermark: at("2026-10-23T00:30:00Z"), definitionChanged: false, now: at("2026-10-27T12:00:00Z") });
      expect(fires(plan)).toEqual([
        "catchup 2026-10-24T00:30:00.000Z",
        "catchup 2026-10-25T00:30:00.000Z",
        "catchup 2026-10-26T01:30:00.000Z",
        "catchup 2026-10-27T01:30:00.000Z",
      ]);
    });
  });
});
