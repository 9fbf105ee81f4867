import { describe, expect, it } from "bun:test";
import { checkCron, dstAnomalies, formatLocal, isValidTimezone, nextFireTimes } from "../../../src/config/cron.ts";

const YEAR_FROM = new Date("2026-11-22T00:00:00Z");
const YEAR_TO = new Date("2027-11-22T00:00:00Z");

describe("cron", () => {
  it("names the field at fault", () => {
    expect(checkCron("61 2 * * *")?.field).toBe("minute");
    expect(checkCron("0 2 * 13 *")?.field).toBe("month");
    expect(checkCron("0 2 * * 8")?.field).toBe("day-of-week");
    expect(checkCron("99 0 2 * * *")?.field).toBe("second");
    expect(checkCron("0 0 30 2 *")?.message).toContain("can never fire");
    expect(checkCron("@daily")).toBeUndefined();
    expect(checkCron("@sometimes")?.message).toContain("not a known macro");
  });

  it("tells IANA zones from offsets and typos", () => {
    expect(isValidTimezone("Europe/Berlin")).toBe(true);
    expect(isValidTimezone("UTC")).toBe(true);
    expect(isValidTimezone("+01:00")).toBe(false);
    expect(isValidTimezone("Mars/Olympus")).toBe(false);
  });

  it("runs a 02:30 Berlin job once on the spring-forward day, at 03:30 CEST", () => {
    const times = nextFireTimes("30 2 * * *", "Europe/Berlin", new Date("2027-03-27T00:00:00Z"), 3).map((d) => formatLocal(d, "Europe/Berlin"));
    expect(times).toEqual(["2027-03-27 02:30:00 +01:00", "2027-03-28 03:30:00 +02:00", "2027-03-29 02:30:00 +02:00"]);
  });

  it("runs a 01:30 New York job once on the fall-back day, at the first occurrence", () => {
    const times = nextFireTimes("30 1 * * *", "America/New_York", new Date("2027-11-06T12:00:00Z"), 2).map((d) => d.toISOString());
    expect(times).toEqual(["2027-11-07T05:30:00.000Z", "2027-11-08T06:30:00.000Z"]);
  });

  it("finds the skipped and repeated local times of a schedule within a year", () => {
    expect(dstAnomalies("30 2 * * *", "America/New_York", YEAR_FROM, YEAR_TO)).toEqual([{ kind: "skipped", date: "2027-03-14", localTimes: ["02:30"] }]);
    expect(dstAnomalies("0 1 * * *", "America/New_York", YEAR_FROM, YEAR_TO)).toEqual([{ kind: "repeated", date: "2027-11-07", localTimes: ["01:00"] }]);
    expect(dstAnomalies("0 3 * * *", "Europe/Berlin", YEAR_FROM, YEAR_TO)).toEqual([]);
    expect(dstAnomalies("*/5 * * * *", "Europe/Berlin", YEAR_FROM, YEAR_TO)).toEqual([]);
  });
});
