/**
 * The connection class the store hands out: ioredis-mock's RedisMock, pointed at the store's
 * dataset and Lua runtime, with the commands of commands.ts and the blocking commands of
 * blocking.ts. Everything BullMQ needs beyond ioredis-mock's public API is here or in the
 * files it imports, not in node_modules.
 */
import RedisMock from "ioredis-mock";
import { bzpopmin, xread } from "./blocking.ts";
import { embeddedCommands, nextClientId } from "./commands.ts";
import { StatusReply } from "./lua-runtime.ts";
import type { StoreInternals } from "./store.ts";

type Emulator = (this: EmbeddedRedis, ...args: any[]) => unknown;

function flattenArgs(args: unknown[]): Array<string | Buffer> {
  return args.flat(Infinity).map((arg) => (arg == null ? "" : Buffer.isBuffer(arg) ? arg : String(arg)));
}

function toClientReply(reply: unknown): unknown {
  if (reply instanceof StatusReply) return reply.status;
  if (Array.isArray(reply)) return reply.map(toClientReply);
  return reply;
}

/**
 * Emulators by the name a script spells (HGET, hget, …), looked up once per spelling:
 * RedisMock.commands is a module namespace whose every property is a getter.
 */
const scriptEmulators = new Map<string, Emulator>();

function scriptEmulator(spelling: string): Emulator {
  let emulator = scriptEmulators.get(spelling);
  if (emulator) return emulator;
  const name = spelling.toLowerCase();
  emulator = (embeddedCommands[name] ?? RedisMock.commands[name]) as Emulator | undefined;
  if (!emulator || name === "bzpopmin") throw new Error(`ERR unknown command '${name}'`);
  scriptEmulators.set(spelling, emulator);
  return emulator;
}

export class EmbeddedRedis extends RedisMock {
  readonly store: StoreInternals;
  readonly clientId = nextClientId();
  clientName = "";
  private ended = false;

  constructor(store: StoreInternals, options: { name?: string } = {}) {
    super({ host: store.hostKey, port: 6379, lazyConnect: false });
    this.store = store;
    this.clientName = options.name ?? "";
    // The store's dataset replaces ioredis-mock's copying one (see dataset.ts).
    this.data = store.dataset as never;
    this.expires = store.dataset.expires as never;
    this.context.modifiedKeyEvents.off("modified", this._signalModifiedKey);
    store.dataset.events.on("modified", this._signalModifiedKey);
    for (const [name, emulator] of Object.entries(embeddedCommands)) this.install(name, emulator);
    this.bzpopmin = this.asyncCommand((args) => bzpopmin(this, args.map(String)));
    this.xread = this.asyncCommand((args) => xread(this, args.map(String)));
    // ioredis-mock sets its commands as instance properties, which would hide methods.
    this.connect = () => this.reconnect();
    this.quit = () => this.closeConnection();
    this.defineCommand = (name: string, definition: { numberOfKeys?: number; lua: string }) => this.defineScript(name, definition);
    store.clients.add(this);
  }

  /** ioredis' connection state; BullMQ waits for "ready" and never reuses an "end" client. */
  get status(): string {
    return this.connected ? "ready" : this.ended ? "end" : "wait";
  }

  /** BullMQ sets "end" itself after quit(), because real ioredis lags behind. */
  set status(value: string) {
    if (value === "end") this.ended = true;
  }

  private reconnect(): Promise<void> {
    if (!this.connected) {
      this.connected = true;
      this.ended = false;
      this.store.clients.add(this);
      this.store.dataset.events.on("modified", this._signalModifiedKey);
      process.nextTick(() => {
        this.emit("connect");
        this.emit("ready");
      });
    }
    return Promise.resolve();
  }

  override disconnect(): void {
    if (!this.connected && this.ended) return;
    this.store.dataset.events.off("modified", this._signalModifiedKey);
    this.store.clients.delete(this);
    super.disconnect();
    this.ended = true;
  }

  private closeConnection(): Promise<string> {
    this.disconnect();
    return Promise.resolve("OK");
  }

  /**
   * WATCH as Redis does it: EXEC ends it, whether the transaction ran or was refused, and a plain
   * pipeline is not a transaction, so a watched key it runs after a change does not void it.
   * (ioredis-mock kept the watch after a successful EXEC — the next EXEC on the connection then
   * failed as if another client had written — and refused plain pipelines too.)
   */
  override multi(batch?: unknown[]): any {
    const transaction = super.multi(batch);
    const exec = transaction.exec.bind(transaction);
    transaction.exec = (callback?: (error: unknown, result?: unknown) => void) => {
      const result: Promise<unknown> = exec().then((replies: unknown) => {
        this.dirty = false;
        this.watching.clear();
        return replies;
      });
      if (callback) result.then((replies) => callback(null, replies), (error) => callback(error));
      return result;
    };
    return transaction;
  }

  override pipeline(batch?: unknown[]): any {
    const pipeline = super.pipeline(batch);
    pipeline._isDirty = () => false;
    return pipeline;
  }

  /** Keeps the subclass and the store (ioredis-mock's duplicate() returns a plain RedisMock). */
  duplicate(override?: { connectionName?: string }): EmbeddedRedis {
    // ioredis names a duplicate with CLIENT SETNAME when given connectionName; BullMQ relies on it.
    return new EmbeddedRedis(this.store, { name: override?.connectionName });
  }

  /** Scripts become emulators too, so they run in pipelines and MULTI like any command. */
  private defineScript(name: string, definition: { numberOfKeys?: number; lua: string }): void {
    const sha = this.store.lua.load(definition.lua);
    const fixedKeys = definition.numberOfKeys;
    const emulator: Emulator = function (this: EmbeddedRedis, ...args: Array<string | Buffer>) {
      if (fixedKeys === undefined || fixedKeys < 0) return this.runScript(sha, Number(args[0]), args.slice(1));
      return this.runScript(sha, fixedKeys, args);
    };
    this.install(name, emulator);
    this.install(`${name}Buffer`, emulator);
  }

  runScript(sha: string, numberOfKeys: number, args: Array<string | Buffer>): unknown {
    if (!Number.isInteger(numberOfKeys) || numberOfKeys < 0 || numberOfKeys > args.length) {
      throw new Error("ERR Number of keys can't be greater than number of args");
    }
    return this.store.lua.run(sha, args.slice(0, numberOfKeys), args.slice(numberOfKeys), (command) => this.execute(command));
  }

  /** redis.call: the same emulators a client uses, run synchronously inside the script. */
  private execute(command: Array<string | Buffer>): unknown {
    const emulator = scriptEmulator(String(command[0]));
    return emulator.apply(this, command.slice(1));
  }

  private install(name: string, emulator: Emulator): void {
    this.customCommands[name] = emulator;
    this[name] = this.asyncCommand((args) => emulator.apply(this, args));
  }

  private asyncCommand(run: (args: Array<string | Buffer>) => unknown) {
    return (...args: unknown[]) => {
      const callback = typeof args.at(-1) === "function" ? (args.pop() as (error: unknown, result?: unknown) => void) : undefined;
      const promise = new Promise((resolve) => {
        if (!this.connected) throw new Error("Connection is closed.");
        resolve(run(flattenArgs(args)));
      }).then(toClientReply);
      if (callback) promise.then((result) => callback(null, result), (error) => callback(error));
      return promise;
    };
  }
}
