import { loadConfigFromFlags } from "./_config.ts";
import { configArgs, defineVerb, portFlag, positiveIntegerFlag, redisArgs, slotArgs, studioArgs, tasksDirArgs } from "./_shared.ts";
import { durationFlag } from "../util/duration.ts";
import { createLogger } from "../util/logger.ts";
import { stopOnSignals } from "../util/signals.ts";

export default defineVerb({
  meta: { name: "up", description: "Studio, worker and beat in one process; the embedded store unless Redis is configured" },
  args: {
    ...configArgs,
    ...redisArgs,
    ...tasksDirArgs,
    ...studioArgs,
    ...slotArgs,
    "data-dir": { type: "string", valueHint: "DIR", description: "where the embedded store keeps its snapshot (default: ./.llmctl); only without a configured Redis" },
  },
  examples: [
    ["llmctl up", "everything on http://127.0.0.1:8080/, jobs kept in ./.llmctl/store.snapshot"],
    ["llmctl up --port 9000 --data-dir /var/lib/llmctl", "another port, the store elsewhere"],
    ["LLMCTL_REDIS_URL=redis://localhost:6379/0 llmctl up", "the three roles on a real Redis"],
  ],
  async run({ args }) {
    const port = portFlag("port", args.port);
    const concurrency = args.concurrency === undefined ? undefined : positiveIntegerFlag("concurrency", args.concurrency, 2);
    const graceMs = args.grace === undefined ? undefined : durationFlag("grace", args.grace);
    const loaded = loadConfigFromFlags(args);
    const logger = createLogger({ name: "llmctl.up" });
    const { runUp } = await import("../up/run.ts");
    const up = await runUp({ loaded, logger, host: args.host, port, dataDir: args["data-dir"], tokenFile: args["token-file"], tasksDir: args["tasks-dir"], concurrency, graceMs });
    stopOnSignals(() => up.close(), logger);
    await new Promise(() => {});
  },
});
