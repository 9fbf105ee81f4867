/**
 * The values and libraries that Lua scripts compiled to JavaScript (lua-compiler.ts) run with.
 * Lua 5.1 as Redis has it: numbers are doubles, strings are byte strings — here JS strings
 * whose characters are bytes 0–255 ("binary" strings), so msgpack payloads stay byte-exact and
 * comparisons, `#` and string.sub work on bytes — and tables are LuaTable.
 * Pattern matching and string.format run on the store's fengari VM (`fengariCall`), so they
 * behave exactly as on the interpreted path.
 */
import { pack } from "msgpackr";
import { encodeJson, unpackAll } from "./lua-libs.ts";

/** Several values, as returned by a function (`return a, b`) or by `...`. */
export class Multi {
  constructor(readonly values: unknown[]) {}
}

export const NONE = new Multi([]);

/** A value raised with `error()`, or by the runtime with a "user_script:LINE:" message. */
export class LuaError extends Error {
  constructor(readonly value: unknown) {
    super(typeof value === "string" ? value : "Lua error");
  }
}

/**
 * A failed redis.call. Redis raises its message: pcall returns it as a string, and uncaught it
 * becomes the script's error reply as it is.
 */
export class CommandFailed extends LuaError {}

/** A runaway script stopped by the deadline; unlike LuaError, pcall does not catch it. */
export class ScriptKilled extends Error {}

export class LuaTable {
  /** Keys 1..arr.length; holes (undefined) only strictly inside. */
  arr: unknown[] = [];
  hash: Map<unknown, unknown> | undefined;
  readonly = false;

  get(key: unknown): unknown {
    if (typeof key === "number") {
      const arr = this.arr;
      if (key >= 1 && key <= arr.length && Number.isInteger(key)) return arr[key - 1];
    }
    return this.hash?.get(key);
  }

  set(key: unknown, value: unknown): void {
    if (this.readonly) throw new LuaError(`Attempt to modify a readonly table: ${typeof key === "string" ? key : "?"}`);
    if (typeof key === "number") {
      if (key !== key) throw new LuaError("table index is NaN");
      const arr = this.arr;
      if (Number.isInteger(key) && key >= 1 && key <= arr.length + 1) {
        if (key === arr.length + 1) {
          if (value === undefined) {
            this.hash?.delete(key);
            return;
          }
          arr.push(value);
          this.hash?.delete(key);
          this.migrate();
        } else if (value === undefined && key === arr.length) {
          arr.pop();
          while (arr.length > 0 && arr[arr.length - 1] === undefined) arr.pop();
        } else arr[key - 1] = value;
        return;
      }
    } else if (key === undefined) throw new LuaError("table index is nil");
    if (value === undefined) this.hash?.delete(key);
    else (this.hash ??= new Map()).set(key, value);
  }

  /** Moves n+1, n+2, … from the hash part to the array part once the array reaches them. */
  private migrate(): void {
    const hash = this.hash;
    if (!hash || hash.size === 0) return;
    let next = this.arr.length + 1;
    while (hash.has(next)) {
      this.arr.push(hash.get(next));
      hash.delete(next);
      next++;
    }
  }

  /** The `#` border: the array part's length, or Lua 5.1's binary search when it ends in a hole. */
  length(): number {
    const arr = this.arr;
    let n = arr.length;
    if (n > 0 && arr[n - 1] === undefined) {
      let low = 0;
      while (n - low > 1) {
        const middle = (low + n) >>> 1;
        if (arr[middle - 1] === undefined) n = middle;
        else low = middle;
      }
      return low;
    }
    return n;
  }

  /** Keys with a non-nil value, array part first: the order pairs() and next() walk. */
  keys(): unknown[] {
    const keys: unknown[] = [];
    for (let i = 0; i < this.arr.length; i++) if (this.arr[i] !== undefined) keys.push(i + 1);
    if (this.hash) for (const key of this.hash.keys()) keys.push(key);
    return keys;
  }
}

export function tableOf(values: unknown[]): LuaTable {
  const table = new LuaTable();
  while (values.length > 0 && values[values.length - 1] === undefined) values.pop();
  table.arr = values;
  return table;
}

// ---- strings: bytes as characters 0–255 -------------------------------------------------

const NON_ASCII = /[^\x00-\x7f]/;

/** A JS (UTF-16) string as a Lua byte string: its UTF-8 bytes. */
export function luaString(value: string): string {
  return NON_ASCII.test(value) ? Buffer.from(value, "utf8").toString("latin1") : value;
}

export function luaBytes(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1");
}

/** A Lua byte string read as UTF-8, as the interpreted path's toJsString does. */
export function jsString(value: string): string {
  return NON_ASCII.test(value) ? Buffer.from(value, "latin1").toString("utf8") : value;
}

export function byteArray(value: string): Buffer {
  return Buffer.from(value, "latin1");
}

// ---- numbers -------------------------------------------------------------------------------

/** Lua 5.1's tostring of a number, C's "%.14g". */
export function numberToString(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e14) return Object.is(n, -0) ? "-0" : String(n);
  if (n !== n) return "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  const [digits, exponent] = fourteenDigits(Math.abs(n));
  const sign = n < 0 ? "-" : "";
  if (exponent < -4 || exponent >= 14) {
    const fraction = digits.slice(1).replace(/0+$/, "");
    return `${sign}${digits[0]}${fraction ? `.${fraction}` : ""}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const integer = exponent >= 0 ? digits.slice(0, exponent + 1) : "0";
  const fraction = (exponent >= 0 ? digits.slice(exponent + 1) : "0".repeat(-exponent - 1) + digits).replace(/0+$/, "");
  return `${sign}${integer}${fraction ? `.${fraction}` : ""}`;
}

/**
 * The 14 significant digits and decimal exponent of a positive double, rounded as C's printf
 * rounds: to nearest, ties to even (JS's toExponential breaks exact ties upwards).
 */
function fourteenDigits(n: number): [string, number] {
  const [mantissa, exponentText] = n.toExponential(40).split("e") as [string, string];
  const all = mantissa.replace(".", "");
  const rest = all.slice(14);
  if (/^50*$/.test(rest)) {
    let head = all.slice(0, 14);
    let exponent = Number(exponentText);
    if (Number(head[13]) % 2 === 1) {
      head = String(BigInt(head) + 1n);
      if (head.length > 14) {
        head = head.slice(0, 14);
        exponent++;
      }
    }
    return [head, exponent];
  }
  const [rounded, roundedExponent] = n.toExponential(13).split("e") as [string, string];
  return [rounded.replace(".", ""), Number(roundedExponent)];
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;
const SPECIAL = /^[+-]?(inf|infinity|nan)$/i;

/** Lua 5.1's string → number (strtod, or hex), surrounding whitespace allowed; undefined if not a number. */
export function stringToNumber(text: string): number | undefined {
  const trimmed = text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, "");
  if (DECIMAL.test(trimmed)) return Number(trimmed);
  if (HEX.test(trimmed)) return parseInt(trimmed.slice(2), 16);
  if (SPECIAL.test(trimmed)) return /nan/i.test(trimmed) ? NaN : trimmed.startsWith("-") ? -Infinity : Infinity;
  return undefined;
}

/**
 * A Lua number as Redis replies it: truncated to a 64-bit integer; out of range or NaN gives
 * what the C cast gives on x86, the minimum integer.
 */
export function toReplyInteger(n: number): number {
  const truncated = Math.trunc(n);
  return truncated >= -(2 ** 63) && truncated < 2 ** 63 ? truncated : -(2 ** 63);
}

export function typeName(value: unknown): string {
  if (value === undefined) return "nil";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return "number";
  if (typeof value === "string") return "string";
  if (value instanceof LuaTable) return "table";
  if (typeof value === "function") return "function";
  return "userdata";
}

export function truthy(value: unknown): boolean {
  return value !== undefined && value !== false;
}

export function first(value: unknown): unknown {
  return value instanceof Multi ? value.values[0] : value;
}

export function all(value: unknown): unknown[] {
  return value instanceof Multi ? value.values : [value];
}

let identities = 0;
const identityOf = new WeakMap<object, number>();

export function toLuaString(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return numberToString(value);
  if (value === undefined) return "nil";
  if (typeof value === "boolean") return value ? "true" : "false";
  const object = value as object;
  let id = identityOf.get(object);
  if (id === undefined) identityOf.set(object, (id = ++identities));
  return `${typeName(value)}: 0x${id.toString(16).padStart(8, "0")}`;
}

// ---- conversions with JSON-like JS values (cjson, cmsgpack), as lua-values.ts does for fengari ----

export function toPlainValue(value: unknown, depth = 0): unknown {
  if (depth > 100) throw new LuaError("ERR reached the maximum nesting depth converting a Lua table");
  if (value === undefined) return null;
  if (typeof value === "string") return jsString(value);
  if (!(value instanceof LuaTable)) return typeof value === "function" ? null : value;
  const keys = value.keys();
  const isArray = keys.length > 0 && keys.every((key) => typeof key === "number") &&
    (keys as number[]).slice().sort((a, b) => a - b).every((key, i) => key === i + 1);
  if (isArray) return (keys as number[]).map((key) => toPlainValue(value.get(key), depth + 1));
  return Object.fromEntries(keys.map((key) => [typeof key === "string" ? jsString(key) : String(key), toPlainValue(value.get(key), depth + 1)]));
}

export function fromPlainValue(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return luaString(value);
  if (value instanceof Uint8Array) return luaBytes(value);
  if (typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return tableOf(value.map(fromPlainValue));
  const table = new LuaTable();
  if (value instanceof Map) for (const [key, item] of value) table.set(fromPlainValue(key), fromPlainValue(item));
  else if (typeof value === "object") {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) table.set(luaString(key), fromPlainValue(item));
  }
  return table;
}

// ---- the libraries ------------------------------------------------------------------------

type LuaFunction = (...args: any[]) => unknown;

function readonlyTable(functions: Record<string, unknown>): LuaTable {
  const table = new LuaTable();
  for (const [name, value] of Object.entries(functions)) table.set(name, value);
  table.readonly = true;
  return table;
}

function argumentError(position: number, name: string, expected: string, got: unknown): LuaError {
  return new LuaError(`bad argument #${position} to '${name}' (${expected} expected, got ${typeName(got)})`);
}

export function checkNumber(value: unknown, position: number, name: string): number {
  if (typeof value === "number") return value;
  const converted = typeof value === "string" ? stringToNumber(value) : undefined;
  if (converted === undefined) throw argumentError(position, name, "number", value);
  return converted;
}

function checkInteger(value: unknown, position: number, name: string): number {
  const n = checkNumber(value, position, name);
  return n >= 0 ? Math.floor(n) : Math.ceil(n);
}

function optInteger(value: unknown, position: number, name: string, fallback: number): number {
  return value === undefined ? fallback : checkInteger(value, position, name);
}

function checkString(value: unknown, position: number, name: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return numberToString(value);
  throw argumentError(position, name, "string", value);
}

function checkTable(value: unknown, position: number, name: string): LuaTable {
  if (value instanceof LuaTable) return value;
  throw argumentError(position, name, "table", value);
}

/** Lua's relative string positions: negative counts from the end. */
function position(index: number, length: number): number {
  return index >= 0 ? index : Math.max(0, length + index + 1);
}

const PATTERN_SPECIALS = /[\^$*+?.()[\]%-]/;

export interface LibraryHooks {
  /** Runs string.<name> of the fengari VM on plain arguments (strings, numbers, booleans, nil). */
  fengariString(name: string, args: unknown[]): unknown;
  redisCall(args: unknown[], protectedCall: boolean): unknown;
  sha1hex(text: string): string;
}

export function sortTable(table: LuaTable, compare: unknown): void {
  const n = table.length();
  const values = table.arr.slice(0, n);
  const before = typeof compare === "function"
    ? (a: unknown, b: unknown) => truthy(first((compare as LuaFunction)(a, b)))
    : (a: unknown, b: unknown) => lessThan(a, b);
  values.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  for (let i = 0; i < n; i++) table.set(i + 1, values[i]);
}

export function lessThan(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return a < b;
  if (typeof a === "string" && typeof b === "string") return a < b;
  throw compareError(a, b);
}

export function lessOrEqual(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return a <= b;
  if (typeof a === "string" && typeof b === "string") return a <= b;
  throw compareError(a, b);
}

function compareError(a: unknown, b: unknown): LuaError {
  const [left, right] = [typeName(a), typeName(b)];
  return new LuaError(left === right ? `attempt to compare two ${left} values` : `attempt to compare ${left} with ${right}`);
}

export function next(table: unknown, key: unknown): unknown {
  const t = checkTable(table, 1, "next");
  const keys = t.keys();
  let at = 0;
  if (key !== undefined) {
    at = keys.indexOf(key) + 1;
    if (at === 0) throw new LuaError("invalid key to 'next'");
  }
  for (; at < keys.length; at++) {
    const value = t.get(keys[at]);
    if (value !== undefined) return new Multi([keys[at], value]);
  }
  return undefined;
}

export function unpackTable(table: unknown, from?: unknown, to?: unknown): Multi {
  const t = checkTable(table, 1, "unpack");
  const start = optInteger(from, 2, "unpack", 1);
  const end = optInteger(to, 3, "unpack", t.length());
  if (start > end) return NONE;
  if (end - start >= 8_000_000) throw new LuaError("too many results to unpack");
  const values = new Array(end - start + 1);
  for (let i = start; i <= end; i++) values[i - start] = t.get(i);
  return new Multi(values);
}

export function createLibraries(hooks: LibraryHooks) {
  const string = {
    len: (s: unknown) => checkString(s, 1, "len").length,
    sub: (s: unknown, i?: unknown, j?: unknown) => {
      const text = checkString(s, 1, "sub");
      let start = position(optInteger(i, 2, "sub", 1), text.length);
      let end = position(optInteger(j, 3, "sub", -1), text.length);
      if (start < 1) start = 1;
      if (end > text.length) end = text.length;
      return start > end ? "" : text.slice(start - 1, end);
    },
    upper: (s: unknown) => checkString(s, 1, "upper").replace(/[a-z]+/g, (part) => part.toUpperCase()),
    lower: (s: unknown) => checkString(s, 1, "lower").replace(/[A-Z]+/g, (part) => part.toLowerCase()),
    rep: (s: unknown, n: unknown) => {
      const count = checkInteger(n, 2, "rep");
      return count > 0 ? checkString(s, 1, "rep").repeat(count) : "";
    },
    reverse: (s: unknown) => [...checkString(s, 1, "reverse")].reverse().join(""),
    byte: (s: unknown, i?: unknown, j?: unknown) => {
      const text = checkString(s, 1, "byte");
      const start = Math.max(1, position(optInteger(i, 2, "byte", 1), text.length));
      const end = Math.min(text.length, position(j === undefined ? start : checkInteger(j, 3, "byte"), text.length));
      const codes: number[] = [];
      for (let k = start; k <= end; k++) codes.push(text.charCodeAt(k - 1));
      return new Multi(codes);
    },
    char: (...codes: unknown[]) => String.fromCharCode(...codes.map((code, index) => {
      const value = checkInteger(code, index + 1, "char");
      if (value < 0 || value > 255) throw new LuaError(`bad argument #${index + 1} to 'char' (invalid value)`);
      return value;
    })),
    find: (s: unknown, pattern: unknown, init?: unknown, plain?: unknown) => {
      const text = checkString(s, 1, "find");
      const needle = checkString(pattern, 2, "find");
      if (truthy(plain) || !PATTERN_SPECIALS.test(needle)) {
        let start = position(optInteger(init, 3, "find", 1), text.length);
        if (start < 1) start = 1;
        if (start > text.length + 1) return undefined;
        const at = text.indexOf(needle, start - 1);
        return at < 0 ? undefined : new Multi([at + 1, at + needle.length]);
      }
      return hooks.fengariString("find", [text, needle, init, plain]);
    },
    match: (s: unknown, pattern: unknown, init?: unknown) => hooks.fengariString("match", [checkString(s, 1, "match"), checkString(pattern, 2, "match"), init]),
    format: (...args: unknown[]) => hooks.fengariString("format", args),
  };
  const table = {
    insert: (...args: unknown[]) => {
      const t = checkTable(args[0], 1, "insert");
      const n = t.length();
      if (args.length === 2) t.set(n + 1, args[1]);
      else if (args.length === 3) {
        const at = checkInteger(args[1], 2, "insert");
        if (at === n + 1 || at > n) t.set(at, args[2]);
        else if (at >= 1 && t.arr.length === n) {
          t.arr.splice(at - 1, 0, args[2]);
        } else {
          for (let i = n; i >= at; i--) t.set(i + 1, t.get(i));
          t.set(at, args[2]);
        }
      } else throw new LuaError("wrong number of arguments to 'insert'");
      return NONE;
    },
    remove: (list: unknown, at?: unknown) => {
      const t = checkTable(list, 1, "remove");
      const n = t.length();
      if (n === 0) return undefined;
      const index = optInteger(at, 2, "remove", n);
      const removed = t.get(index);
      for (let i = index; i < n; i++) t.set(i, t.get(i + 1));
      t.set(n, undefined);
      return removed;
    },
    concat: (list: unknown, separator?: unknown, from?: unknown, to?: unknown) => {
      const t = checkTable(list, 1, "concat");
      const sep = separator === undefined ? "" : checkString(separator, 2, "concat");
      const start = optInteger(from, 3, "concat", 1);
      const end = optInteger(to, 4, "concat", t.length());
      const parts: string[] = [];
      for (let i = start; i <= end; i++) {
        const value = t.get(i);
        if (typeof value !== "string" && typeof value !== "number") throw new LuaError(`invalid value (at index ${i}) in table for 'concat'`);
        parts.push(toLuaString(value));
      }
      return parts.join(sep);
    },
    sort: (list: unknown, compare?: unknown) => {
      sortTable(checkTable(list, 1, "sort"), compare);
      return NONE;
    },
    getn: (list: unknown) => checkTable(list, 1, "getn").length(),
  };
  const math = {
    floor: (x: unknown) => Math.floor(checkNumber(x, 1, "floor")),
    ceil: (x: unknown) => Math.ceil(checkNumber(x, 1, "ceil")),
    abs: (x: unknown) => Math.abs(checkNumber(x, 1, "abs")),
    sqrt: (x: unknown) => Math.sqrt(checkNumber(x, 1, "sqrt")),
    pow: (x: unknown, y: unknown) => Math.pow(checkNumber(x, 1, "pow"), checkNumber(y, 2, "pow")),
    fmod: (x: unknown, y: unknown) => checkNumber(x, 1, "fmod") % checkNumber(y, 2, "fmod"),
    max: (...xs: unknown[]) => {
      let best = checkNumber(xs[0], 1, "max");
      for (let i = 1; i < xs.length; i++) best = Math.max(best, checkNumber(xs[i], i + 1, "max"));
      return best;
    },
    min: (...xs: unknown[]) => {
      let best = checkNumber(xs[0], 1, "min");
      for (let i = 1; i < xs.length; i++) best = Math.min(best, checkNumber(xs[i], i + 1, "min"));
      return best;
    },
    huge: Infinity,
    pi: Math.PI,
  };
  const cjson = {
    encode: (value: unknown) => luaString(encodeJson(toPlainValue(value))),
    decode: (text: unknown) => {
      let decoded: unknown;
      try {
        decoded = JSON.parse(jsString(checkString(text, 1, "decode")));
      } catch (error) {
        throw new LuaError(luaString(`cjson.decode: ${(error as Error).message}`));
      }
      return fromPlainValue(decoded);
    },
  };
  const cmsgpack = {
    pack: (...values: unknown[]) => luaBytes(Buffer.concat(values.map((value) => pack(toPlainValue(value))))),
    unpack: (bytes: unknown) => {
      let values: unknown[];
      try {
        values = unpackAll(byteArray(checkString(bytes, 1, "unpack")));
      } catch (error) {
        throw new LuaError(luaString(`cmsgpack.unpack: ${(error as Error).message}`));
      }
      return values.length === 1 ? fromPlainValue(values[0]) : new Multi(values.map(fromPlainValue));
    },
  };
  const bitArg = (value: unknown, index: number) => checkNumber(value, index, "bit") | 0;
  const reduceBits = (op: (a: number, b: number) => number) => (...xs: unknown[]) => {
    let result = bitArg(xs[0], 1);
    for (let i = 1; i < xs.length; i++) result = op(result, bitArg(xs[i], i + 1));
    return result;
  };
  const bit = {
    tobit: (x: unknown) => bitArg(x, 1),
    bnot: (x: unknown) => ~bitArg(x, 1),
    band: reduceBits((a, b) => a & b),
    bor: reduceBits((a, b) => a | b),
    bxor: reduceBits((a, b) => a ^ b),
    lshift: (x: unknown, n: unknown) => bitArg(x, 1) << (bitArg(n, 2) & 31),
    rshift: (x: unknown, n: unknown) => (bitArg(x, 1) >>> (bitArg(n, 2) & 31)) | 0,
    arshift: (x: unknown, n: unknown) => bitArg(x, 1) >> (bitArg(n, 2) & 31),
    tohex: (x: unknown, n?: unknown) => {
      const digits = n === undefined ? 8 : bitArg(n, 2);
      const hex = (bitArg(x, 1) >>> 0).toString(16).padStart(8, "0").slice(-Math.min(8, Math.abs(digits) || 8));
      return digits < 0 ? hex.toUpperCase() : hex;
    },
  };
  const redis = {
    call: (...args: unknown[]) => hooks.redisCall(args, false),
    pcall: (...args: unknown[]) => hooks.redisCall(args, true),
    error_reply: (message: unknown) => readonlyFree({ err: message }),
    status_reply: (message: unknown) => readonlyFree({ ok: message }),
    sha1hex: (text: unknown) => hooks.sha1hex(checkString(text, 1, "sha1hex")),
    log: () => NONE,
    setresp: () => NONE,
    set_repl: () => NONE,
    replicate_commands: () => true,
    LOG_DEBUG: 0, LOG_VERBOSE: 1, LOG_NOTICE: 2, LOG_WARNING: 3,
    REPL_ALL: 3, REPL_AOF: 1, REPL_SLAVE: 2, REPL_REPLICA: 2, REPL_NONE: 0,
  };
  const libraries = { string, table, math, cjson, cmsgpack, bit, redis };
  return {
    members: libraries as Record<string, Record<string, unknown>>,
    tables: Object.fromEntries(Object.entries(libraries).map(([name, functions]) => [name, readonlyTable(functions)])) as Record<string, LuaTable>,
  };
}

function readonlyFree(fields: Record<string, unknown>): LuaTable {
  const table = new LuaTable();
  for (const [key, value] of Object.entries(fields)) table.set(key, value);
  return table;
}
