import { describe, expect, it } from "bun:test";
import { fireTimesBetween, latestFireTimes, startOutsideRepeatedHour } from "../../../src/config/cron.ts";

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe("latestFireTimes", () => {
  it("returns the same fire times as walking from the start, for short and long gaps", () => {
    const after = new Date("2026-06-01T10:00:00Z");
    const until = new Date("2026-06-01T10:10:00Z");
    const walked = fireTimesBetween("* * * * * *", "UTC", after, until, 1000);
    expect(walked.length).toBe(600);
    const latest = latestFireTimes("* * * * * *", "UTC", after, until, 5);
    expect(iso(latest.times)).toEqual(iso(walked.slice(-5)));
    expect(latest.truncated).toBe(true);
    const all = latestFireTimes("* * * * * *", "UTC", after, until, 600);
    expect(all.times.length).toBe(600);
    expect(all.truncated).toBe(false);
  });

  it("finds the latest fire times of a per-second schedule missed for a week quickly", () => {
    const started = performance.now();
    const latest = latestFireTimes("* * * * * *", "UTC", new Date("2026-06-01T00:00:00Z"), new Date("2026-06-08T00:00:00.500Z"), 3);
    expect(iso(latest.times)).toEqual(["2026-06-07T23:59:58.000Z", "2026-06-07T23:59:59.000Z", "2026-06-08T00:00:00.000Z"]);
    expect(latest.truncated).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("is empty when nothing fell due, and exact at the bounds: (after, until]", () => {
    expect(latestFireTimes("0 * * * *", "UTC", new Date("2026-06-01T10:00:00Z"), new Date("2026-06-01T10:59:59Z"), 3).times).toEqual([]);
    const bounds = latestFireTimes("0 * * * *", "UTC", new Date("2026-06-01T10:00:00Z"), new Date("2026-06-01T11:00:00Z"), 3);
    expect(iso(bounds.times)).toEqual(["2026-06-01T11:00:00.000Z"]);
  });

  it("never returns the second pass of a repeated local time (Berlin fall-back, 02:30 daily)", () => {
    // 2026-10-25: 02:30 CEST is 00:30Z, the repeated 02:30 CET would be 01:30Z.
    for (const until of ["2026-10-25T01:30:00.500Z", "2026-10-25T01:45:00Z", "2026-10-25T02:30:00Z"]) {
      const latest = latestFireTimes("30 2 * * *", "Europe/Berlin", new Date("2026-10-20T00:00:00Z"), new Date(until), 1);
      expect(iso(latest.times)).toEqual(["2026-10-25T00:30:00.000Z"]);
    }
    const week = latestFireTimes("30 2 * * *", "Europe/Berlin", new Date("2026-10-20T00:00:00Z"), new Date("2026-10-27T12:00:00Z"), 10);
    expect(iso(week.times)).toEqual([
      "2026-10-20T00:30:00.000Z",
      "2026-10-21T00:30:00.000Z",
      "2026-10-22T00:30:00.000Z",
      "2026-10-23T00:30:00.000Z",
      "2026-10-24T00:30:00.000Z",
      "2026-10-25T00:30:00.000Z",
      "2026-10-26T01:30:00.000Z",
      "2026-10-27T01:30:00.000Z",
    ]);
  });

  it("runs New York's 01:30 once on the fall-back day however the window falls", () => {
    // 2026-11-01: 01:30 EDT is 05:30Z; the repeated 01:30 EST would be 06:30Z.
    const latest = latestFireTimes("30 1 * * *", "America/New_York", new Date("2026-10-31T12:00:00Z"), new Date("2026-11-01T06:30:00.200Z"), 1);
    expect(iso(latest.times)).toEqual(["2026-11-01T05:30:00.000Z"]);
  });
});

describe("startOutsideRepeatedHour", () => {
  it("moves a start inside the second pass of a repeated hour to before its first pass", () => {
    expect(startOutsideRepeatedHour("Europe/Berlin", new Date("2026-10-25T01:15:00Z")).toISOString()).toBe("2026-10-24T23:59:59.999Z");
    expect(startOutsideRepeatedHour("Europe/Berlin", new Date("2026-10-25T02:15:00Z")).toISOString()).toBe("2026-10-25T02:15:00.000Z");
    expect(startOutsideRepeatedHour("Europe/Berlin", new Date("2026-10-25T00:15:00Z")).toISOString()).toBe("2026-10-25T00:15:00.000Z");
    expect(startOutsideRepeatedHour("UTC", new Date("2026-10-25T01:15:00Z")).toISOString()).toBe("2026-10-25T01:15:00.000Z");
  });
});
