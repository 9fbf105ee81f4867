/**
 * Commands ioredis-mock lacks or answers differently from Redis, as synchronous emulators
 * (`this` is the calling EmbeddedRedis). They are used by clients, pipelines and scripts alike.
 */
import RedisMock from "ioredis-mock";
import type { EmbeddedRedis } from "./client.ts";
import { StatusReply } from "./lua-runtime.ts";
import { streamCommands } from "./streams.ts";

type Emulator = (this: EmbeddedRedis, ...args: string[]) => unknown;

import { compareZEntries, type ZEntry } from "./dataset.ts";

/** Redis score syntax: "-inf", "+inf", "(1.5" (exclusive), floats — not integers only. */
export function parseScoreBound(text: string): { value: number; exclusive: boolean } {
  const exclusive = text.startsWith("(");
  const raw = exclusive ? text.slice(1) : text;
  const value = /^[+]?inf$/i.test(raw) ? Infinity : /^-inf$/i.test(raw) ? -Infinity : Number(raw);
  if (Number.isNaN(value)) throw new Error("ERR min or max is not a float");
  return { value, exclusive };
}

function formatScore(score: number): string {
  return score === Infinity ? "inf" : score === -Infinity ? "-inf" : String(score);
}

/** Redis rank arguments: negative counts from the end; the result is clamped like Redis does. */
function rankRange(length: number, startText: string, stopText: string): [number, number] {
  let start = Number(startText);
  let stop = Number(stopText);
  if (!Number.isInteger(start) || !Number.isInteger(stop)) throw new Error("ERR value is not an integer or out of range");
  if (start < 0) start = Math.max(0, length + start);
  if (stop < 0) stop = length + stop;
  return [start, Math.min(stop, length - 1)];
}

function sortedMembers(this: EmbeddedRedis, key: string): ZEntry[] {
  return this.data.get(key) instanceof Map ? this.store.dataset.sortedZset(key) : [];
}

function rankSlice(this: EmbeddedRedis, key: string, startText: string, stopText: string, reverse: boolean): ZEntry[] {
  const sorted = sortedMembers.call(this, key);
  const [start, stop] = rankRange(sorted.length, startText, stopText);
  if (start > stop) return [];
  if (!reverse) return sorted.slice(start, stop + 1);
  return sorted.slice(sorted.length - 1 - stop, sorted.length - start).reverse();
}

/** Where `entry` goes in `sorted` (binary search by score, then member). */
function insertionPoint(sorted: ZEntry[], entry: ZEntry): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareZEntries(sorted[middle]!, entry) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

function withScores(entries: ZEntry[], options: string[]): string[] {
  return options.some((o) => o.toUpperCase() === "WITHSCORES") ? entries.flatMap((e) => [e.value, formatScore(e.score)]) : entries.map((e) => e.value);
}

function popMin(this: EmbeddedRedis, key: string, countText?: string): string[] {
  const map = this.data.get(key) as Map<string, ZEntry> | undefined;
  if (!(map instanceof Map)) return [];
  const count = countText === undefined ? 1 : Number(countText);
  const popped = this.store.dataset.sortedZset(key).slice(0, count);
  for (const entry of popped) map.delete(entry.value);
  this.store.dataset.setZsetSorted(key, map, (sorted) => void sorted.splice(0, popped.length));
  return popped.flatMap((entry) => [entry.value, formatScore(entry.score)]);
}

let clientIds = 0;

export const embeddedCommands: Record<string, Emulator> = {
  ...streamCommands,
  zpopmin: popMin,

  zrange(key, start, stop, ...options) {
    if (options.some((o) => /^(BYSCORE|BYLEX|REV|LIMIT)$/i.test(o))) return RedisMock.commands.zrange!.call(this, key, start, stop, ...options);
    return withScores(rankSlice.call(this, key!, start!, stop!, false), options);
  },
  zrevrange(key, start, stop, ...options) {
    return withScores(rankSlice.call(this, key!, start!, stop!, true), options);
  },
  zremrangebyrank(key, startText, stopText) {
    const [start, stop] = rankRange(sortedMembers.call(this, key!).length, startText!, stopText!);
    if (start > stop) return 0;
    const map = this.data.get(key) as Map<string, ZEntry>;
    const doomed = this.store.dataset.sortedZset(key!).slice(start, stop + 1);
    for (const entry of doomed) map.delete(entry.value);
    this.store.dataset.setZsetSorted(key!, map, (sorted) => void sorted.splice(start, doomed.length));
    return doomed.length;
  },

  zlexcount(key, min, max) {
    const map = this.data.get(key) as Map<string, ZEntry> | undefined;
    if (!(map instanceof Map)) return 0;
    const inRange = (value: string, bound: string, lower: boolean) => {
      if (bound === "-") return lower;
      if (bound === "+") return !lower;
      const edge = bound.slice(1);
      const cmp = value < edge ? -1 : value > edge ? 1 : 0;
      if (bound[0] === "[") return lower ? cmp >= 0 : cmp <= 0;
      if (bound[0] === "(") return lower ? cmp > 0 : cmp < 0;
      throw new Error("ERR min or max not valid string range item");
    };
    let count = 0;
    for (const value of map.keys()) if (inRange(value, min!, true) && inRange(value, max!, false)) count++;
    return count;
  },

  zadd(key, ...args) {
    const flags = new Set<string>();
    while (args.length && /^(NX|XX|GT|LT|CH|INCR)$/i.test(args[0]!)) flags.add(args.shift()!.toUpperCase());
    if (args.length === 0 || args.length % 2 !== 0) throw new Error("ERR syntax error");
    const existing = this.data.get(key);
    if (existing !== undefined && !(existing instanceof Map)) throw new Error("WRONGTYPE Operation against a key holding the wrong kind of value");
    const map: Map<string, ZEntry> = existing ?? new Map();
    let added = 0;
    let changed = 0;
    let last: number | null = null;
    const updates: Array<[ZEntry | undefined, ZEntry]> = [];
    for (let i = 0; i < args.length; i += 2) {
      const score = parseScoreBound(args[i]!).value;
      const value = args[i + 1]!;
      const current = map.get(value);
      if (current ? flags.has("NX") : flags.has("XX")) continue;
      const next = flags.has("INCR") ? (current?.score ?? 0) + score : score;
      if (current && ((flags.has("GT") && !(next > current.score)) || (flags.has("LT") && !(next < current.score)))) continue;
      if (!current) added++;
      else if (current.score !== next) changed++;
      const entry = { score: next, value };
      map.set(value, entry);
      updates.push([current, entry]);
      last = next;
    }
    this.store.dataset.setZsetSorted(key!, map, (sorted) => {
      for (const [previous, entry] of updates) {
        // Members are unique, so the search lands exactly on the previous entry.
        if (previous) sorted.splice(insertionPoint(sorted, previous), 1);
        sorted.splice(insertionPoint(sorted, entry), 0, entry);
      }
    });
    if (flags.has("INCR")) return last === null ? null : formatScore(last);
    return flags.has("CH") ? added + changed : added;
  },

  zrangebyscore(key, min, max, ...options) {
    return rangeByScore.call(this, key, min!, max!, options, false);
  },
  zrevrangebyscore(key, max, min, ...options) {
    return rangeByScore.call(this, key, min!, max!, options, true);
  },
  zcount(key, min, max) {
    return rangeByScore.call(this, key, min!, max!, [], false).length;
  },
  zremrangebyscore(key, min, max) {
    const members = rangeByScore.call(this, key, min!, max!, [], false);
    const map = this.data.get(key) as Map<string, ZEntry> | undefined;
    if (!map) return 0;
    for (const member of members) map.delete(member);
    this.data.set(key, map);
    return members.length;
  },

  incr(key) {
    return incrementBy.call(this, key!, 1);
  },
  incrby(key, by) {
    return incrementBy.call(this, key!, Number(by));
  },

  time() {
    const now = Date.now();
    const micro = Math.floor(performance.now() * 1000) % 1000;
    return [String(Math.floor(now / 1000)), String((now % 1000) * 1000 + micro)];
  },

  type(key) {
    if (!this.data.has(key)) return new StatusReply("none");
    const value = this.data.get(key);
    if (value instanceof Map) return new StatusReply("zset");
    if (value instanceof Set) return new StatusReply("set");
    if (Array.isArray(value)) return new StatusReply("list");
    if (value && typeof value === "object" && (value as { stream?: unknown }).stream) return new StatusReply("stream");
    if (typeof value === "object" && !(value instanceof Uint8Array)) return new StatusReply("hash");
    return new StatusReply("string");
  },

  client(subcommand, ...args) {
    switch (subcommand?.toUpperCase()) {
      case "SETNAME":
        this.clientName = args[0] ?? "";
        return new StatusReply("OK");
      case "GETNAME":
        return this.clientName || null;
      case "ID":
        return this.clientId;
      case "SETINFO":
        return new StatusReply("OK");
      case "LIST":
        return this.store.describeClients();
      default:
        throw new Error(`ERR unknown subcommand '${subcommand}'. Try CLIENT HELP.`);
    }
  },

  script(subcommand, ...args) {
    switch (subcommand?.toUpperCase()) {
      case "LOAD":
        return this.store.lua.load(args[0]!);
      case "EXISTS":
        return args.map((sha) => (this.store.lua.has(sha) ? 1 : 0));
      case "FLUSH":
        this.store.lua.flush();
        return new StatusReply("OK");
      default:
        throw new Error(`ERR unknown subcommand '${subcommand}'. Try SCRIPT HELP.`);
    }
  },

  evalsha(sha, numberOfKeys, ...args) {
    return this.runScript(sha!, Number(numberOfKeys), args);
  },
  eval(source, numberOfKeys, ...args) {
    return this.runScript(this.store.lua.load(source!), Number(numberOfKeys), args);
  },
};

export function nextClientId(): number {
  return ++clientIds;
}

function incrementBy(this: EmbeddedRedis, key: string, by: number): number {
  const current = this.data.get(key);
  const value = current === undefined ? 0 : Number(String(current));
  if (!Number.isSafeInteger(value) || /[^-0-9]/.test(String(current ?? "0"))) {
    throw new Error("ERR value is not an integer or out of range");
  }
  const next = value + by;
  this.data.set(key, String(next));
  return next;
}

function rangeByScore(this: EmbeddedRedis, key: string, min: string, max: string, options: string[], reverse: boolean): string[] {
  const map = this.data.get(key) as Map<string, ZEntry> | undefined;
  if (!(map instanceof Map)) return [];
  const low = parseScoreBound(min);
  const high = parseScoreBound(max);
  let entries = this.store.dataset.sortedZset(key).filter(({ score }) =>
    (low.exclusive ? score > low.value : score >= low.value) && (high.exclusive ? score < high.value : score <= high.value));
  if (reverse) entries.reverse();
  const upper = options.map((o) => o.toUpperCase());
  const limitAt = upper.indexOf("LIMIT");
  if (limitAt >= 0) {
    const offset = Number(options[limitAt + 1]);
    const count = Number(options[limitAt + 2]);
    entries = entries.slice(offset, count < 0 ? undefined : offset + count);
  }
  return withScores(entries, options);
}
