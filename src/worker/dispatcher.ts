/**
 * Decides when and from which queue a worker process takes a job. One loop fills free slots,
 * trying the queues round-robin; when none has work it blocks on all their BullMQ markers at
 * once (BZPOPMIN over several keys), as an idle BullMQ worker does on one. Each slot then runs
 * a chain: BullMQ's completion script hands it the next job of the same queue in the same round
 * trip, and about once a second the chain looks at the other queues first, so that a busy
 * queue cannot starve the rest.
 */
import type { Redis } from "ioredis";
import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import type { AnyJob, QueueConsumer } from "./queue-consumer.ts";
import { SlotGate } from "./slots.ts";

/** How long a slot may keep serving one queue before it checks the others. */
export const FAIRNESS_ROTATE_MS = 1000;
/** The longest an idle worker blocks before looking again (BullMQ caps its own wait at 10 s). */
export const MAX_IDLE_WAIT_S = 5;
const ERROR_BACKOFF_MS = 1000;

interface Found {
  consumer: QueueConsumer;
  job: AnyJob;
  token: string;
}

export class Dispatcher {
  readonly gate: SlotGate;
  private readonly chains = new Set<Promise<void>>();
  private closing = false;
  private nextIndex = 0;
  private tokens = 0;
  private loop?: Promise<void>;

  constructor(
    private readonly consumers: QueueConsumer[],
    slots: number,
    /** A dedicated connection for the blocking wait on markers. */
    private readonly blocking: Redis,
    private readonly logger: Logger,
  ) {
    this.gate = new SlotGate(slots);
  }

  start(): void {
    this.loop = this.fillSlots();
  }

  private async fillSlots(): Promise<void> {
    while (!this.closing) {
      if (!(await this.gate.acquire())) break;
      const found = await this.findJob(this.nextIndex);
      if (found) {
        this.startChain(found);
        continue;
      }
      this.gate.release();
      await this.waitForWork();
    }
  }

  /** Tries each queue once, starting at `start`; the first job found wins. */
  private async findJob(start: number): Promise<Found | undefined> {
    const count = this.consumers.length;
    for (let offset = 0; offset < count && !this.closing; offset++) {
      const index = (start + offset) % count;
      const consumer = this.consumers[index]!;
      if (consumer.isRateLimitedNow()) continue;
      const token = `${consumer.id}:${this.tokens++}`;
      try {
        const job = await consumer.fetchNow(token);
        if (job) {
          this.nextIndex = (index + 1) % count;
          return { consumer, job, token };
        }
      } catch (error) {
        this.logger.warn({ queue: consumer.name, err: errorMessage(error) }, "could not fetch a job");
        await Bun.sleep(ERROR_BACKOFF_MS);
      }
    }
    return undefined;
  }

  private startChain(found: Found): void {
    const chain = this.runChain(found).finally(() => this.chains.delete(chain));
    this.chains.add(chain);
  }

  private async runChain(first: Found): Promise<void> {
    let current: Found | undefined = first;
    try {
      while (current) {
        const { consumer, token } = current;
        const servingSince = Date.now();
        // An overcommitted gate (a lent slot taken back) gives up this chain's slot at the job's end.
        const keepServing = () =>
          !this.closing && !this.gate.overcommitted && (this.consumers.length === 1 || Date.now() - servingSince < FAIRNESS_ROTATE_MS);
        let next: AnyJob | void = await consumer.processJob(current.job, token, keepServing);
        while (next) next = await consumer.processJob(next, token, keepServing);
        if (this.closing || this.gate.overcommitted) break;
        // Its queue is empty, or it is time to give the others a turn: look there first.
        current = await this.findJob(this.consumers.indexOf(consumer) + 1);
      }
    } catch (error) {
      this.logger.error({ err: errorMessage(error) }, "job chain stopped");
    } finally {
      this.gate.release();
    }
  }

  /** Blocks until a queue may have work: a marker, a delayed job coming due, or the idle timeout. */
  private async waitForWork(): Promise<void> {
    const now = Date.now();
    const upcoming = this.consumers.map((consumer) => consumer.nextWorkAt()).filter((at) => at > now);
    const waitS = Math.min(MAX_IDLE_WAIT_S, ...upcoming.map((at) => (at - now) / 1000));
    if (waitS <= 0.001) return;
    try {
      await this.blocking.bzpopmin(...this.consumers.map((consumer) => consumer.markerKey), Math.max(0.01, Number(waitS.toFixed(3))));
    } catch (error) {
      if (this.closing) return;
      this.logger.warn({ err: errorMessage(error) }, "waiting for jobs failed; retrying");
      await Bun.sleep(ERROR_BACKOFF_MS);
    }
  }

  get running(): number {
    return this.chains.size;
  }

  /** Stops taking jobs; resolves when the jobs in hand have finished (or been cut off by `interrupt`). */
  async stop(graceMs: number, interrupt: () => void): Promise<boolean> {
    this.closing = true;
    this.gate.close();
    this.blocking.disconnect();
    await this.loop;
    const finished = Promise.all(this.chains);
    const inTime = await Promise.race([finished.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!inTime) {
      interrupt();
      await Promise.race([finished, Bun.sleep(5000)]);
    }
    return inTime;
  }
}
