import { loadConfigFromFlags } from "./_config.ts";
import { configArgs, defineVerb, jsonArgs, redisArgs, tasksDirArgs } from "./_shared.ts";
import { durationFlag } from "../util/duration.ts";
import { FlagError } from "../util/errors.ts";

function studioUrlFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new FlagError(`--studio: "${value}" is not a URL`, "for example --studio http://llmctl-studio:8080");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new FlagError(`--studio: "${value}" is not an http(s) URL`, "for example --studio http://llmctl-studio:8080");
  return url.href;
}

export default defineVerb({
  meta: { name: "smoke", description: "Self-test a topology: --local runs everything in this process in seconds; without it, checks a deployment (exit 1 if a check fails)" },
  args: {
    ...configArgs,
    ...redisArgs,
    ...tasksDirArgs,
    local: { type: "boolean", description: "start studio, worker and beat here on a fresh in-memory store and test them through the API" },
    timeout: { type: "string", valueHint: "DURATION", description: "how long each wait may take: a ping's answer, a dispatch (default 30s)" },
    studio: { type: "string", valueHint: "URL", description: "without --local: also check that this studio answers /readyz" },
    ...jsonArgs,
  },
  examples: [
    ["llmctl smoke --local", "the whole system in one process, no Redis needed, in a few seconds"],
    ["LLMCTL_REDIS_URL=redis://redis:6379/0 llmctl smoke --studio http://llmctl-studio:8080", "after a rollout: workers on every queue, pings answered, one beat dispatching"],
    ["llmctl smoke --local --json", "the report as JSON for CI"],
  ],
  async run({ args }) {
    const timeoutMs = args.timeout === undefined ? 30_000 : durationFlag("timeout", args.timeout);
    if (timeoutMs <= 0) throw new FlagError("--timeout must be longer than 0", "for example --timeout 30s");
    const studioUrl = studioUrlFlag(args.studio);
    if (args.local && studioUrl) throw new FlagError("--studio checks a deployed studio; --local starts its own", "drop one of them");
    const loaded = loadConfigFromFlags(args, { quiet: args.json === true });
    const { runSmoke } = await import("../smoke/index.ts");
    const ok = await runSmoke({ loaded, local: args.local === true, timeoutMs, json: args.json === true, studioUrl, tasksDir: args["tasks-dir"] });
    process.exitCode = ok ? 0 : 1;
  },
});
