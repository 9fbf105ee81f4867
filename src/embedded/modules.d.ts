// The parts of ioredis-mock (and of our patch to it, patches/ioredis-mock@8.13.1.patch) we use.
declare module "ioredis-mock" {
  import { EventEmitter } from "node:events";
  type Emulator = (this: any, ...args: any[]) => unknown;
  class RedisMock extends EventEmitter {
    constructor(options?: Record<string, unknown>);
    connected: boolean;
    options: Record<string, unknown>;
    customCommands: Record<string, Emulator>;
    data: {
      get(key: string): any;
      set(key: string, value: unknown): void;
      has(key: string): boolean;
      delete(key: string): void;
      keys(): string[];
    };
    expires: { get(key: string): number | undefined; set(key: string, at: number): void; has(key: string): boolean; delete(key: string): void };
    context: { modifiedKeyEvents: EventEmitter };
    /** WATCH state: the watched keys, and whether one of them changed since. */
    dirty: boolean;
    watching: Set<string>;
    multi(batch?: unknown[]): any;
    pipeline(batch?: unknown[]): any;
    disconnect(): void;
    static commands: Record<string, Emulator>;
    static processReply(result: unknown, name: string): unknown;
    [command: string]: any;
  }
  export default RedisMock;
}

// fengari ships no types; it mirrors the Lua C API one to one.
declare module "fengari" {
  export const lua: any;
  export const lauxlib: any;
  export const lualib: any;
  export function to_luastring(value: string): Uint8Array;
  export function to_jsstring(value: Uint8Array): string;
}

// luaparse 0.3 ships no types; the compiler reads its AST as plain objects.
declare module "luaparse" {
  const luaparse: { parse(source: string, options: Record<string, unknown>): any };
  export default luaparse;
}
