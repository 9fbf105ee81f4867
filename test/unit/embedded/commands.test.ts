import { afterEach, describe, expect, it } from "bun:test";
import { openEmbeddedStore, type EmbeddedStore } from "../../../src/embedded/index.ts";

let store: EmbeddedStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

async function open() {
  store = await openEmbeddedStore();
  return store;
}

describe("embedded commands", () => {
  it("blocks BZPOPMIN until a write, and wakes it only after the running script finished", async () => {
    const s = await open();
    const waiter = s.connect();
    const writer = s.connect();
    const order: string[] = [];
    const popped = waiter.bzpopmin("z", 0).then((reply) => {
      order.push("woken");
      return reply;
    });
    await Bun.sleep(20);
    expect(order).toEqual([]);
    // The script adds then removes-and-readds; a waiter woken mid-script would see a partial state.
    await writer.eval("redis.call('ZADD', KEYS[1], 5, 'a'); redis.call('ZADD', KEYS[1], 1, 'b'); return 1", 1, "z");
    order.push("script done");
    expect(await popped).toEqual(["z", "b", "1"]);
    expect(order).toEqual(["script done", "woken"]);
  });

  it("times out BZPOPMIN with null and ends it on disconnect", async () => {
    const s = await open();
    const client = s.connect();
    expect(await client.bzpopmin("none", 0.05)).toBeNull();
    const pending = client.bzpopmin("none", 0);
    client.disconnect();
    await expect(pending).rejects.toThrow(/closed/);
  });

  it("answers CLIENT SETNAME, GETNAME, ID and LIST", async () => {
    const s = await open();
    const a = s.connect({ name: "first" });
    const b = s.connect();
    await b.client("SETNAME", "second");
    expect(await b.client("GETNAME")).toBe("second");
    expect(typeof (await a.client("ID"))).toBe("number");
    const list = (await a.client("LIST")) as string;
    expect(list).toContain("name=first ");
    expect(list).toContain("name=second ");
    expect(await a.client("SETINFO", "LIB-NAME", "x")).toBe("OK");
  });

  it("deletes emptied lists and zsets, as Redis does", async () => {
    const s = await open();
    const redis = s.connect();
    await redis.rpush("l", "a");
    await redis.lpop("l");
    await redis.zadd("z", 1, "m");
    await redis.zrem("z", "m");
    expect(await redis.exists("l", "z")).toBe(0);
    expect(await redis.type("l")).toBe("none");
  });

  it("parses float and exclusive score bounds and supports ZADD GT/LT", async () => {
    const s = await open();
    const redis = s.connect();
    await redis.zadd("z", 1.5, "a", 2, "b", 3, "c");
    expect(await redis.zrangebyscore("z", "(1.5", "+inf")).toEqual(["b", "c"]);
    expect(await redis.zrangebyscore("z", "-inf", "2.5", "WITHSCORES")).toEqual(["a", "1.5", "b", "2"]);
    await redis.zadd("z", "GT", 1, "c");
    await redis.zadd("z", "LT", 1, "b");
    expect(await redis.zscore("z", "c")).toBe("3");
    expect(await redis.zscore("z", "b")).toBe("1");
    expect(await redis.zpopmin("z")).toEqual(["b", "1"]);
    expect(await redis.zlexcount("z", "-", "+")).toBe(2);
  });

  it("refuses INCR on a non-number and answers TIME in seconds and microseconds", async () => {
    const s = await open();
    const redis = s.connect();
    await redis.set("k", "abc");
    await expect(redis.incr("k")).rejects.toThrow(/not an integer/);
    const [seconds, micros] = (await redis.time()) as unknown as [string, string];
    expect(Math.abs(Number(seconds) - Date.now() / 1000)).toBeLessThan(2);
    expect(Number(micros)).toBeLessThan(1_000_000);
  });

  it("answers zset reads in a pipeline and in MULTI as it does directly (BullMQ's getDependencies)", async () => {
    const client = (await open()).connect();
    await client.zadd("z", 1, "a", 2, "b");
    await client.hset("h", "f", "v");
    const direct = [await client.hgetall("h"), await client.zrange("z", "0", "-1"), await client.zrange("z", "0", "-1", "WITHSCORES")];
    const piped = await client.pipeline().hgetall("h").zrange("z", "0", "-1").zrange("z", "0", "-1", "WITHSCORES").exec();
    const transaction = await client.multi().hgetall("h").zrange("z", "0", "-1").zrange("z", "0", "-1", "WITHSCORES").exec();
    expect(piped!.map(([error, reply]) => [error, reply])).toEqual(direct.map((reply) => [null, reply]));
    expect(transaction!.map(([error, reply]) => [error, reply])).toEqual(direct.map((reply) => [null, reply]));
    expect(direct[2]).toEqual(["a", "1", "b", "2"]);
  });

  it("keeps status, reconnects after disconnect and duplicates into the same store", async () => {
    const s = await open();
    const redis = s.connect();
    expect(redis.status).toBe("ready");
    redis.disconnect();
    expect(redis.status).toBe("end");
    await redis.connect();
    await redis.set("k", "v");
    const copy = redis.duplicate();
    expect(await copy.get("k")).toBe("v");
    expect(copy.constructor).toBe(redis.constructor);
  });
});

describe("embedded zset ranges", () => {
  it("answers ZRANGE, ZREVRANGE and ZREMRANGEBYRANK by rank, also after changes", async () => {
    const s = await open();
    const redis = s.connect();
    await redis.zadd("z", 3, "c", 1, "a", 2, "b", 2, "aa");
    expect(await redis.zrange("z", "0", "-1")).toEqual(["a", "aa", "b", "c"]);
    expect(await redis.zrange("z", "-2", "-1", "WITHSCORES")).toEqual(["b", "2", "c", "3"]);
    expect(await redis.zrevrange("z", "0", "1")).toEqual(["c", "b"]);
    await redis.zadd("z", 0, "first");
    expect(await redis.zrange("z", "0", "0")).toEqual(["first"]);
    expect(await redis.zremrangebyrank("z", 0, 1)).toBe(2);
    expect(await redis.zrange("z", "0", "-1")).toEqual(["aa", "b", "c"]);
    expect(await redis.zrange("z", "5", "10")).toEqual([]);
  });
});
