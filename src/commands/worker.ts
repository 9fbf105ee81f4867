import { loadConfigFromFlags } from "./_config.ts";
import { configArgs, defineVerb, portFlag, positiveIntegerFlag, redisArgs, slotArgs, tasksDirArgs } from "./_shared.ts";
import { durationFlag } from "../util/duration.ts";
import { createLogger } from "../util/logger.ts";
import { stopOnSignals } from "../util/signals.ts";

export default defineVerb({
  meta: { name: "worker", description: "Run tasks from queues: N jobs at once per process across all its queues" },
  args: {
    ...configArgs,
    ...redisArgs,
    ...tasksDirArgs,
    queues: { type: "string", valueHint: "all|Q1,Q2", description: "queues to consume: 'all' (the contract) or a list (default: all, or only the role's queues with --role)" },
    ...slotArgs,
    role: { type: "string", valueHint: "ROLE", description: "also consume the role's queue and this host's own queue" },
    hostname: { type: "string", valueHint: "HOST", description: "this host's name for --role (default: the system hostname)" },
    "health-port": { type: "string", valueHint: "PORT", description: "serve /healthz, /readyz and /metrics on this port" },
  },
  examples: [
    ["llmctl worker --queues all --concurrency 2", "the Celery worker replacement: every contract queue, 2 slots"],
    ["llmctl worker --role webserver --hostname webserver01", "a fleet host: its role queue and its own queue"],
    ["llmctl worker --queues llmctl_studio.downloads.huggingface --health-port 9090 --grace 5m", "one queue, probes, long grace"],
  ],
  async run({ args }) {
    const concurrency = args.concurrency === undefined ? undefined : positiveIntegerFlag("concurrency", args.concurrency, 2);
    const healthPort = portFlag("health-port", args["health-port"]);
    const graceMs = args.grace === undefined ? undefined : durationFlag("grace", args.grace);
    const loaded = loadConfigFromFlags(args);
    const logger = createLogger({ name: "llmctl.worker" });
    const { start } = await import("../worker/index.ts");
    const worker = await start({ loaded, logger, queues: args.queues, concurrency, role: args.role, hostname: args.hostname, healthPort, graceMs, tasksDir: args["tasks-dir"] });
    stopOnSignals(() => worker.close(), logger);
    await new Promise(() => {});
  },
});
