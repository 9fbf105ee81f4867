import { afterEach, describe, expect, it } from "bun:test";
import { openEmbeddedStore, type EmbeddedStore } from "../../../src/embedded/index.ts";

let store: EmbeddedStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe("embedded streams", () => {
  it("keeps ids growing after trimming and reports TYPE stream", async () => {
    store = await openEmbeddedStore();
    const redis = store.connect();
    const first = (await redis.xadd("s", "MAXLEN", "~", "1", "*", "a", "1"))!;
    const second = (await redis.xadd("s", "MAXLEN", "~", "1", "*", "a", "2"))!;
    const third = (await redis.xadd("s", "MAXLEN", "1", "*", "a", "3"))!;
    expect(new Set([first, second, third]).size).toBe(3);
    expect(await redis.xlen("s")).toBe(1);
    expect(await redis.type("s")).toBe("stream");
    await expect(redis.xadd("s", "1-0", "a", "x")).rejects.toThrow(/equal or smaller/);
    expect(await redis.xadd("s", "99999999999999-5", "a", "4")).toBe("99999999999999-5");
    expect(await redis.xtrim("s", "MAXLEN", "0")).toBe(2);
  });

  it("trims MAXLEN ~ in steps of whole nodes, as Redis does, and never below the threshold", async () => {
    store = await openEmbeddedStore();
    const redis = store.connect();
    const lengths: number[] = [];
    for (let i = 0; i < 400; i++) {
      await redis.xadd("s", "MAXLEN", "~", "50", "*", "i", String(i));
      lengths.push(await redis.xlen("s"));
    }
    expect(Math.min(...lengths.slice(50))).toBeGreaterThanOrEqual(50);
    expect(Math.max(...lengths)).toBeLessThan(150);
    const newest = await redis.xrevrange("s", "+", "-", "COUNT", 1);
    expect(newest[0]![1]).toEqual(["i", "399"]);
  });

  it("lets every reader see every entry, and XREAD BLOCK wakes with only the new ones", async () => {
    store = await openEmbeddedStore();
    const writer = store.connect();
    const readerA = store.connect();
    const readerB = store.connect();
    await writer.xadd("s", "*", "event", "old");
    const a = readerA.xread("BLOCK", 1000, "STREAMS", "s", "$");
    const b = readerB.xread("BLOCK", 1000, "STREAMS", "s", "$");
    await Bun.sleep(10);
    const id = await writer.xadd("s", "*", "event", "new");
    for (const reply of [await a, await b]) expect(reply).toEqual([["s", [[id!, ["event", "new"]]]]]);
    const all = await readerA.xread("STREAMS", "s", "0");
    expect(all![0]![1].length).toBe(2);
    expect(await readerA.xread("BLOCK", 30, "STREAMS", "s", id!)).toBeNull();
  });

  it("compares ids numerically and deletes entries with XDEL", async () => {
    store = await openEmbeddedStore();
    const redis = store.connect();
    await redis.xadd("s", "9-0", "n", "9");
    await redis.xadd("s", "10-0", "n", "10");
    expect((await redis.xrange("s", "-", "+")).map(([id]) => id)).toEqual(["9-0", "10-0"]);
    expect(await redis.xread("STREAMS", "s", "9-0")).toEqual([["s", [["10-0", ["n", "10"]]]]]);
    expect(await redis.xdel("s", "9-0")).toBe(1);
    expect((await redis.xrevrange("s", "+", "-")).map(([id]) => id)).toEqual(["10-0"]);
  });
});
