import { describe, expect, it } from "bun:test";
import { Counter, Histogram, Registry } from "prom-client";
import { JOB_DURATION_BUCKETS, JobTally, WorkerMetrics } from "../../../src/worker/metrics.ts";

const samples = (text: string) =>
  text
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .sort();

describe("JobTally", () => {
  const jobs: Array<[string, string, "completed" | "failed", number]> = [
    ["default", "llmctl.ping", "completed", 0.004],
    ["default", "llmctl.ping", "completed", 0.01],
    ["default", "llmctl.ping", "failed", 0.2],
    ["fleet.web-1", "llmctl.ping", "completed", 7],
    ["default", 'odd "name"\\x', "failed", 5000],
    ["rag", "shell", "completed", 0.05],
  ];

  it("writes the same samples as prom-client's Counter and Histogram given the same jobs", async () => {
    const tally = new JobTally();
    const registry = new Registry();
    const counter = new Counter({ name: "llmctl_worker_jobs_total", help: "h", labelNames: ["queue", "task", "outcome"], registers: [registry] });
    const histogram = new Histogram({ name: "llmctl_job_duration_seconds", help: "h", labelNames: ["task"], buckets: [...JOB_DURATION_BUCKETS], registers: [registry] });
    for (const [queue, task, outcome, seconds] of jobs) {
      tally.record(queue, task, outcome, seconds);
      counter.inc({ queue, task, outcome });
      histogram.observe({ task }, seconds);
    }
    expect(samples(tally.exposition())).toEqual(samples(await registry.metrics()));
  });

  it("counts a job in its bucket and every bucket above it, ending with +Inf equal to the count", () => {
    const tally = new JobTally();
    tally.record("default", "t", "completed", 0.5);
    tally.record("default", "t", "completed", 4000);
    const lines = samples(tally.exposition());
    expect(lines).toContain('llmctl_job_duration_seconds_bucket{le="0.1",task="t"} 0');
    expect(lines).toContain('llmctl_job_duration_seconds_bucket{le="0.5",task="t"} 1');
    expect(lines).toContain('llmctl_job_duration_seconds_bucket{le="3600",task="t"} 1');
    expect(lines).toContain('llmctl_job_duration_seconds_bucket{le="+Inf",task="t"} 2');
    expect(lines).toContain('llmctl_job_duration_seconds_count{task="t"} 2');
    expect(lines).toContain('llmctl_worker_jobs_total{queue="default",task="t",outcome="completed"} 2');
    expect(lines.some((line) => line.includes('outcome="failed"'))).toBe(false);
  });

  it("declares both metric families even before the first job", async () => {
    const text = await new WorkerMetrics().exposition();
    expect(text).toContain("# TYPE llmctl_worker_jobs_total counter");
    expect(text).toContain("# TYPE llmctl_job_duration_seconds histogram");
    expect(text).toContain("llmctl_worker_slots 0");
  });
});
