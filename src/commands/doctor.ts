import { loadConfigFromFlags } from "./_config.ts";
import { configArgs, defineVerb, jsonArgs, redisArgs } from "./_shared.ts";

export default defineVerb({
  meta: { name: "doctor", description: "Check the config, the Redis server's settings and the embedded store; say what to fix (exit 1 if a check fails)" },
  args: { ...configArgs, ...redisArgs, ...jsonArgs },
  examples: [
    ["llmctl doctor", "check ./llmctl.yaml and the Redis it names"],
    ["llmctl doctor --env production --json", "the same for an environment, as JSON for a script"],
    ["llmctl doctor --redis-url embedded", "check a machine with nothing installed (embedded store)"],
  ],
  async run({ args }) {
    const { doctor } = await import("../broker/doctor.ts");
    process.exitCode = await doctor({ loadConfig: () => loadConfigFromFlags(args, { quiet: true }), json: args.json });
  },
});
