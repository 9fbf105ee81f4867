/**
 * The libraries Redis preloads for scripts and BullMQ uses: cjson, cmsgpack and bit (LuaBitOp).
 * They are JS functions registered in the Lua VM; values cross with lua-values.ts.
 */
import { lua, to_luastring } from "fengari";
import { pack, Unpackr } from "msgpackr";
import { pushString, pushValue, toBytes, toValue } from "./lua-values.ts";

type LuaState = unknown;
type LuaFunction = (L: LuaState) => number;

function registerTable(L: LuaState, name: string, functions: Record<string, LuaFunction>): void {
  lua.lua_createtable(L, 0, Object.keys(functions).length);
  for (const [key, fn] of Object.entries(functions)) {
    lua.lua_pushjsfunction(L, fn);
    lua.lua_setfield(L, -2, to_luastring(key));
  }
  lua.lua_setglobal(L, to_luastring(name));
}

/** cjson.encode writes integral numbers without a fraction, as cjson's %.14g does. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, (_key, item) => (Array.isArray(item) && item.length === 0 ? {} : item)) ?? "null";
}

// msgpackr must give plain objects (not Maps) and must not pack its own record extension,
// which cmsgpack in Redis would not understand.
const unpacker = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** cmsgpack.unpack returns every value packed in the string, as Redis' does. */
export function unpackAll(bytes: Uint8Array): unknown[] {
  return unpacker.unpackMultiple(Buffer.from(bytes)) as unknown[];
}

function bitArg(L: LuaState, index: number): number {
  return lua.lua_tonumber(L, index) | 0;
}

function bitResult(L: LuaState, value: number): number {
  lua.lua_pushinteger(L, value | 0);
  return 1;
}

export function openRedisLibraries(L: LuaState): void {
  registerTable(L, "cjson", {
    encode: (state) => {
      pushString(state, encodeJson(toValue(state, 1)));
      return 1;
    },
    decode: (state) => {
      let decoded: unknown;
      try {
        decoded = JSON.parse(new TextDecoder().decode(toBytes(state, 1)));
      } catch (error) {
        pushString(state, `cjson.decode: ${(error as Error).message}`);
        return lua.lua_error(state);
      }
      pushValue(state, decoded);
      return 1;
    },
  });
  registerTable(L, "cmsgpack", {
    pack: (state) => {
      const count = lua.lua_gettop(state);
      const parts: Uint8Array[] = [];
      for (let i = 1; i <= count; i++) parts.push(pack(toValue(state, i)));
      pushString(state, Buffer.concat(parts));
      return 1;
    },
    unpack: (state) => {
      let values: unknown[];
      try {
        values = unpackAll(toBytes(state, 1));
      } catch (error) {
        pushString(state, `cmsgpack.unpack: ${(error as Error).message}`);
        return lua.lua_error(state);
      }
      for (const value of values) pushValue(state, value);
      return values.length;
    },
  });
  registerTable(L, "bit", {
    tobit: (s) => bitResult(s, bitArg(s, 1)),
    bnot: (s) => bitResult(s, ~bitArg(s, 1)),
    band: (s) => bitResult(s, reduceBits(s, (a, b) => a & b)),
    bor: (s) => bitResult(s, reduceBits(s, (a, b) => a | b)),
    bxor: (s) => bitResult(s, reduceBits(s, (a, b) => a ^ b)),
    lshift: (s) => bitResult(s, bitArg(s, 1) << (bitArg(s, 2) & 31)),
    rshift: (s) => bitResult(s, bitArg(s, 1) >>> (bitArg(s, 2) & 31)),
    arshift: (s) => bitResult(s, bitArg(s, 1) >> (bitArg(s, 2) & 31)),
    tohex: (s) => {
      const digits = lua.lua_gettop(s) >= 2 ? bitArg(s, 2) : 8;
      const hex = (bitArg(s, 1) >>> 0).toString(16).padStart(8, "0").slice(-Math.min(8, Math.abs(digits) || 8));
      pushString(s, digits < 0 ? hex.toUpperCase() : hex);
      return 1;
    },
  });
}

function reduceBits(L: LuaState, op: (a: number, b: number) => number): number {
  let result = bitArg(L, 1);
  for (let i = 2; i <= lua.lua_gettop(L); i++) result = op(result, bitArg(L, i));
  return result;
}
