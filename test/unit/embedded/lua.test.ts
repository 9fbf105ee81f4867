import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "bun:test";
import { pack } from "msgpackr";
import { openEmbeddedStore, type EmbeddedStore } from "../../../src/embedded/index.ts";

let store: EmbeddedStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

async function client() {
  store = await openEmbeddedStore();
  return store.connect();
}

describe("embedded Lua runtime", () => {
  it("does arithmetic beyond 32 bits as Redis' doubles do", async () => {
    const redis = await client();
    expect(await redis.eval("return tostring(math.floor(1700000000123/1000)*1000)", 0)).toBe("1700000000000");
    expect(await redis.eval("return tostring(0x100000000)", 0)).toBe("4294967296");
    expect(await redis.eval("return 2147483647 + 1", 0)).toBe(2147483648);
    expect(await redis.eval("return tostring(3.0)", 0)).toBe("3");
  });

  it("converts redis.call replies by Redis' rules", async () => {
    const redis = await client();
    await redis.set("s", "v");
    expect(await redis.eval("return redis.call('TYPE', KEYS[1])['ok']", 1, "s")).toBe("string");
    expect(await redis.eval("return redis.call('GET', 'missing') == false and 1 or 0", 0)).toBe(1);
    expect(await redis.eval("local r = redis.call('SET', 'a', '1'); return r.ok", 0)).toBe("OK");
    await redis.rpush("l", "x", "y");
    expect(await redis.eval("local t = redis.call('LRANGE', 'l', 0, -1); return #t", 0)).toBe(2);
    await redis.hset("h", "f", "1");
    expect(await redis.eval("return redis.call('HGETALL', 'h')", 0)).toEqual(["f", "1"]);
  });

  it("converts script return values by Redis 7's rules", async () => {
    const redis = await client();
    expect(await redis.eval("return 3.99", 0)).toBe(3);
    expect(await redis.eval("return {1, 'a', nil, 'b'}", 0)).toEqual([1, "a"]);
    expect(await redis.eval("return false", 0)).toBeNull();
    expect(await redis.eval("return redis.status_reply('FINE')", 0)).toBe("FINE");
    await expect(redis.eval("return redis.error_reply('MYERR bad')", 0)).rejects.toThrow("MYERR bad");
    await redis.set("word", "abc");
    expect(await redis.eval("local r = redis.pcall('INCR', 'word'); return r.err", 0)).toBe("ERR value is not an integer or out of range");
    expect(await redis.get("word")).toBe("abc");
  });

  it("passes Buffers in ARGV as byte strings and decodes them with cmsgpack", async () => {
    const redis = await client();
    const packed = pack({ id: "x", n: 5, list: [1, 2] });
    expect(await redis.eval("local o = cmsgpack.unpack(ARGV[1]); return o.id .. o.n .. #o.list", 0, packed)).toBe("x52");
    expect(await redis.eval("return cjson.encode(cjson.decode(ARGV[1]))", 0, '{"a":[1,2],"b":"c"}')).toBe('{"a":[1,2],"b":"c"}');
    expect(await redis.eval("return bit.band(12, 10) + bit.bor(1, 2)", 0)).toBe(11);
  });

  it("makes globals read-only and undefined globals an error, as Redis 7 does", async () => {
    const redis = await client();
    await expect(redis.eval("x = 1", 0)).rejects.toThrow(/readonly/);
    await expect(redis.eval("return undefinedThing", 0)).rejects.toThrow(/nonexistent global/);
    expect(await redis.eval("local y = 2; return y", 0)).toBe(2);
  });

  it("compiles a script once and gives each call a fresh environment", async () => {
    const redis = await client();
    redis.defineCommand("counter", { numberOfKeys: 0, lua: "local n = (ARGV[1] or '0') return n" });
    const sha = (await redis.script("LOAD", "return ARGV[1]")) as string;
    expect(await redis.evalsha(sha, 0, "a")).toBe("a");
    expect(await redis.evalsha(sha, 0, "b")).toBe("b");
    expect(await redis.script("EXISTS", sha)).toEqual([1]);
    await expect(redis.evalsha("0".repeat(40), 0)).rejects.toThrow(/NOSCRIPT/);
  });

  it("stops a runaway script with a BUSY error and keeps working", async () => {
    store = await openEmbeddedStore({ scriptTimeoutMs: 50 });
    const redis = store.connect();
    const started = Date.now();
    await expect(redis.eval("while true do end", 0)).rejects.toThrow(/BUSY/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await redis.eval("return 1", 0)).toBe(1);
  });

  it("stops a runaway compiled script even inside pcall, in a repeat loop and in recursion-free nested loops", async () => {
    store = await openEmbeddedStore({ scriptTimeoutMs: 50 });
    const redis = store.connect();
    for (const script of [
      "while true do pcall(function() end) end",
      "pcall(function() repeat local x = 1 until false end) return 1",
      "local n = 0 for i = 1, 1e12 do for j = 1, 2 do n = n + j end end return n",
    ]) {
      const started = Date.now();
      await expect(redis.eval(script, 0)).rejects.toThrow(/BUSY/);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    expect(await redis.eval("return 2", 0)).toBe(2);
  });

  it("runs BullMQ's scripts compiled to JavaScript, and what the compiler refuses on fengari", async () => {
    store = await openEmbeddedStore();
    const redis = store.connect();
    const runtime = (redis as unknown as { store: { lua: { load(source: string): string; isCompiled(sha: string): boolean | undefined } } }).store.lua;
    const scriptsDir = join(dirname(require.resolve("bullmq/package.json")), "dist/cjs/scripts");
    const refused: string[] = [];
    for (const file of readdirSync(scriptsDir).filter((name) => /^[a-zA-Z]+-\d+\.js$/.test(name))) {
      const module = require(join(scriptsDir, file)) as Record<string, { content?: string }>;
      const script = Object.values(module).find((value) => typeof value?.content === "string");
      if (script && !runtime.isCompiled(runtime.load(script.content!))) refused.push(file);
    }
    expect(refused).toEqual([]);
    expect(runtime.isCompiled(runtime.load("return string.gsub('a', 'a', 'b')"))).toBe(false);
    expect(await redis.eval("return (string.gsub('a-b', '-', '+'))", 0)).toBe("a+b");
  });
});
