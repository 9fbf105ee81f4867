import { ConfigError, type Diagnostic } from "../../src/config/diagnostics.ts";
import { parseConfig, type LoadedConfig } from "../../src/config/load.ts";
import { resolveRedisTarget } from "../../src/config/redis-target.ts";

/** A loaded config from YAML text, pointing at the given Redis URL. */
export function loadedConfig(text: string, redisUrl: string): LoadedConfig {
  const { config, warnings, locator } = parseConfig(text, "test.yaml");
  return { source: "--config", config, redis: resolveRedisTarget({ env: {}, flagUrl: redisUrl }), warnings, locator };
}

export const FIVE_QUEUES = `
prefix: t
queues: [q1, q2, q3, q4, q5]
workers:
  web: { hostnames: [w1, w2], queue: web_q }
worker: { heartbeat: 500ms, lock_duration: 2s, stalled_interval: 1s }
`;

/** The errors parseConfig reports for `text`; fails the test when the config is accepted. */
export function configErrors(text: string, now: Date): Diagnostic[] {
  try {
    parseConfig(text, "test.yaml", { now });
  } catch (error) {
    if (error instanceof ConfigError) return error.diagnostics.filter((d) => d.severity === "error");
    throw error;
  }
  throw new Error("expected the config to be rejected");
}
