/** Prometheus metrics of one worker process. */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobs = new Counter({ name: "llmctl_worker_jobs_total", help: "Jobs finished by this worker, by queue, task and outcome", labelNames: ["queue", "task", "outcome"] as const, registers: [this.registry] });
  readonly duration = new Histogram({
    name: "llmctl_job_duration_seconds",
    help: "Run time of jobs, by task",
    labelNames: ["task"] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  readonly slots = new Gauge({ name: "llmctl_worker_slots", help: "Slots of this worker process (concurrency)", registers: [this.registry] });
  readonly slotsInUse = new Gauge({ name: "llmctl_worker_slots_in_use", help: "Slots running a job now", registers: [this.registry] });
  readonly redisUp = new Gauge({ name: "llmctl_redis_up", help: "1 when the connection to Redis is ready", registers: [this.registry] });
}
