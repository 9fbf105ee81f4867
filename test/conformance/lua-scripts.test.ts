/**
 * Conformance of the Lua compiler (src/embedded/lua-compiler.ts): small scripts, each run with
 * EVAL on a private redis-server and on the embedded store, must give the same reply, or both an
 * error. Every script here except those marked `interpreted` must be compiled to JavaScript, so
 * this compares the compiled path with real Redis; the interpreted ones check the fallback.
 */
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import type { Redis } from "ioredis";
import { embeddedBackend, redisBackend, type BackendHandle } from "./backends.ts";

setDefaultTimeout(30_000);

interface Case {
  name: string;
  lua: string;
  keys?: string[];
  args?: Array<string | Buffer>;
  /** Redis' error text differs from ours ("… script: <sha>, on @user_script:1."): compare only that both fail. */
  errors?: boolean;
  /** A construct the compiler refuses on purpose: the script must run on fengari instead. */
  interpreted?: boolean;
}

const CASES: Case[] = [
  { name: "arithmetic", lua: "return 1 + 2 * 3 - 4 / 2" },
  { name: "tostring of numbers (%.14g)", lua: "return {tostring(1/3), tostring(10/2), tostring(1e15), tostring(1e100), tostring(-0.5), tostring(2^53), tostring(0.1 + 0.2), tostring(1e-5), tostring(123456789012345678), tostring(99999999999999), tostring(1e14), tostring(0.000123), tostring(123456789012.5), tostring(1/0), tostring(-1/0), tostring(123456789012345), tostring(1234567890123.25), tostring(1234567890123.75), tostring(-99999999999999.5)}" },
  { name: "beyond 32 bits", lua: "return {tostring(2^31 * 4 + 1), 2^40 + 3, -(2^33)}" },
  { name: "modulo and power", lua: "return {tostring(10 % 3), tostring(-7 % 3), tostring(7 % -3), tostring(2^10), tostring(5.5 % 2)}" },
  { name: "string to number coercion", lua: "return {'10' + 5, '0x10' + 0, ' 7 ' * 2, 10 .. 20, 1.5 .. '', -'3'}" },
  { name: "length of a byte string", lua: "return {#'héllo', #'a\\0b', '\\65\\066'}" },
  { name: "reply stops at the first nil", lua: "return {1, 2, nil, 4}" },
  { name: "border of a table", lua: "local t = {} t[1] = 1 t[2] = 2 t[3] = 3 t[5] = 5 local u = {1, 2, 3} u[#u] = nil local v = {nil, 2} return {#t, #u, #v}" },
  { name: "multiple results", lua: "local function f() return 1, 2, 3 end local a, b, c, d = f() return {a, b, c, d == nil and 'nil' or 'x'}" },
  { name: "multiple results in a constructor", lua: "local function f() return 1, 2 end return {f(), f()}" },
  { name: "parentheses keep one result", lua: "local function f() return 1, 2 end local function g() return (f()) end return {(f()), g()}" },
  { name: "varargs", lua: "local function n(...) return select('#', ...) end local function swap(...) local a, b = ... return b, a end return {n(1, nil, 3), n(nil, nil), n(), swap(1, 2)}" },
  { name: "unpack and select", lua: "return {select(2, unpack({'a', 'b', 'c'})), unpack({1, 2, 3}, 2)}" },
  { name: "pairs", lua: "local s = 0 for k, v in pairs({a = 1, b = 2, 3}) do s = s + v end return s" },
  { name: "ipairs stops at a nil", lua: "local r = {} for i, v in ipairs({'a', 'b', nil, 'd'}) do r[#r + 1] = v .. i end return r" },
  { name: "generic for with next", lua: "local n = 0 for k in next, {x = 1, y = 2} do n = n + 1 end return n" },
  { name: "numeric for", lua: "local s = 0 for i = 10, 1, -2 do s = s + i end local c = 0 for x = 0, 1, 0.25 do c = c + 1 end for i = 3, 1 do c = c + 100 end return {s, c}" },
  { name: "repeat sees the body's locals", lua: "local i = 0 repeat local j = i i = i + 1 until j >= 3 return i" },
  { name: "while and break", lua: "local n, i = 0, 0 while true do i = i + 1 if i > 3 then break end n = n + i end return n" },
  { name: "closures capture each iteration", lua: "local fs = {} for i = 1, 3 do fs[i] = function() return i end end local function counter() local n = 0 return function() n = n + 1 return n end end local c = counter() c() c() return {fs[1](), fs[2](), fs[3](), c()}" },
  { name: "assigning to loop variables", lua: "local r = {} for i = 1, 2 do i = i * 10 r[#r + 1] = i end for k, v in pairs({5}) do v = v + 1 r[#r + 1] = v end for _, v in ipairs({7}) do v = v .. 'x' r[#r + 1] = v end return r" },
  { name: "comments next to multiple results", lua: "local function f() return 1, 2 end return {f() -- one\n, (f() --[==[ two ]==] ), f() --[[ three ]]\n}" },
  { name: "shadowing locals", lua: "local x = 1 local x = x + 1 do local x = 10 end return x" },
  { name: "and / or values", lua: "return {nil or 'd', false and 1 or 2, 0 and 'zero is true', (nil and 1) == nil and 'n' or 'x'}" },
  { name: "string comparison is by bytes", lua: "return {('a' < 'b') and 1 or 0, ('Z' < 'a') and 1 or 0, ('10' < '9') and 1 or 0, ('' < 'a') and 1 or 0}" },
  { name: "pcall with an error table", lua: "local ok, e = pcall(function() error({code = 42}) end) return {tostring(ok), e.code}" },
  { name: "pcall with error messages", lua: "local ok1, e1 = pcall(error, 'plain') local ok2, e2 = pcall(function() error('boom') end) local ok3, e3 = pcall(function() error('nopos', 0) end) return {e1, e2, e3}" },
  { name: "pcall of a runtime error", lua: "local ok = pcall(function() local x = nil return x.y end) local ok2, v = pcall(function() return 7 end) return {tostring(ok), tostring(ok2), v}" },
  { name: "error at top level", lua: "error('top')", errors: true },
  { name: "runtime error at top level", lua: "local t = nil return t.x", errors: true },
  { name: "arithmetic on nil fails", lua: "return 1 + nil", errors: true },
  { name: "comparing a number with a string fails", lua: "return 1 < '2'", errors: true },
  { name: "string library", lua: "return {string.sub('hello', 2, -2), string.sub('hello', -3), string.sub('hello', 0), string.sub('hello', 4, 100), string.upper('abc'), string.lower('ABC'), string.len('abc'), string.rep('ab', 3), string.byte('A'), string.char(72, 105), string.reverse('abc')}" },
  { name: "string methods", lua: "local s = 'Hello' return {s:len(), s:sub(2, 3), s:upper(), ('x'):rep(2)}" },
  { name: "patterns", lua: "return {string.match('bull:q:123', '.*:(.*)'), string.find('a.b', '.', 1, true), string.find('abc', 'b()')}" },
  { name: "pattern captures", lua: "return {string.match('key:42', '(%a+):(%d+)')}" },
  { name: "find from a position", lua: "return {string.find('hello world', 'o', 6), string.find('hello', 'l', -2), string.find('abc', 'z') == nil and 1 or 0}" },
  { name: "string.format", lua: "return string.format('%06d|%s|%5.2f|%x|%d|%s|%.3f|%q', 42, 'hi', 3.14159, 255, 3.0, 1.5, 1/3, 'a\"b')" },
  { name: "cjson", lua: "local d = cjson.decode('{\"a\":[1,2,{\"b\":true}],\"n\":2.5}') return {cjson.encode({1, 2, 3}), cjson.encode({a = 1}), d.a[3].b and 1 or 0, tostring(d.n), cjson.encode(cjson.decode('[1.5,\"x\"]')), cjson.encode({})}" },
  { name: "cjson.decode of bad JSON fails", lua: "return cjson.decode('{')", errors: true },
  { name: "cmsgpack round trip", lua: "local t = cmsgpack.unpack(cmsgpack.pack({1, 2, {x = 'y'}})) return {t[2], t[3].x, #cmsgpack.pack('abc')}" },
  { name: "cmsgpack.unpack returns every packed value", lua: "local a, b = cmsgpack.unpack(cmsgpack.pack(1.5, 'x')) return {tostring(a), b}" },
  { name: "negative zero and huge results", lua: "return {tostring(-0.0), tostring(-0)}" },
  { name: "a result beyond 64 bits", lua: "return 2^63" },
  { name: "cmsgpack of ARGV bytes", lua: "local v = cmsgpack.unpack(ARGV[1]) return {v.name, v.n, #ARGV[2], string.byte(ARGV[2], 1), string.byte(ARGV[2], 3)}", args: [Buffer.from([0x82, 0xa4, 0x6e, 0x61, 0x6d, 0x65, 0xa3, 0x6a, 0x6f, 0x62, 0xa1, 0x6e, 0xcd, 0x01, 0x2c]), Buffer.from([0xff, 0x00, 0x80])] },
  { name: "bit", lua: "return {bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.lshift(1, 4), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.bnot(0), bit.tohex(255), bit.tobit(2^32 + 5)}" },
  { name: "math", lua: "return {math.floor(-3.5), math.ceil(3.2), math.max(3, 7, 5), math.min(3, 7, 5), math.abs(-4), tostring(math.sqrt(16)), tostring(math.huge), tostring(math.fmod(7, 3))}" },
  { name: "table library", lua: "local t = {'a', 'c'} table.insert(t, 2, 'b') table.insert(t, 'd') local r = table.remove(t, 1) local last = table.remove(t) return {table.concat(t, ','), r, last, #t}" },
  { name: "table.sort", lua: "local t = {3, 1, 2} table.sort(t) local u = {'b', 'c', 'a'} table.sort(u, function(a, b) return a > b end) return {t[1], t[2], t[3], u[1], u[2], u[3]}" },
  { name: "tonumber", lua: "return {tonumber('12'), tonumber('1e2'), tonumber('0x1F'), tonumber('  5  '), tonumber('5x') == nil and 1 or 0, tonumber('z', 36), tonumber('777', 8), tonumber('') == nil and 1 or 0, tonumber(nil) == nil and 1 or 0}" },
  { name: "type", lua: "return {type(nil), type(1), type('s'), type({}), type(type), type(true)}" },
  { name: "next on an emptied table", lua: "local t = {} t.x = 1 t.x = nil return next(t) == nil and 1 or 0" },
  { name: "return conversion", lua: "return {3.99, -3.99, true, 'x', {1, {2, 3}}, false}" },
  { name: "false returns nil", lua: "return false" },
  { name: "float result truncates", lua: "return -7.9" },
  { name: "error_reply", lua: "return redis.error_reply('MYCODE failed here')", errors: true },
  { name: "status_reply", lua: "return redis.status_reply('FINE')" },
  { name: "redis.call round trip", lua: "redis.call('SET', KEYS[1], ARGV[1]) return {redis.call('GET', KEYS[1]), #ARGV[1]}", keys: ["lua:k1"], args: ["ключ value"] },
  { name: "status replies are tables", lua: "local r = redis.call('SET', KEYS[1], 'x') return {r.ok, type(r)}", keys: ["lua:k2"] },
  { name: "nil reply is false", lua: "return {redis.call('GET', 'lua:missing') == false and 1 or 0, redis.call('EXISTS', 'lua:missing')}" },
  { name: "numbers as command arguments", lua: "redis.call('SET', KEYS[1], 10.5) redis.call('INCRBY', KEYS[2], 2^40) return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}", keys: ["lua:n1", "lua:n2"] },
  { name: "pcall error reply", lua: "redis.call('SET', KEYS[1], 'abc') local r = redis.pcall('INCR', KEYS[1]) return r.err", keys: ["lua:k3"] },
  { name: "call error raises", lua: "redis.call('SET', KEYS[1], 'abc') return redis.call('INCR', KEYS[1])", keys: ["lua:k4"], errors: true },
  { name: "pcall catches a failed call", lua: "redis.call('SET', KEYS[1], 'abc') local ok, e = pcall(redis.call, 'INCR', KEYS[1]) return {tostring(ok), e.err}", keys: ["lua:k5"] },
  { name: "bad argument type to redis.call", lua: "local r = redis.pcall('GET', {}) return r.err" },
  { name: "hash replies", lua: "redis.call('HSET', KEYS[1], 'f1', 'v1', 'f2', 'v2') local all = redis.call('HGETALL', KEYS[1]) return {#all, redis.call('HGET', KEYS[1], 'f2')}", keys: ["lua:h"] },
  { name: "zset replies", lua: "redis.call('ZADD', KEYS[1], 1, 'a', 2.5, 'b') return {redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES'), redis.call('ZSCORE', KEYS[1], 'b')}", keys: ["lua:z"] },
  { name: "list commands", lua: "redis.call('RPUSH', KEYS[1], 'a', 'b', 'c') return {redis.call('LRANGE', KEYS[1], 0, -1), redis.call('LPOP', KEYS[1]), redis.call('LLEN', KEYS[1])}", keys: ["lua:l"] },
  { name: "binary ARGV stays byte-exact", lua: "redis.call('SET', KEYS[1], ARGV[1]) return {#ARGV[1], redis.call('STRLEN', KEYS[1])}", keys: ["lua:b"], args: [Buffer.from([0xff, 0xfe, 0x00, 0x41])] },
  { name: "KEYS and ARGV lengths", lua: "return {#KEYS, #ARGV, KEYS[2], ARGV[3]}", keys: ["a", "b"], args: ["1", "2", "3"] },
  { name: "unknown global", lua: "return undefined_thing", errors: true, interpreted: true },
  { name: "setting a global", lua: "x = 1 return x", errors: true, interpreted: true },
  { name: "gsub runs interpreted", lua: "return (string.gsub('a-b-c', '-', '+'))", interpreted: true },
  { name: "sha1hex", lua: "return redis.sha1hex('abc')" },
];

type Outcome = { reply: unknown } | { error: string };

async function evaluate(client: Redis, testCase: Case): Promise<Outcome> {
  const keys = testCase.keys ?? [];
  try {
    return { reply: await client.eval(testCase.lua, keys.length, ...keys, ...(testCase.args ?? [])) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe("Lua scripts on the embedded store (compiled to JS) give Redis' replies", () => {
  let redis: BackendHandle;
  let embedded: BackendHandle;
  let redisClient: Redis;
  let embeddedClient: Redis;

  beforeAll(async () => {
    redis = await redisBackend.start();
    embedded = await embeddedBackend.start();
    redisClient = redis.connection();
    embeddedClient = embedded.connection();
  });

  afterAll(async () => {
    await redis?.stop();
    await embedded?.stop();
  });

  for (const testCase of CASES) {
    it(testCase.name, async () => {
      const expected = await evaluate(redisClient, testCase);
      const actual = await evaluate(embeddedClient, testCase);
      const runtime = (embeddedClient as unknown as { store: { lua: { load(source: string): string; isCompiled(sha: string): boolean | undefined } } }).store.lua;
      expect(runtime.isCompiled(runtime.load(testCase.lua))).toBe(!testCase.interpreted);
      if (testCase.errors) {
        expect("error" in expected).toBe(true);
        expect("error" in actual).toBe(true);
      } else expect(actual).toEqual(expected);
    });
  }
});
