/**
 * Lock renewal off the main thread (see lock-renewal-thread.ts). BullMQ's LockManager still
 * tracks jobs and owns their AbortControllers; only the timer-driven renewal moves to the
 * thread. The embedded store lives in the main thread's memory, so there the stock timers stay
 * (a documented limit: a handler that blocks the event loop longer than the lock duration in
 * `llmctl up` can see its job rerun).
 */
import { LockManager, type Worker } from "bullmq";
import type { RealRedisTarget } from "../config/redis-target.ts";
import { RuntimeError } from "../util/errors.ts";
import { settlesWithin } from "../util/timeout.ts";
import { LockTableWriter } from "./lock-table.ts";
import type { RenewalTarget } from "./renewal-connection.ts";

export type RenewalMessage =
  | { type: "init"; target: RenewalTarget; name: string; prefix: string; lockDurationMs: number; renewEveryMs: number; table: SharedArrayBuffer }
  | { type: "track"; queue: string; jobId: string; token: string }
  | { type: "untrack"; queue: string; jobId: string }
  | { type: "close" };

export type RenewalReport =
  | { type: "ready" }
  | { type: "lost"; queue: string; jobId: string }
  | { type: "error"; message: string }
  | { type: "closed" };

/**
 * Where the thread's module is. In the compiled binary every entry point lives in Bun's virtual
 * file system relative to the main one (scripts/build.ts adds this one); from source it is a
 * file next to this one.
 */
function threadEntry(): string {
  return import.meta.url.includes("/$bunfs/") ? "./worker/lock-renewal-thread.ts" : new URL("./lock-renewal-thread.ts", import.meta.url).href;
}

export class LockRenewalThread {
  private readonly thread: Worker;
  private readonly table: LockTableWriter;
  /** Jobs that did not fit the shared table and were sent by message. */
  private readonly sent = new Set<string>();
  /** Resolves once the thread runs and has its connection. */
  readonly ready: Promise<void>;
  private onLost?: (queue: string, jobId: string) => void;
  private onError?: (message: string) => void;

  /** `slots`: how many jobs the process runs at once (the table holds twice that, for hand-overs). */
  constructor(target: RealRedisTarget, prefix: string, lockDurationMs: number, slots: number, name: string) {
    this.table = new LockTableWriter(slots * 2 + 4);
    this.thread = new globalThis.Worker(threadEntry()) as unknown as Worker;
    const thread = this.thread as unknown as globalThis.Worker;
    this.ready = new Promise((resolve, reject) => {
      thread.onerror = (event) => reject(new RuntimeError(`the lock renewal thread failed to start: ${event.message}`));
      thread.onmessage = (event: MessageEvent<RenewalReport>) => {
        if (event.data.type === "ready") resolve();
        else if (event.data.type === "lost" && this.isTracked(event.data.queue, event.data.jobId)) this.onLost?.(event.data.queue, event.data.jobId);
        else if (event.data.type === "error") this.onError?.(event.data.message);
      };
    });
    // Renew at a quarter of the lock duration: two renewals may fail before the lock expires.
    const { host, port, db, username, password, tls, connectTimeoutMs } = target;
    this.send({
      type: "init",
      target: { host, port, db, username, password, tls, connectTimeoutMs },
      name,
      prefix,
      lockDurationMs,
      renewEveryMs: Math.max(250, Math.floor(lockDurationMs / 4)),
      table: this.table.table.buffer,
    });
  }

  track(queue: string, jobId: string, token: string): void {
    if (this.table.track({ queue, jobId, token })) return;
    this.sent.add(`${queue}/${jobId}`);
    this.send({ type: "track", queue, jobId, token });
  }

  untrack(queue: string, jobId: string): void {
    if (this.table.untrack(queue, jobId)) return;
    if (this.sent.delete(`${queue}/${jobId}`)) this.send({ type: "untrack", queue, jobId });
  }

  /** A "lost" report about a job that finished meanwhile is stale. */
  private isTracked(queue: string, jobId: string): boolean {
    return this.table.has(queue, jobId) || this.sent.has(`${queue}/${jobId}`);
  }

  listen(handlers: { lost: (queue: string, jobId: string) => void; error: (message: string) => void }): void {
    this.onLost = handlers.lost;
    this.onError = handlers.error;
  }

  private send(message: RenewalMessage): void {
    (this.thread as unknown as globalThis.Worker).postMessage(message);
  }

  async close(): Promise<void> {
    const thread = this.thread as unknown as globalThis.Worker;
    const closed = new Promise<void>((resolve) => {
      thread.addEventListener("message", (event: MessageEvent<RenewalReport>) => {
        if (event.data.type === "closed") resolve();
      });
    });
    this.send({ type: "close" });
    await settlesWithin(closed, 1000);
    thread.terminate();
  }
}

/** A LockManager whose renewal runs in the thread; tracking and cancellation stay BullMQ's. */
export class ThreadedLockManager extends LockManager {
  constructor(
    worker: ConstructorParameters<typeof LockManager>[0],
    options: ConstructorParameters<typeof LockManager>[1],
    private readonly thread: LockRenewalThread,
  ) {
    super(worker, options);
  }

  override start(): void {
    // Renewal timers run in the thread.
  }

  override trackJob(jobId: string, token: string, ts: number, shouldCreateController?: boolean): ReturnType<LockManager["trackJob"]> {
    const controller = super.trackJob(jobId, token, ts, shouldCreateController);
    if (this.trackedJobs.has(jobId)) this.thread.track(this.queueName(), jobId, token);
    return controller;
  }

  override untrackJob(jobId: string): void {
    if (!this.trackedJobs.has(jobId)) return; // BullMQ untracks every job twice
    super.untrackJob(jobId);
    this.thread.untrack(this.queueName(), jobId);
  }

  private queueName(): string {
    return (this as unknown as { worker: { name: string } }).worker.name;
  }
}
