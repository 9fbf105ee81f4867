/**
 * Prometheus metrics of one worker process. The per-job counter and histogram are tallied here
 * and written in the text exposition format on scrape: prom-client hashes the label set of every
 * `inc` and `observe`, which cost more than a no-op job's own handler on the hot path.
 */
import { Gauge, Registry } from "prom-client";

export const JOB_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600] as const;

interface QueueTaskTally {
  queue: string;
  task: string;
  completed: number;
  failed: number;
  /** Per bucket, the jobs whose duration fell in it (not yet cumulative); the last is +Inf. */
  buckets: Float64Array;
  seconds: number;
}

/** What Prometheus's text format requires escaped inside a label value. */
function labelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export class JobTally {
  private readonly tallies = new Map<string, QueueTaskTally>();

  record(queue: string, task: string, outcome: "completed" | "failed", seconds: number): void {
    const key = `${queue}\n${task}`;
    let tally = this.tallies.get(key);
    if (!tally) {
      tally = { queue, task, completed: 0, failed: 0, buckets: new Float64Array(JOB_DURATION_BUCKETS.length + 1), seconds: 0 };
      this.tallies.set(key, tally);
    }
    if (outcome === "completed") tally.completed++;
    else tally.failed++;
    let bucket = 0;
    while (bucket < JOB_DURATION_BUCKETS.length && seconds > JOB_DURATION_BUCKETS[bucket]!) bucket++;
    tally.buckets[bucket]!++;
    tally.seconds += seconds;
  }

  /** `llmctl_worker_jobs_total` by queue, task and outcome; `llmctl_job_duration_seconds` by task. */
  exposition(): string {
    const lines = [
      "# HELP llmctl_worker_jobs_total Jobs finished by this worker, by queue, task and outcome",
      "# TYPE llmctl_worker_jobs_total counter",
    ];
    const byTask = new Map<string, { buckets: Float64Array; seconds: number }>();
    for (const tally of this.tallies.values()) {
      const labels = `queue="${labelValue(tally.queue)}",task="${labelValue(tally.task)}"`;
      if (tally.completed > 0) lines.push(`llmctl_worker_jobs_total{${labels},outcome="completed"} ${tally.completed}`);
      if (tally.failed > 0) lines.push(`llmctl_worker_jobs_total{${labels},outcome="failed"} ${tally.failed}`);
      const merged = byTask.get(tally.task) ?? { buckets: new Float64Array(tally.buckets.length), seconds: 0 };
      tally.buckets.forEach((count, bucket) => (merged.buckets[bucket]! += count));
      merged.seconds += tally.seconds;
      byTask.set(tally.task, merged);
    }
    lines.push("# HELP llmctl_job_duration_seconds Run time of jobs, by task", "# TYPE llmctl_job_duration_seconds histogram");
    for (const [task, { buckets, seconds }] of byTask) {
      const name = `task="${labelValue(task)}"`;
      let cumulative = 0;
      buckets.forEach((count, bucket) => {
        cumulative += count;
        const le = bucket < JOB_DURATION_BUCKETS.length ? String(JOB_DURATION_BUCKETS[bucket]) : "+Inf";
        lines.push(`llmctl_job_duration_seconds_bucket{le="${le}",${name}} ${cumulative}`);
      });
      lines.push(`llmctl_job_duration_seconds_sum{${name}} ${seconds}`, `llmctl_job_duration_seconds_count{${name}} ${cumulative}`);
    }
    return `${lines.join("\n")}\n`;
  }
}

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobs = new JobTally();
  readonly slots = new Gauge({ name: "llmctl_worker_slots", help: "Slots of this worker process (concurrency)", registers: [this.registry] });
  readonly slotsInUse = new Gauge({ name: "llmctl_worker_slots_in_use", help: "Slots running a job now", registers: [this.registry] });
  readonly redisUp = new Gauge({ name: "llmctl_redis_up", help: "1 when the connection to Redis is ready", registers: [this.registry] });

  async exposition(): Promise<string> {
    return (await this.registry.metrics()) + this.jobs.exposition();
  }
}
