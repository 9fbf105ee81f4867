/** Prometheus metrics of one beat process (/metrics on --health-port). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export class BeatMetrics {
  readonly registry = new Registry();
  readonly leader = new Gauge({ name: "llmctl_beat_leader", help: "1 while this beat holds the lease and dispatches, 0 on standby", registers: [this.registry] });
  readonly redisUp = new Gauge({ name: "llmctl_redis_up", help: "1 when this beat reached Redis on its last try", registers: [this.registry] });
  readonly dispatched = new Counter({
    name: "llmctl_beat_dispatched_total",
    help: "Fire times dispatched by this beat, by schedule and kind (cron, catchup)",
    labelNames: ["schedule", "kind"] as const,
    registers: [this.registry],
  });
  readonly skipped = new Counter({
    name: "llmctl_beat_skipped_total",
    help: "Fire times skipped by this beat, by schedule and reason (missed, paused, overlap, disabled, catchup limit)",
    labelNames: ["schedule", "reason"] as const,
    registers: [this.registry],
  });
  readonly lastDispatch = this.perSchedule("llmctl_beat_last_dispatch_timestamp_seconds", "When this beat last dispatched each schedule (Unix time)");
  readonly lag = this.perSchedule("llmctl_beat_dispatch_lag_seconds", "Fire time to jobs committed, for the last dispatch of each schedule");
  readonly nextFire = this.perSchedule("llmctl_beat_next_fire_timestamp_seconds", "The next fire time of each enabled schedule (Unix time)");
  readonly latency = new Histogram({
    name: "llmctl_beat_dispatch_latency_seconds",
    help: "Fire time to jobs committed, for on-time dispatches",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  private perSchedule(name: string, help: string): Gauge<"schedule"> {
    return new Gauge({ name, help, labelNames: ["schedule"] as const, registers: [this.registry] });
  }

  /** Drops the series of schedules no longer in the config, so a removed schedule stops being reported. */
  forget(schedule: string): void {
    for (const metric of [this.lastDispatch, this.lag, this.nextFire]) metric.remove({ schedule });
  }
}
