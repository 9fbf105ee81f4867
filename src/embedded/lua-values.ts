/**
 * Moving values between JavaScript and the fengari Lua VM without fengari-interop: interop
 * hands Buffers to Lua as userdata and JS arrays as proxies, while Redis gives scripts plain
 * byte strings and tables. Lua strings are byte arrays here, so msgpack payloads in ARGV stay
 * binary-safe.
 */
import { lua } from "fengari";

type LuaState = unknown;

const encoder = new TextEncoder();

/** Pushes a byte string (a Buffer stays byte-exact, a JS string is UTF-8 encoded natively). */
export function pushString(L: LuaState, value: string | Uint8Array): void {
  lua.lua_pushstring(L, typeof value === "string" ? encoder.encode(value) : value);
}

/** Lua 5.1 (Redis) numbers are doubles; fengari keeps 32-bit integers apart from floats. */
export function pushNumber(L: LuaState, value: number): void {
  if (Number.isInteger(value) && (value | 0) === value) lua.lua_pushinteger(L, value);
  else lua.lua_pushnumber(L, value);
}

/** A JS value (decoded JSON or msgpack) as a Lua value: arrays and objects become tables, null becomes nil. */
export function pushValue(L: LuaState, value: unknown): void {
  if (value === null || value === undefined) lua.lua_pushnil(L);
  else if (typeof value === "string" || value instanceof Uint8Array) pushString(L, value);
  else if (typeof value === "number") pushNumber(L, value);
  else if (typeof value === "bigint") lua.lua_pushnumber(L, Number(value));
  else if (typeof value === "boolean") lua.lua_pushboolean(L, value);
  else if (Array.isArray(value)) {
    lua.lua_createtable(L, value.length, 0);
    value.forEach((item, index) => {
      pushValue(L, item);
      lua.lua_rawseti(L, -2, index + 1);
    });
  } else if (value instanceof Map) {
    lua.lua_createtable(L, 0, value.size);
    for (const [key, item] of value) {
      pushValue(L, key);
      pushValue(L, item);
      lua.lua_rawset(L, -3);
    }
  } else if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    lua.lua_createtable(L, 0, entries.length);
    for (const [key, item] of entries) {
      pushString(L, key);
      pushValue(L, item);
      lua.lua_rawset(L, -3);
    }
  } else lua.lua_pushnil(L);
}

/** The raw bytes of the Lua string (or number, converted as Lua would) at `index`. */
export function toBytes(L: LuaState, index: number): Uint8Array {
  return lua.lua_tolstring(L, index);
}

// Buffer's utf8Slice decodes like TextDecoder (same replacement characters) at about half the
// cost per call, which matters for the many short strings of every redis.call.
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(this: Uint8Array, start: number, end: number): string }).utf8Slice;

/** Bun's native decoder is several times faster than fengari's to_jsstring loop. */
export function toJsString(L: LuaState, index: number): string {
  const bytes: Uint8Array = lua.lua_tolstring(L, index);
  return utf8Slice.call(bytes, 0, bytes.length);
}

/**
 * A Lua value as JSON-like JS: a table whose keys are exactly 1..n becomes an array (an empty
 * table an object, as cjson encodes it), other tables objects with string keys.
 */
export function toValue(L: LuaState, index: number, depth = 0): unknown {
  if (depth > 100) throw new Error("ERR reached the maximum nesting depth converting a Lua table");
  const at = lua.lua_absindex(L, index);
  switch (lua.lua_type(L, at)) {
    case lua.LUA_TNIL:
      return null;
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, at);
    case lua.LUA_TNUMBER:
      return lua.lua_tonumber(L, at);
    case lua.LUA_TSTRING:
      return toJsString(L, at);
    case lua.LUA_TTABLE: {
      const entries: Array<[unknown, unknown]> = [];
      lua.lua_pushnil(L);
      while (lua.lua_next(L, at) !== 0) {
        const key = lua.lua_type(L, -2) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -2) : toJsString(L, -2);
        entries.push([key, toValue(L, -1, depth + 1)]);
        lua.lua_pop(L, 1);
      }
      const isArray = entries.length > 0 && entries.every(([key]) => typeof key === "number") &&
        entries.map(([key]) => key as number).sort((a, b) => a - b).every((key, i) => key === i + 1);
      if (isArray) {
        const array: unknown[] = [];
        for (const [key, item] of entries) array[(key as number) - 1] = item;
        return array;
      }
      return Object.fromEntries(entries.map(([key, item]) => [String(key), item]));
    }
    default:
      return null;
  }
}
