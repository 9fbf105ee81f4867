import { loadConfigFromFlags } from "./_config.ts";
import { configArgs, defineVerb, jsonArgs, portFlag, positiveIntegerFlag, redisArgs, tasksDirArgs } from "./_shared.ts";
import { FlagError } from "../util/errors.ts";
import { createLogger } from "../util/logger.ts";
import { stopOnSignals } from "../util/signals.ts";

export default defineVerb({
  meta: { name: "beat", description: "Dispatch the config's schedules, once per fire time and target; one beat is active, others stand by" },
  args: {
    ...configArgs,
    ...redisArgs,
    ...tasksDirArgs,
    "dry-run": { type: "boolean", description: "print the next fire times, queues and hosts, and what differs from Redis; enqueue nothing" },
    count: { type: "string", valueHint: "N", description: "with --dry-run: how many fire times per schedule (default 5)" },
    from: { type: "string", valueHint: "TIME", description: "with --dry-run: list fire times after this instant instead of now (ISO 8601, e.g. 2027-03-27T00:00:00Z)" },
    "health-port": { type: "string", valueHint: "PORT", description: "serve /healthz, /readyz and /metrics on this port" },
    ...jsonArgs,
  },
  examples: [
    ["llmctl beat", "dispatch the schedules of ./llmctl.yaml (run two for a standby)"],
    ["llmctl beat --dry-run --count 3", "next fire times and targets, compared with the state in Redis"],
    ["llmctl beat --dry-run --from 2027-03-27T00:00:00Z", "what the schedules do around a DST change"],
    ["llmctl beat --health-port 9091", "with probes; kill -HUP reloads the config"],
  ],
  async run({ args }) {
    const dryRun = args["dry-run"] === true;
    if (!dryRun && (args.count !== undefined || args.from !== undefined || args.json)) throw new FlagError("--count, --from and --json only apply with --dry-run", "llmctl beat --dry-run --count 3 --json");
    if (dryRun && args["health-port"] !== undefined) throw new FlagError("--health-port does not apply with --dry-run");
    const count = positiveIntegerFlag("count", args.count, 5);
    const from = args.from === undefined ? undefined : new Date(args.from);
    if (from && Number.isNaN(from.getTime())) throw new FlagError(`--from: "${args.from}" is not a time`, "use ISO 8601, e.g. --from 2027-03-27T00:00:00Z");
    const healthPort = portFlag("health-port", args["health-port"]);
    const loaded = loadConfigFromFlags(args);
    if (dryRun) {
      const { printDryRun } = await import("../beat/dry-run.ts");
      await printDryRun(loaded, { count, from, tasksDir: args["tasks-dir"], json: args.json === true });
      return;
    }
    const logger = createLogger({ name: "llmctl.beat" });
    const { start } = await import("../beat/index.ts");
    const beat = await start({ loaded, logger, healthPort, tasksDir: args["tasks-dir"], reloadConfig: () => loadConfigFromFlags(args) });
    process.on("SIGHUP", () => void beat.reload());
    stopOnSignals(() => beat.close(), logger);
    await new Promise(() => {});
  },
});
