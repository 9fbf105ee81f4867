/**
 * The environment contract (12-factor): variables override the file. The Celery-era names are
 * accepted so that a cutover can keep its ConfigMap; the LLMCTL_ name wins when both are set.
 */
import { UsageError } from "../util/errors.ts";

export type Env = Record<string, string | undefined>;

export const ENV = {
  config: "LLMCTL_CONFIG",
  environment: "LLMCTL_ENV",
  redisUrl: "LLMCTL_REDIS_URL",
  redisHost: ["LLMCTL_REDIS_HOST", "CELERY_REDIS_HOST"],
  redisPort: ["LLMCTL_REDIS_PORT", "CELERY_REDIS_PORT"],
  redisDb: ["LLMCTL_REDIS_DB", "CELERY_REDIS_BROKER_DB"],
  redisPassword: "LLMCTL_REDIS_PASSWORD",
  studioToken: "LLMCTL_STUDIO_TOKEN",
} as const;

export interface EnvValue<T> {
  value: T;
  /** The variable it came from, for `config show` and error messages. */
  name: string;
}

export function readEnvString(env: Env, names: string | readonly string[]): EnvValue<string> | undefined {
  for (const name of typeof names === "string" ? [names] : names) {
    const value = env[name];
    if (value !== undefined && value !== "") return { value, name };
  }
  return undefined;
}

export function readEnvInteger(env: Env, names: readonly string[], min: number, max: number): EnvValue<number> | undefined {
  const found = readEnvString(env, names);
  if (!found) return undefined;
  const value = Number(found.value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${found.name}="${found.value}" is not a whole number between ${min} and ${max}`, `fix or unset ${found.name}`);
  }
  return { value, name: found.name };
}
