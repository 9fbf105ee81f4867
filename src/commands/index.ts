/**
 * The command table: every subcommand with its description, imported only when it runs. The
 * binary runs it from src/main.ts; tests parse manifests' container args against it.
 */
import { defineVerb, lazyVerb } from "./_shared.ts";
import { VERSION } from "../version.ts";

export const root = defineVerb({
  meta: {
    name: "llmctl",
    version: VERSION,
    description: "Run a Redis-backed job system: studio (API + dashboard), worker and beat roles",
  },
  subCommands: {
    up: lazyVerb("Studio, worker and beat in one process (the embedded store unless Redis is configured)", () => import("./up.ts")),
    smoke: lazyVerb("Self-test a topology: --local in one process in seconds, or a live deployment", () => import("./smoke.ts")),
    studio: lazyVerb("Serve the API and live dashboard: enqueue, inspect, retry, revoke (never runs jobs)", () => import("./studio.ts")),
    worker: lazyVerb("Run tasks from queues (N slots per process across its queues)", () => import("./worker.ts")),
    beat: lazyVerb("Dispatch the config's schedules once per fire time (one active beat, others stand by)", () => import("./beat.ts")),
    task: lazyVerb("Send a task and follow it; list tasks; show workers and queues", () => import("./task.ts")),
    job: lazyVerb("Inspect, follow, retry and revoke jobs", () => import("./job.ts")),
    schedule: lazyVerb("List, pause, resume and trigger schedules", () => import("./schedule.ts")),
    doctor: lazyVerb("Check the config, the Redis server's settings and the embedded store", () => import("./doctor.ts")),
    config: lazyVerb("Configuration as code: init, validate, show, edit, workers, schedules", () => import("./config.ts")),
  },
  examples: [
    ["llmctl up", "studio, worker and beat in one process: the dashboard on http://127.0.0.1:8080/"],
    ["llmctl config init llmctl.yaml", "write a starter config"],
    ["llmctl config validate", "check ./llmctl.yaml and report every error"],
    ["llmctl config schedules", "list schedules with their next fire times"],
    ["llmctl studio --port 8080", "the API and live dashboard on http://127.0.0.1:8080/"],
  ],
});
