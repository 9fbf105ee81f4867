/**
 * Flags shared by several commands, defined once. This module imports nothing heavy, so that
 * `llmctl --help` stays fast; commands only parse flags, the work happens in what they call.
 */
import type { ArgsDef, CommandDef } from "citty";
import { FlagError } from "../util/errors.ts";

export const configArgs = {
  config: {
    type: "string",
    alias: "c",
    valueHint: "FILE",
    description: "config file (default: $LLMCTL_CONFIG, ./llmctl.yaml, ./cl.yaml, then the built-in contract)",
  },
  env: {
    type: "string",
    valueHint: "NAME",
    description: "apply environments.NAME from the config (default: $LLMCTL_ENV)",
  },
} as const satisfies ArgsDef;

export const redisArgs = {
  "redis-url": {
    type: "string",
    valueHint: "URL",
    description: "Redis to use, overriding config and env (redis://, rediss://, embedded, embedded:///path)",
  },
} as const satisfies ArgsDef;

export const jsonArgs = {
  json: { type: "boolean", description: "print JSON instead of a table" },
} as const satisfies ArgsDef;

export type Examples = ReadonlyArray<readonly [command: string, explanation: string]>;

/** A citty command with examples for its --help. */
export type Verb<T extends ArgsDef = ArgsDef> = CommandDef<T> & {
  examples?: Examples;
  /** Accepts any number of trailing positional arguments (e.g. task arguments). */
  variadic?: boolean;
};

export function defineVerb<const T extends ArgsDef = ArgsDef>(verb: Verb<T>): Verb<T> {
  return verb;
}

/** Parses a positive whole number flag or explains what is wrong with it. */
export function positiveIntegerFlag(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new FlagError(`--${flag}: "${value}" is not a whole number of 1 or more`, `for example --${flag} ${fallback}`);
  }
  return parsed;
}

/**
 * A subcommand imported only when it runs. The description is given here so that listing
 * commands in --help does not import them all.
 */
export function lazyVerb(description: string, load: () => Promise<{ default: Verb<any> }>): (() => Promise<Verb<any>>) & { description: string } {
  return Object.assign(() => load().then((module) => module.default), { description });
}

export const tasksDirArgs = {
  "tasks-dir": { type: "string", valueHint: "DIR", description: "directory of task modules (default: tasks_dir from the config)" },
} as const satisfies ArgsDef;

/** Where the studio listens and its token: `llmctl studio` and `llmctl up`. */
export const studioArgs = {
  host: { type: "string", valueHint: "ADDR", description: "address the studio listens on (default: studio.host, 127.0.0.1)" },
  port: { type: "string", valueHint: "PORT", description: "port the studio listens on (default: studio.port, 8080; 0 picks a free one)" },
  "token-file": { type: "string", valueHint: "FILE", description: "file holding the studio's bearer token (default: $LLMCTL_STUDIO_TOKEN, then studio.token_file)" },
} as const satisfies ArgsDef;

/** A worker's slots and shutdown grace: `llmctl worker` and `llmctl up`. */
export const slotArgs = {
  concurrency: { type: "string", valueHint: "N", description: "jobs the worker runs at once across its queues (default: worker.concurrency, 2)" },
  grace: { type: "string", valueHint: "DURATION", description: "on SIGTERM/Ctrl-C, how long running jobs may take to finish (default: worker.grace, 30s)" },
} as const satisfies ArgsDef;

/** Parses a TCP port flag (0 picks a free port). */
export function portFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new FlagError(`--${flag}: "${value}" is not a port number (0-65535)`, `for example --${flag} 9090`);
  }
  return port;
}

/** Splits a comma-separated flag value. */
export function listFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").map((part) => part.trim()).filter(Boolean);
}
