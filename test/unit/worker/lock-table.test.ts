import { describe, expect, it } from "bun:test";
import { LockTable, LockTableWriter } from "../../../src/worker/lock-table.ts";

describe("LockTable (running jobs shared with the lock-renewal thread)", () => {
  it("the reader's view of the same memory shows tracked jobs and drops untracked ones", () => {
    const writer = new LockTableWriter(4);
    const reader = new LockTable(writer.table.buffer);
    expect(writer.track({ queue: "q", jobId: "1", token: "t1" })).toBe(true);
    expect(writer.track({ queue: "llmctl_studio.ünï", jobId: "2", token: "t2" })).toBe(true);
    expect(reader.read().map(({ queue, jobId, token }) => ({ queue, jobId, token }))).toEqual([
      { queue: "q", jobId: "1", token: "t1" },
      { queue: "llmctl_studio.ünï", jobId: "2", token: "t2" },
    ]);
    expect(writer.untrack("q", "1")).toBe(true);
    expect(reader.read().map((entry) => entry.jobId)).toEqual(["2"]);
    expect(writer.untrack("q", "1")).toBe(false);
  });

  it("a reused slot gets a new generation, so a report about its old job is not repeated for the new one", () => {
    const writer = new LockTableWriter(1);
    const reader = new LockTable(writer.table.buffer);
    writer.track({ queue: "q", jobId: "1", token: "a" });
    const first = reader.read()[0]!;
    writer.untrack("q", "1");
    writer.track({ queue: "q", jobId: "2", token: "b" });
    const second = reader.read()[0]!;
    expect(second.slot).toBe(first.slot);
    expect(second.generation).not.toBe(first.generation);
  });

  it("refuses entries that are too long or beyond capacity, so the caller sends them by message", () => {
    const writer = new LockTableWriter(1);
    expect(writer.track({ queue: "q", jobId: "x".repeat(600), token: "t" })).toBe(false);
    expect(new LockTable(writer.table.buffer).read()).toEqual([]);
    expect(writer.track({ queue: "q", jobId: "1", token: "t" })).toBe(true);
    expect(writer.track({ queue: "q", jobId: "2", token: "t" })).toBe(false);
    expect(writer.has("q", "2")).toBe(false);
  });
});
