/**
 * A BullMQ Worker for one queue, driven by the Dispatcher instead of its own main loop. BullMQ
 * keeps doing what it does well — taking a job atomically, locks, processing with retries and
 * backoff, completion that hands over the next job, stalled-job checks, job schedulers — and
 * the dispatcher decides when and from which queue a job is taken.
 */
import { Worker, type Job, type Processor, type WorkerOptions } from "bullmq";
import { ShutdownInterrupted } from "./errors.ts";
import { ThreadedLockManager, type LockRenewalThread } from "./lock-renewal.ts";

export type AnyJob = Job<unknown, unknown, string>;

/** A job's handler: its result, or a promise of it (BullMQ awaits whatever it returns). */
export type JobProcessor = (job: AnyJob, token?: string) => unknown;

export class QueueConsumer extends Worker<unknown, unknown, string> {
  /** BullMQ builds the lock manager inside its constructor, before this class's fields exist. */
  private static renewalForConstruction: LockRenewalThread | undefined;

  constructor(queue: string, processor: JobProcessor, options: WorkerOptions, renewal?: LockRenewalThread) {
    QueueConsumer.renewalForConstruction = renewal;
    try {
      super(queue, processor as Processor<unknown, unknown, string>, { ...options, autorun: false });
    } finally {
      QueueConsumer.renewalForConstruction = undefined;
    }
  }

  protected override createLockManager(): void {
    const renewal = QueueConsumer.renewalForConstruction;
    if (!renewal) {
      super.createLockManager();
      return;
    }
    this.lockManager = new ThreadedLockManager(
      this as never, // BullMQ's declaration of the worker context does not type-check against Worker itself
      { lockRenewTime: this.opts.lockRenewTime!, lockDuration: this.opts.lockDuration!, workerId: this.id, workerName: this.opts.name },
      renewal,
    );
  }

  /** Starts lock renewal and the stalled-job checker, which BullMQ's run() would start. */
  async startBackgroundChecks(): Promise<void> {
    this.lockManager.start();
    await this.startStalledCheckTimer();
  }

  /** Takes the next job off the queue without blocking (promoting due delayed jobs first). */
  async fetchNow(token: string): Promise<AnyJob | undefined> {
    return (await this.moveToActive(token, this.opts.name)) ?? undefined;
  }

  /** When the queue next has work: a delayed job's due time or the end of a rate limit (ms, 0 = unknown). */
  nextWorkAt(): number {
    const self = this as unknown as { blockUntil: number; limitUntil: number };
    return Math.max(self.blockUntil || 0, self.limitUntil || 0);
  }

  isRateLimitedNow(): boolean {
    return ((this as unknown as { limitUntil: number }).limitUntil || 0) > Date.now();
  }

  get markerKey(): string {
    return `${this.opts.prefix}:${this.name}:marker`;
  }

  protected override async handleFailed(error: Error, job: AnyJob, token: string, fetchNextCallback?: () => boolean, span?: unknown): Promise<AnyJob> {
    if (error instanceof ShutdownInterrupted) {
      // Back to its queue at once, rather than failed or left for stalled-job detection.
      await job.moveToWait(token).catch((moveError: unknown) => this.emit("error", moveError as Error));
      return undefined as unknown as AnyJob;
    }
    return super.handleFailed(error, job, token, fetchNextCallback, span as never);
  }
}
