/**
 * Redis streams as BullMQ uses them (the events stream): XADD with MAXLEN/MINID trimming,
 * XREAD, XRANGE/XREVRANGE, XLEN, XTRIM, XDEL. ioredis-mock's own version lets ids collide
 * after trimming, compares ids as strings and shares one "seen" flag across readers. Here a
 * stream remembers its last id (ids only grow) and readers keep their own position, as in
 * Redis. XREAD BLOCK waits in blocking.ts.
 */
import type { EmbeddedRedis } from "./client.ts";

export interface StreamValue {
  stream: true;
  entries: Array<[string, string[]]>;
  lastMs: number;
  lastSeq: number;
}

type Id = [number, number];

export function parseId(text: string, missingSeq = 0): Id {
  if (text === "-") return [0, 0];
  if (text === "+") return [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
  const exclusive = text.startsWith("(");
  const raw = exclusive ? text.slice(1) : text;
  const [ms, seq] = raw.split("-");
  const id: Id = [Number(ms), seq === undefined ? missingSeq : Number(seq)];
  if (!Number.isFinite(id[0]) || !Number.isFinite(id[1])) throw new Error("ERR Invalid stream ID specified as stream command argument");
  if (exclusive) id[1] += 1;
  return id;
}

export function compareIds(a: Id, b: Id): number {
  return a[0] - b[0] || a[1] - b[1];
}

export function getStream(client: EmbeddedRedis, key: string): StreamValue | undefined {
  const value = client.data.get(key);
  if (value === undefined) return undefined;
  if (!(value && typeof value === "object" && (value as StreamValue).stream)) {
    throw new Error("WRONGTYPE Operation against a key holding the wrong kind of value");
  }
  return value as StreamValue;
}

export function lastId(stream: StreamValue | undefined): string {
  return stream ? `${stream.lastMs}-${stream.lastSeq}` : "0-0";
}

/** Entries with an id strictly greater than `after`. */
export function entriesAfter(stream: StreamValue | undefined, after: string, count?: number): Array<[string, string[]]> {
  if (!stream) return [];
  const from = parseId(after);
  const result: Array<[string, string[]]> = [];
  // Entries are in id order; scan from the end for the common "only the newest" case.
  let start = stream.entries.length;
  while (start > 0 && compareIds(parseId(stream.entries[start - 1]![0]), from) > 0) start--;
  for (let i = start; i < stream.entries.length && (count === undefined || result.length < count); i++) result.push(stream.entries[i]!);
  return result;
}

/**
 * Redis trims `MAXLEN ~` only by whole radix-tree nodes (stream-node-max-entries, 100), so a
 * stream may hold up to that many entries more than asked. Trimming in the same steps keeps
 * BullMQ's per-event XADD from shifting a 10,000-entry array every time.
 */
const APPROXIMATE_TRIM_STEP = 100;

function trim(stream: StreamValue, strategy: string, threshold: string, approximate: boolean): number {
  const before = stream.entries.length;
  if (strategy === "MAXLEN") {
    const max = Number(threshold);
    const excess = stream.entries.length - max;
    if (excess > 0 && (!approximate || excess >= APPROXIMATE_TRIM_STEP)) stream.entries.splice(0, excess);
  } else {
    const min = parseId(threshold);
    let drop = 0;
    while (drop < stream.entries.length && compareIds(parseId(stream.entries[drop]![0]), min) < 0) drop++;
    stream.entries.splice(0, drop);
  }
  return before - stream.entries.length;
}

/** Reads `[MAXLEN|MINID [=|~] threshold [LIMIT n]]` at args[i]; returns the next index. */
function readTrim(args: string[], i: number): { strategy?: string; threshold?: string; approximate: boolean; next: number } {
  const word = args[i]?.toUpperCase();
  if (word !== "MAXLEN" && word !== "MINID") return { approximate: false, next: i };
  let at = i + 1;
  const approximate = args[at] === "~";
  if (approximate || args[at] === "=") at++;
  const threshold = args[at++];
  if (args[at]?.toUpperCase() === "LIMIT") at += 2;
  return { strategy: word, threshold, approximate, next: at };
}

function range(this: EmbeddedRedis, key: string, start: string, end: string, rest: string[], reverse: boolean) {
  const stream = getStream(this, key);
  if (!stream) return [];
  const low = parseId(start, 0);
  const high = parseId(end, Number.MAX_SAFE_INTEGER);
  let entries = stream.entries.filter(([id]) => compareIds(parseId(id), low) >= 0 && compareIds(parseId(id), high) <= 0);
  if (reverse) entries = entries.reverse();
  if (rest[0]?.toUpperCase() === "COUNT") entries = entries.slice(0, Number(rest[1]));
  return entries.map(([id, fields]) => [id, [...fields]]);
}

export const streamCommands: Record<string, (this: EmbeddedRedis, ...args: string[]) => unknown> = {
  xadd(key, ...args) {
    let i = 0;
    const noMkStream = args[i]?.toUpperCase() === "NOMKSTREAM";
    if (noMkStream) i++;
    const trimming = readTrim(args, i);
    i = trimming.next;
    const idText = args[i++]!;
    const fields = args.slice(i);
    if (fields.length === 0 || fields.length % 2 !== 0) throw new Error("ERR wrong number of arguments for 'xadd' command");
    let stream = getStream(this, key!);
    if (!stream) {
      if (noMkStream) return null;
      stream = { stream: true, entries: [], lastMs: 0, lastSeq: 0 };
    }
    let id: Id;
    if (idText === "*") {
      const now = Date.now();
      id = now > stream.lastMs ? [now, 0] : [stream.lastMs, stream.lastSeq + 1];
    } else if (idText.endsWith("-*")) {
      const ms = Number(idText.slice(0, -2));
      id = ms === stream.lastMs ? [ms, stream.lastSeq + 1] : [ms, 0];
    } else id = parseId(idText);
    if (compareIds(id, [stream.lastMs, stream.lastSeq]) <= 0) {
      throw new Error("ERR The ID specified in XADD is equal or smaller than the target stream top item");
    }
    [stream.lastMs, stream.lastSeq] = id;
    const text = `${id[0]}-${id[1]}`;
    stream.entries.push([text, fields]);
    if (trimming.strategy) trim(stream, trimming.strategy, trimming.threshold!, trimming.approximate);
    this.data.set(key!, stream);
    return text;
  },
  xtrim(key, ...args) {
    const stream = getStream(this, key!);
    const trimming = readTrim(args, 0);
    if (!trimming.strategy) throw new Error("ERR syntax error");
    if (!stream) return 0;
    const removed = trim(stream, trimming.strategy, trimming.threshold!, trimming.approximate);
    this.data.set(key!, stream);
    return removed;
  },
  xdel(key, ...ids) {
    const stream = getStream(this, key!);
    if (!stream) return 0;
    const drop = new Set(ids.map((id) => parseId(id).join("-")));
    const before = stream.entries.length;
    stream.entries = stream.entries.filter(([id]) => !drop.has(id));
    this.data.set(key!, stream);
    return before - stream.entries.length;
  },
  xlen(key) {
    return getStream(this, key!)?.entries.length ?? 0;
  },
  xrange(key, start, end, ...rest) {
    return range.call(this, key!, start!, end!, rest, false);
  },
  xrevrange(key, end, start, ...rest) {
    return range.call(this, key!, start!, end!, rest, true);
  },
  /** XREAD without BLOCK (the blocking form is in blocking.ts); `$` means "nothing yet". */
  xread(...args) {
    const request = parseXread(args);
    const reply = request.keys
      .map((key, index) => {
        const stream = getStream(this, key);
        const after = request.ids[index] === "$" ? lastId(stream) : request.ids[index]!;
        return [key, entriesAfter(stream, after, request.count).map(([id, fields]) => [id, [...fields]])] as const;
      })
      .filter(([, entries]) => entries.length > 0);
    return reply.length ? reply : null;
  },
};

export interface XreadRequest {
  count?: number;
  blockMs?: number;
  keys: string[];
  ids: string[];
}

export function parseXread(args: string[]): XreadRequest {
  const request: XreadRequest = { keys: [], ids: [] };
  let i = 0;
  while (i < args.length) {
    const word = args[i]!.toUpperCase();
    if (word === "COUNT") request.count = Number(args[i + 1]);
    else if (word === "BLOCK") request.blockMs = Number(args[i + 1]);
    else if (word === "STREAMS") {
      const rest = args.slice(i + 1);
      if (rest.length === 0 || rest.length % 2 !== 0) throw new Error("ERR Unbalanced 'xread' list of streams");
      request.keys = rest.slice(0, rest.length / 2);
      request.ids = rest.slice(rest.length / 2);
      return request;
    } else throw new Error("ERR syntax error");
    i += 2;
  }
  throw new Error("ERR syntax error");
}
