#!/usr/bin/env bun
/**
 * The llmctl command line. Each subcommand is imported only when it runs, so that
 * `llmctl --version` and `llmctl --help` do not pay for BullMQ, the store or the studio.
 */
import { VERSION } from "./version.ts";

const argv = process.argv.slice(2);

if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  process.stdout.write(`llmctl ${VERSION}\n`);
  process.exit(0);
}

const { defineVerb, lazyVerb } = await import("./commands/_shared.ts");
const { runCli } = await import("./commands/_cli.ts");

const root = defineVerb({
  meta: {
    name: "llmctl",
    version: VERSION,
    description: "Run a Redis-backed job system: studio (API + dashboard), worker and beat roles",
  },
  subCommands: {
    up: lazyVerb("Studio, worker and beat in one process (the embedded store unless Redis is configured)", () => import("./commands/up.ts")),
    smoke: lazyVerb("Self-test a topology: --local in one process in seconds, or a live deployment", () => import("./commands/smoke.ts")),
    studio: lazyVerb("Serve the API and live dashboard: enqueue, inspect, retry, revoke (never runs jobs)", () => import("./commands/studio.ts")),
    worker: lazyVerb("Run tasks from queues (N slots per process across its queues)", () => import("./commands/worker.ts")),
    beat: lazyVerb("Dispatch the config's schedules once per fire time (one active beat, others stand by)", () => import("./commands/beat.ts")),
    task: lazyVerb("Send a task and follow it; list tasks; show workers and queues", () => import("./commands/task.ts")),
    job: lazyVerb("Inspect, follow, retry and revoke jobs", () => import("./commands/job.ts")),
    schedule: lazyVerb("List, pause, resume and trigger schedules", () => import("./commands/schedule.ts")),
    doctor: lazyVerb("Check the config, the Redis server's settings and the embedded store", () => import("./commands/doctor.ts")),
    config: lazyVerb("Configuration as code: init, validate, show, edit, workers, schedules", () => import("./commands/config.ts")),
  },
  examples: [
    ["llmctl up", "studio, worker and beat in one process: the dashboard on http://127.0.0.1:8080/"],
    ["llmctl config init llmctl.yaml", "write a starter config"],
    ["llmctl config validate", "check ./llmctl.yaml and report every error"],
    ["llmctl config schedules", "list schedules with their next fire times"],
    ["llmctl studio --port 8080", "the API and live dashboard on http://127.0.0.1:8080/"],
  ],
});

process.exitCode = await runCli(root, argv, "llmctl");
