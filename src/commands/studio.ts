import { loadConfigFromFlags } from "./_config.ts";
import { configArgs, defineVerb, portFlag, redisArgs, tasksDirArgs } from "./_shared.ts";
import { UsageError } from "../util/errors.ts";
import { createLogger } from "../util/logger.ts";
import { stopOnSignals } from "../util/signals.ts";

export default defineVerb({
  meta: { name: "studio", description: "Serve the API and the live dashboard: enqueue, inspect, retry, revoke (it never runs jobs)" },
  args: {
    ...configArgs,
    ...redisArgs,
    ...tasksDirArgs,
    host: { type: "string", valueHint: "ADDR", description: "address to listen on (default: studio.host, 127.0.0.1)" },
    port: { type: "string", valueHint: "PORT", description: "port to listen on (default: studio.port, 8080)" },
    "token-file": { type: "string", valueHint: "FILE", description: "file holding the bearer token (default: $LLMCTL_STUDIO_TOKEN, then studio.token_file)" },
    insecure: { type: "boolean", description: "allow a non-loopback address without a token (only behind something that authenticates)" },
  },
  examples: [
    ["llmctl studio", "dashboard and API on http://127.0.0.1:8080/"],
    ["LLMCTL_STUDIO_TOKEN=$(cat /run/secrets/studio-token) llmctl studio --host 0.0.0.0", "listen on every address, guarded by a token"],
    ["llmctl studio --port 9000 --token-file /etc/llmctl/studio-token", "another port, token from a mounted file"],
  ],
  async run({ args }) {
    const port = portFlag("port", args.port);
    const loaded = loadConfigFromFlags(args);
    if (loaded.redis.kind === "embedded") {
      throw new UsageError(
        "the studio alone cannot use the embedded store: it lives inside one process, and no worker would share it",
        "set LLMCTL_REDIS_URL (or redis.url) to the Redis your workers use, or run studio, worker and beat together with llmctl up",
      );
    }
    const logger = createLogger({ name: "llmctl.studio" });
    const { start } = await import("../studio/index.ts");
    const studio = await start({ loaded, logger, host: args.host, port, insecure: args.insecure, tokenFile: args["token-file"], tasksDir: args["tasks-dir"] });
    process.stderr.write(`llmctl studio: ${studio.url}\n`);
    stopOnSignals(() => studio.close(), logger);
    await new Promise(() => {});
  },
});
