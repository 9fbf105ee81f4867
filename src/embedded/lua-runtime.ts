/**
 * One Lua VM per store. Each script is compiled once (keyed by SHA1, as SCRIPT LOAD does) and
 * run with a fresh environment per call, so nothing leaks between calls — ioredis-mock instead
 * builds a new VM and re-parses the script on every call (1–13 ms each).
 *
 * Redis semantics kept here: redis.call/pcall reply conversion, script return conversion
 * (Redis 7 rules), read-only globals, and a BUSY-style stop for runaway scripts.
 *
 * A script is first compiled to JavaScript (lua-compiler.ts, about four times less CPU per
 * BullMQ job than fengari's interpreter); only what that compiler refuses is compiled and run
 * by fengari. Both paths share the command bridge and the reply rules.
 */
import { createHash } from "node:crypto";
import { lauxlib, lua, lualib, to_luastring } from "fengari";
import { CommandFailed, createLibraries, first, jsString, toReplyInteger, luaBytes, luaString, LuaTable, tableOf, byteArray } from "./lua-compiled.ts";
import {
  baseHelpers, compileScript, CompileRefused, LuaError, Multi, ScriptKilled, TICKS_PER_CLOCK_CHECK, type CompiledOperations,
  type CompiledScript,
} from "./lua-compiler.ts";
import { openRedisLibraries } from "./lua-libs.ts";
import { pushNumber, pushString, toBytes, toJsString } from "./lua-values.ts";

type LuaState = unknown;

/** A status reply ("+OK"): Lua sees it as {ok="OK"}, a client as the plain string. */
export class StatusReply {
  constructor(readonly status: string) {}
}

/** Runs one Redis command synchronously inside a script; throws for an error reply. */
export type CommandExecutor = (args: Array<string | Buffer>) => unknown;

export class ScriptError extends Error {}

const BOOTSTRAP = `
local base = _G
local call, pcall_js = __llmctl_call, nil
__llmctl_call = nil
local redis = {}
redis.call = function(...)
  local ok, reply = call(...)
  if not ok then error(reply, 2) end
  return reply
end
redis.pcall = function(...)
  local ok, reply = call(...)
  if not ok then return reply end
  return reply
end
redis.error_reply = function(message) return { err = message } end
redis.status_reply = function(message) return { ok = message } end
redis.sha1hex = __llmctl_sha1hex
__llmctl_sha1hex = nil
redis.log = function() end
redis.setresp = function() end
redis.set_repl = function() end
redis.replicate_commands = function() return true end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_ALL, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_NONE = 3, 1, 2, 2, 0
base.redis = redis
base.unpack = base.unpack or table.unpack
base.loadstring = base.loadstring or load

-- Redis 7: reading an undefined global raises, and scripts cannot create or change globals.
local readonly = {
  __index = function(_, name)
    local value = base[name]
    if value == nil then error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2) end
    return value
  end,
  __newindex = function(_, name) error("Attempt to modify a readonly table: " .. tostring(name), 2) end,
}
local setupvalue = debug.setupvalue
return function(fn, keys, argv)
  local env = setmetatable({ KEYS = keys, ARGV = argv }, readonly)
  setupvalue(fn, 1, env)
  return fn()
end
`;

/** Commands whose replies are status replies in Redis (Lua sees {ok=...}). */
const STATUS_COMMANDS = new Set([
  "set", "setex", "psetex", "mset", "hmset", "ltrim", "lset", "rename", "flushdb", "flushall",
  "select", "ping", "type", "restore", "quit", "xgroup", "client", "multi", "watch", "unwatch", "discard",
]);

export interface ScriptTimeout {
  ms: number;
}

/** How the command executor answered a redis.call: a reply, or the error message Redis would give. */
type CommandOutcome = { ok: true; reply: unknown } | { ok: false; message: string };

export class LuaRuntime {
  private readonly L: LuaState;
  /** sha1 → registry reference of the chunk compiled by fengari (scripts the JS compiler refused). */
  private readonly compiled = new Map<string, number>();
  /** sha1 → the script compiled to JavaScript (lua-compiler.ts). */
  private readonly javascript = new Map<string, CompiledScript>();
  private readonly sources = new Map<string, string>();
  private readonly runnerRef: number;
  private executor: CommandExecutor | undefined;
  private deadline = 0;
  private readonly operations: CompiledOperations;
  private readonly helpers: ReturnType<typeof baseHelpers>;

  constructor(private readonly timeout: ScriptTimeout) {
    const L = lauxlib.luaL_newstate();
    this.L = L;
    lualib.luaL_openlibs(L);
    openRedisLibraries(L);
    lua.lua_pushjsfunction(L, (state: LuaState) => this.callFromLua(state));
    lua.lua_setglobal(L, to_luastring("__llmctl_call"));
    lua.lua_pushjsfunction(L, (state: LuaState) => {
      pushString(state, sha1(Buffer.from(toBytes(state, 1))));
      return 1;
    });
    lua.lua_setglobal(L, to_luastring("__llmctl_sha1hex"));
    if (lauxlib.luaL_dostring(L, to_luastring(BOOTSTRAP)) !== lua.LUA_OK) {
      throw new Error(`embedded store: Lua bootstrap failed: ${toJsString(L, -1)}`);
    }
    this.runnerRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    // A count hook checks the clock every 10,000 VM instructions: cheap, and enough to stop a
    // runaway loop (Redis answers BUSY; here the script is aborted since nothing else can run).
    lua.lua_sethook(L, (state: LuaState) => {
      if (this.deadline !== 0 && Date.now() > this.deadline) {
        this.deadline = 0;
        pushString(state, this.busyMessage());
        lua.lua_error(state);
      }
    }, lua.LUA_MASKCOUNT, 10_000);
    const libraries = createLibraries({
      fengariString: (name, args) => this.fengariString(name, args),
      redisCall: (args, protectedCall) => this.redisCallFromJavaScript(args, protectedCall),
      sha1hex: (text) => sha1(byteArray(text)),
    });
    this.operations = {
      ticks: TICKS_PER_CLOCK_CHECK,
      deadlineCheck: () => {
        if (this.deadline !== 0 && Date.now() > this.deadline) throw new ScriptKilled(this.busyMessage());
      },
      libraries: libraries.members,
      stringTable: libraries.tables.string!,
    };
    this.helpers = baseHelpers(this.operations);
  }

  private busyMessage(): string {
    return `BUSY script killed: it ran longer than ${this.timeout.ms} ms (scriptTimeoutMs)`;
  }

  /** SCRIPT LOAD: compiles once; returns the SHA1. */
  load(source: string): string {
    const sha = sha1(source);
    if (this.has(sha)) return sha;
    if (this.compileToJavaScript) {
      try {
        this.javascript.set(sha, compileScript(source, this.helpers));
        this.sources.set(sha, source);
        return sha;
      } catch (error) {
        // A construct the compiler refuses, or (a compiler bug) JS it cannot build: fengari runs it.
        if (!(error instanceof CompileRefused) && !(error instanceof SyntaxError)) throw error;
      }
    }
    const L = this.L;
    if (lauxlib.luaL_loadbuffer(L, to_luastring(source), null, to_luastring(`@user_script`)) !== lua.LUA_OK) {
      const message = toJsString(L, -1);
      lua.lua_pop(L, 1);
      throw new ScriptError(`ERR Error compiling script (new function): ${message}`);
    }
    this.compiled.set(sha, lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX));
    this.sources.set(sha, source);
    return sha;
  }

  has(sha: string): boolean {
    const key = sha.toLowerCase();
    return this.compiled.has(key) || this.javascript.has(key);
  }

  /** Whether a loaded script runs as JavaScript (true) or on fengari (false); undefined if not loaded. */
  isCompiled(sha: string): boolean | undefined {
    const key = sha.toLowerCase();
    return this.javascript.has(key) ? true : this.compiled.has(key) ? false : undefined;
  }

  /** Tests set this to false to run every script on fengari. */
  compileToJavaScript = true;

  flush(): void {
    for (const ref of this.compiled.values()) lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, ref);
    this.compiled.clear();
    this.javascript.clear();
    this.sources.clear();
  }

  /** EVALSHA: runs atomically (synchronously) with the given executor for redis.call. */
  run(sha: string, keys: Array<string | Buffer>, argv: Array<string | Buffer | number>, executor: CommandExecutor): unknown {
    const script = this.javascript.get(sha.toLowerCase());
    if (script) return this.runJavaScript(script, keys, argv, executor);
    const ref = this.compiled.get(sha.toLowerCase());
    if (ref === undefined) throw new ScriptError("NOSCRIPT No matching script. Please use EVAL.");
    if (this.executor) throw new ScriptError("ERR a script cannot call another script");
    const L = this.L;
    const top = lua.lua_gettop(L);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.runnerRef);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
    pushArgs(L, keys);
    pushArgs(L, argv);
    this.executor = executor;
    this.deadline = Date.now() + this.timeout.ms;
    try {
      const status = lua.lua_pcall(L, 3, 1, 0);
      if (status !== lua.LUA_OK) throw new ScriptError(errorMessage(L));
      return toReply(L, -1);
    } finally {
      this.executor = undefined;
      this.deadline = 0;
      lua.lua_settop(L, top);
    }
  }

  /** redis.call / redis.pcall: returns (true, reply) or (false, {err=...}). */
  private callFromLua(L: LuaState): number {
    const count = lua.lua_gettop(L);
    if (count === 0) return failure(L, NO_ARGUMENTS);
    const args: Array<string | Buffer> = [];
    for (let i = 1; i <= count; i++) {
      const type = lua.lua_type(L, i);
      if (type === lua.LUA_TNUMBER) args.push(formatNumber(lua.lua_tonumber(L, i)));
      else if (type === lua.LUA_TSTRING) args.push(toJsString(L, i));
      else return failure(L, BAD_ARGUMENTS);
    }
    const outcome = this.executeCommand(args);
    if (!outcome.ok) return failure(L, outcome.message);
    lua.lua_pushboolean(L, true);
    pushReply(L, outcome.reply);
    return 2;
  }

  /** Runs one command for a script: errors as Redis words them, status replies marked. */
  private executeCommand(args: Array<string | Buffer>): CommandOutcome {
    let reply: unknown;
    try {
      reply = this.executor!(args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, message: message.startsWith("ERR") || /^[A-Z]+ /.test(message) ? message : `ERR ${message}` };
    }
    const name = String(args[0]).toLowerCase();
    return { ok: true, reply: reply instanceof StatusReply || !STATUS_COMMANDS.has(name) || typeof reply !== "string" ? reply : new StatusReply(reply) };
  }

  private runJavaScript(script: CompiledScript, keys: Array<string | Buffer>, argv: Array<string | Buffer | number>, executor: CommandExecutor): unknown {
    if (this.executor) throw new ScriptError("ERR a script cannot call another script");
    this.executor = executor;
    this.deadline = Date.now() + this.timeout.ms;
    this.operations.ticks = TICKS_PER_CLOCK_CHECK;
    try {
      return compiledReply(first(script(argumentTable(keys), argumentTable(argv))));
    } catch (error) {
      if (error instanceof ScriptKilled) throw new ScriptError(error.message);
      if (error instanceof CommandFailed) throw new ScriptError(jsString(error.value as string));
      if (error instanceof LuaError) throw new ScriptError(compiledErrorMessage(error.value));
      if (error instanceof RangeError) throw new ScriptError("ERR user_script: stack overflow");
      throw error;
    } finally {
      this.executor = undefined;
      this.deadline = 0;
    }
  }

  /** redis.call / redis.pcall from compiled code: a failure raises (call) or is returned (pcall) as {err=...}. */
  private redisCallFromJavaScript(values: unknown[], protectedCall: boolean): unknown {
    const fail = (message: string) => {
      if (!protectedCall) throw new CommandFailed(luaString(message));
      const error = new LuaTable();
      error.set("err", luaString(message));
      return error;
    };
    if (values.length === 0) return fail(NO_ARGUMENTS);
    const args: string[] = new Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value === "string") args[i] = jsString(value);
      else if (typeof value === "number") args[i] = formatNumber(value);
      else return fail(BAD_ARGUMENTS);
    }
    const outcome = this.executeCommand(args);
    return outcome.ok ? replyToCompiled(outcome.reply) : fail(outcome.message);
  }

  /** string.find/match/format of the fengari VM, for compiled scripts: Lua patterns and C formats exactly as interpreted. */
  private fengariString(name: string, args: unknown[]): unknown {
    const L = this.L;
    const top = lua.lua_gettop(L);
    try {
      lua.lua_getglobal(L, to_luastring("string"));
      lua.lua_getfield(L, -1, to_luastring(name));
      lua.lua_remove(L, -2);
      let count = args.length;
      while (count > 0 && args[count - 1] === undefined) count--;
      for (let i = 0; i < count; i++) {
        const value = args[i];
        if (typeof value === "string") lua.lua_pushstring(L, byteArray(value));
        else if (typeof value === "number") pushNumber(L, value);
        else if (typeof value === "boolean") lua.lua_pushboolean(L, value);
        else if (value === undefined) lua.lua_pushnil(L);
        else throw new LuaError(`bad argument #${i + 1} to '${name}' (${value instanceof LuaTable ? "table" : "function"} not supported here)`);
      }
      if (lua.lua_pcall(L, count, lua.LUA_MULTRET, 0) !== lua.LUA_OK) {
        throw new LuaError(lua.lua_type(L, -1) === lua.LUA_TSTRING ? luaBytes(toBytes(L, -1)) : "error in string." + name);
      }
      const results: unknown[] = [];
      for (let i = top + 1; i <= lua.lua_gettop(L); i++) {
        const type = lua.lua_type(L, i);
        if (type === lua.LUA_TSTRING) results.push(luaBytes(toBytes(L, i)));
        else if (type === lua.LUA_TNUMBER) results.push(lua.lua_tonumber(L, i));
        else if (type === lua.LUA_TBOOLEAN) results.push(lua.lua_toboolean(L, i));
        else results.push(undefined);
      }
      return results.length === 1 ? results[0] : new Multi(results);
    } finally {
      lua.lua_settop(L, top);
    }
  }
}

const NO_ARGUMENTS = "ERR Please specify at least one argument for this redis lib call";
const BAD_ARGUMENTS = "ERR Lua redis lib command arguments must be strings or integers";

function argumentTable(values: Array<string | Buffer | number>): LuaTable {
  return tableOf(values.map((value) => (typeof value === "number" ? formatNumber(value) : typeof value === "string" ? luaString(value) : luaBytes(value))));
}

/** pushReply's rules for compiled scripts. */
function replyToCompiled(reply: unknown): unknown {
  if (reply === null || reply === undefined) return false;
  if (reply instanceof StatusReply) {
    const status = new LuaTable();
    status.set("ok", luaString(reply.status));
    return status;
  }
  if (typeof reply === "number") return Math.trunc(reply);
  if (typeof reply === "string") return luaString(reply);
  if (reply instanceof Uint8Array) return luaBytes(reply);
  if (Array.isArray(reply)) return tableOf(reply.map(replyToCompiled));
  if (typeof reply === "object") return replyToCompiled(Object.entries(reply as Record<string, unknown>).flat());
  return Boolean(reply);
}

/** toReply's rules (Redis 7) for a compiled script's result. */
function compiledReply(value: unknown): unknown {
  if (typeof value === "number") return toReplyInteger(value);
  if (typeof value === "string") return jsString(value);
  if (typeof value === "boolean") return value ? 1 : null;
  if (value instanceof LuaTable) {
    const error = value.get("err");
    if (typeof error === "string") throw new ScriptError(jsString(error));
    const status = value.get("ok");
    if (typeof status === "string") return jsString(status);
    const array: unknown[] = [];
    for (let i = 1; ; i++) {
      const item = value.get(i);
      if (item === undefined) break;
      array.push(compiledReply(item));
    }
    return array;
  }
  return null;
}

/** errorMessage's rules for a value raised in a compiled script. */
function compiledErrorMessage(value: unknown): string {
  if (value instanceof LuaTable) {
    const message = value.get("err");
    return typeof message === "string" ? jsString(message) : "ERR unknown script error";
  }
  const raw = typeof value === "string" ? jsString(value) : "unknown error";
  return `ERR user_script: ${raw}`;
}

function sha1(source: string | Buffer): string {
  return createHash("sha1").update(source).digest("hex");
}

/** Lua 5.1 turns numbers into strings with %.17g; JS's shortest round-trip form is the same value. */
function formatNumber(value: number): string {
  return Number.isInteger(value) && Math.abs(value) < 1e21 ? value.toFixed(0) : String(value);
}

function pushArgs(L: LuaState, values: Array<string | Buffer | number>): void {
  lua.lua_createtable(L, values.length, 0);
  values.forEach((value, index) => {
    if (typeof value === "number") pushString(L, formatNumber(value));
    else pushString(L, value);
    lua.lua_rawseti(L, -2, index + 1);
  });
}

function failure(L: LuaState, message: string): number {
  lua.lua_pushboolean(L, false);
  lua.lua_createtable(L, 0, 1);
  pushString(L, message);
  lua.lua_setfield(L, -2, to_luastring("err"));
  return 2;
}

/** Redis → Lua: integer → number, bulk → string, nil → false, array → table, status → {ok=}. */
function pushReply(L: LuaState, reply: unknown): void {
  if (reply === null || reply === undefined) lua.lua_pushboolean(L, false);
  else if (reply instanceof StatusReply) {
    lua.lua_createtable(L, 0, 1);
    pushString(L, reply.status);
    lua.lua_setfield(L, -2, to_luastring("ok"));
  } else if (typeof reply === "number") pushNumber(L, Math.trunc(reply));
  else if (typeof reply === "string" || reply instanceof Uint8Array) pushString(L, reply);
  else if (Array.isArray(reply)) {
    lua.lua_createtable(L, reply.length, 0);
    reply.forEach((item, index) => {
      pushReply(L, item);
      lua.lua_rawseti(L, -2, index + 1);
    });
  } else if (typeof reply === "object") {
    // ioredis-mock answers HGETALL with an object; Redis with a flat field/value array.
    pushReply(L, Object.entries(reply as Record<string, unknown>).flat());
  } else lua.lua_pushboolean(L, Boolean(reply));
}

function errorMessage(L: LuaState): string {
  if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
    lua.lua_getfield(L, -1, to_luastring("err"));
    const message = lua.lua_type(L, -1) === lua.LUA_TSTRING ? toJsString(L, -1) : "ERR unknown script error";
    lua.lua_pop(L, 1);
    return message;
  }
  const raw = lua.lua_type(L, -1) === lua.LUA_TSTRING ? toJsString(L, -1) : "unknown error";
  if (raw.startsWith("BUSY ")) return raw;
  return `ERR user_script: ${raw}`;
}

/**
 * Lua → Redis, the Redis 7 rules: number → integer (truncated), string → bulk, false/nil →
 * nil, true → 1, {ok=} → status, {err=} → error, table → array up to the first nil.
 */
function toReply(L: LuaState, index: number): unknown {
  const at = lua.lua_absindex(L, index);
  switch (lua.lua_type(L, at)) {
    case lua.LUA_TNUMBER:
      return toReplyInteger(lua.lua_tonumber(L, at));
    case lua.LUA_TSTRING:
      return toJsString(L, at);
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, at) ? 1 : null;
    case lua.LUA_TTABLE: {
      lua.lua_getfield(L, at, to_luastring("err"));
      if (lua.lua_type(L, -1) === lua.LUA_TSTRING) {
        const message = toJsString(L, -1);
        lua.lua_pop(L, 1);
        throw new ScriptError(message);
      }
      lua.lua_pop(L, 1);
      lua.lua_getfield(L, at, to_luastring("ok"));
      if (lua.lua_type(L, -1) === lua.LUA_TSTRING) {
        const status = toJsString(L, -1);
        lua.lua_pop(L, 1);
        return status;
      }
      lua.lua_pop(L, 1);
      const array: unknown[] = [];
      for (let i = 1; ; i++) {
        lua.lua_rawgeti(L, at, i);
        if (lua.lua_type(L, -1) === lua.LUA_TNIL) {
          lua.lua_pop(L, 1);
          break;
        }
        array.push(toReply(L, -1));
        lua.lua_pop(L, 1);
      }
      return array;
    }
    default:
      return null;
  }
}
