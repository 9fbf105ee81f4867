/**
 * What every conformance file shares: the backend's lifecycle hooks, unique queue names, BullMQ
 * objects that are closed after each test whatever happened, and bounded waits (a test waits for
 * a state or an event, never sleeps and hopes).
 */
import { afterAll, afterEach, beforeAll } from "bun:test";
import { FlowProducer, Queue, QueueEvents, Worker, type Processor, type QueueOptions, type WorkerOptions } from "bullmq";
import type { Redis } from "ioredis";
import type { Backend, BackendHandle } from "./backends.ts";

let queueCounter = 0;

export interface Conformance {
  readonly backend: Backend;
  /** A client for raw reads; closed after the test. */
  connection(name?: string): Redis;
  /** A queue name no other test (in this process) uses. */
  queueName(hint?: string): string;
  queue(name: string, options?: Partial<QueueOptions>): Queue;
  /** A worker; `autorun: true` unless set. Errors it emits are kept in `workerErrors`. */
  worker(name: string, processor: Processor | null, options?: Partial<WorkerOptions>): Worker;
  /** A QueueEvents listener that sees every event of the queue, from the first. */
  events(name: string): Promise<QueueEvents>;
  flowProducer(): FlowProducer;
  /** Runs `close` after the test (before the objects created earlier are closed). */
  defer(close: () => Promise<unknown> | unknown): void;
  workerErrors: Error[];
}

/** Registers beforeAll/afterEach/afterAll for one backend; call it at the top of a describe block. */
export function useBackend(backend: Backend): Conformance {
  let handle: BackendHandle | undefined;
  let cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    handle = await backend.start();
  });
  afterEach(async () => {
    const pending = cleanups.reverse();
    cleanups = [];
    for (const cleanup of pending) {
      try {
        await cleanup();
      } catch {
        // A close that fails (already closed, connection gone) must not hide the test's own result.
      }
    }
    context.workerErrors.length = 0;
  });
  afterAll(async () => {
    await handle?.stop();
  });

  function connect(name?: string): Redis {
    if (!handle) throw new Error(`backend ${backend.name} is not started`);
    const client = handle.connection(name);
    cleanups.push(() => client.disconnect());
    return client;
  }

  const context: Conformance = {
    backend,
    workerErrors: [],
    connection: connect,
    queueName(hint = "q") {
      queueCounter += 1;
      return `conf-${hint}-${process.pid}-${queueCounter}`;
    },
    queue(name, options) {
      const queue = new Queue(name, { ...options, connection: connect() });
      queue.on("error", () => {});
      cleanups.push(() => queue.close());
      return queue;
    },
    worker(name, processor, options) {
      const worker = new Worker(name, processor, { ...options, connection: connect() });
      worker.on("error", (error) => context.workerErrors.push(error));
      // Forced: a test that failed may leave a processor that never returns.
      cleanups.push(() => worker.close(true));
      return worker;
    },
    async events(name) {
      // Queue names are unique per test, so reading the stream from its start (instead of the
      // default "$", new events only) misses nothing that happened before the first XREAD.
      const events = new QueueEvents(name, { connection: connect(), lastEventId: "0-0" });
      events.on("error", () => {});
      cleanups.push(() => events.close());
      await events.waitUntilReady();
      return events;
    },
    flowProducer() {
      const producer = new FlowProducer({ connection: connect() });
      producer.on("error", () => {});
      cleanups.push(() => producer.close());
      return producer;
    },
    defer(close) {
      cleanups.push(close);
    },
  };
  return context;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/** Polls until `probe` returns a value other than undefined/false; fails with `what` after the timeout. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`);
    }
    await Bun.sleep(intervalMs);
  }
}

/**
 * Checks that `probe` stays true for `durationMs`, polling, and fails the moment it does not.
 * Only for negatives ("nothing is fetched while paused"), which no event can signal; a test
 * states positives with waitFor or nextEvent.
 */
export async function holdsFor(what: string, probe: () => Promise<boolean> | boolean, durationMs: number, intervalMs = 20): Promise<void> {
  const until = Date.now() + durationMs;
  while (Date.now() < until) {
    if (!(await probe())) throw new Error(`expected ${what} for ${durationMs} ms, but it stopped holding`);
    await Bun.sleep(intervalMs);
  }
  if (!(await probe())) throw new Error(`expected ${what} for ${durationMs} ms, but it stopped holding`);
}

/** Resolves with the arguments of the first `event` for which `accept` holds; fails after the timeout. */
export function nextEvent<Args extends unknown[]>(
  emitter: { on(event: string, listener: (...args: any[]) => void): unknown; off(event: string, listener: (...args: any[]) => void): unknown },
  event: string,
  accept: (...args: Args) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<Args> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for event "${event}"`));
    }, timeoutMs);
    const listener = (...args: any[]) => {
      if (!accept(...(args as Args))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as Args);
    };
    emitter.on(event, listener);
  });
}

/** A promise with its resolve function, for processors a test releases when it chooses. */
export function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
