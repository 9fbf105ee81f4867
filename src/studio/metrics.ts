/**
 * The studio's /metrics: what Prometheus should alert on for the whole system, read from Redis
 * at scrape time (jobs by queue and state, worker slots from heartbeats, Redis up) plus a run-time
 * histogram per task fed by the finished-job events. Beat lag per schedule joins with beat.
 */
import { Gauge, Histogram, Registry } from "prom-client";
import type { Broker } from "../broker/broker.ts";
import type { Inspector } from "../broker/inspector.ts";
import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";

/** Finished jobs whose run time is still to be read; beyond this many the oldest are not measured. */
const MAX_PENDING_TIMINGS = 10_000;
const TIMING_FLUSH_MS = 500;

export class StudioMetrics {
  readonly registry = new Registry();
  private readonly jobs = new Gauge({ name: "llmctl_queue_jobs", help: "Jobs in each queue by state", labelNames: ["queue", "state"] as const, registers: [this.registry] });
  private readonly paused = new Gauge({ name: "llmctl_queue_paused", help: "1 when the queue is paused", labelNames: ["queue"] as const, registers: [this.registry] });
  private readonly duration = new Histogram({
    name: "llmctl_task_duration_seconds",
    help: "Run time of finished jobs (processedOn to finishedOn) by task and outcome, observed by the studio",
    labelNames: ["task", "outcome"] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  private readonly workers = new Gauge({ name: "llmctl_workers", help: "Live worker processes (from heartbeats)", registers: [this.registry] });
  private readonly slots = new Gauge({ name: "llmctl_worker_slots", help: "Slots (concurrency) of each live worker", labelNames: ["worker", "hostname"] as const, registers: [this.registry] });
  private readonly slotsInUse = new Gauge({ name: "llmctl_worker_slots_in_use", help: "Slots running a job, per live worker", labelNames: ["worker", "hostname"] as const, registers: [this.registry] });
  private readonly redisUp = new Gauge({ name: "llmctl_redis_up", help: "1 when the studio's connection to Redis is ready", registers: [this.registry] });
  private pending: Array<{ queue: string; id: string; outcome: "completed" | "failed" }> = [];
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly broker: Broker,
    private readonly inspector: Inspector,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flushTimings(), TIMING_FLUSH_MS);
  }

  /** Queues a finished job; its run time is read in a batch with others. */
  jobFinished(job: { queue: string; id: string; outcome: "completed" | "failed" }): void {
    if (this.pending.length >= MAX_PENDING_TIMINGS) this.pending.shift();
    this.pending.push(job);
  }

  async flushTimings(): Promise<void> {
    if (this.pending.length === 0 || !this.broker.isConnected()) return;
    const batch = this.pending.splice(0, 1000);
    try {
      const outcomes = new Map(batch.map((job) => [`${job.queue}/${job.id}`, job.outcome]));
      for (const timing of await this.inspector.jobTimings(batch)) {
        this.duration.observe({ task: timing.task, outcome: outcomes.get(`${timing.queue}/${timing.id}`) ?? "completed" }, timing.seconds);
      }
    } catch (error) {
      this.logger.debug({ err: errorMessage(error) }, "could not read job run times");
    }
  }

  /** The exposition text, with gauges read from Redis now. When Redis is away only redis_up (0) and the histogram are reported. */
  async render(): Promise<string> {
    const up = this.broker.isConnected();
    this.redisUp.set(up ? 1 : 0);
    this.jobs.reset();
    this.paused.reset();
    this.slots.reset();
    this.slotsInUse.reset();
    if (up) {
      try {
        const [queues, workers] = await Promise.all([this.inspector.queueCounts(), this.inspector.workers()]);
        for (const queue of queues) {
          for (const state of ["waiting", "active", "delayed", "failed", "completed"] as const) this.jobs.set({ queue: queue.queue, state }, queue[state]);
          this.paused.set({ queue: queue.queue }, queue.paused ? 1 : 0);
        }
        this.workers.set(workers.length);
        for (const worker of workers) {
          this.slots.set({ worker: worker.id, hostname: worker.hostname }, worker.concurrency);
          this.slotsInUse.set({ worker: worker.id, hostname: worker.hostname }, worker.slots_in_use);
        }
      } catch (error) {
        this.redisUp.set(0);
        this.logger.debug({ err: errorMessage(error) }, "metrics: Redis read failed");
      }
    }
    return await this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
