/**
 * Finding, reading and validating llmctl.yaml, then applying the selected environment and the
 * environment variables. Every problem in the file is collected and reported at once.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import builtinContract from "../../config/llmctl.yaml" with { type: "text" };
import { ConfigError, SourceLocator, type Diagnostic } from "./diagnostics.ts";
import { ENV, readEnvString, type Env } from "./env.ts";
import { resolveRedisTarget, type RedisTarget } from "./redis-target.ts";
import { configSchema, type ConfigFile } from "./schema.ts";
import { structureDiagnostics } from "./structure.ts";
import { semanticDiagnostics } from "./validate.ts";
import { UsageError, errorMessage } from "../util/errors.ts";
import { didYouMean } from "../util/suggest.ts";

export const CONFIG_FILE_NAMES = ["llmctl.yaml", "cl.yaml"] as const;
export const BUILTIN_CONFIG_NAME = "<built-in default contract>";

export type ConfigSource = "--config" | typeof ENV.config | "working directory" | "built-in";

export interface LoadOptions {
  /** --config */
  configPath?: string;
  /** --env */
  environment?: string;
  /** --redis-url */
  redisUrl?: string;
  env?: Env;
  cwd?: string;
  /** Clock for DST look-ahead; tests pin it. */
  now?: Date;
}

export interface LoadedConfig {
  /** Absolute path of the file, or undefined for the built-in contract. */
  path?: string;
  source: ConfigSource;
  environment?: string;
  config: ConfigFile;
  redis: RedisTarget;
  warnings: Diagnostic[];
  /** Positions in the file, for checks that run after loading (unknown tasks once the task registry is known). */
  locator?: SourceLocator;
}

export interface ConfigLocation {
  path?: string;
  source: ConfigSource;
}

export function locateConfig(options: Pick<LoadOptions, "configPath" | "env" | "cwd">): ConfigLocation {
  const cwd = options.cwd ?? process.cwd();
  if (options.configPath) return { path: resolve(cwd, options.configPath), source: "--config" };
  const fromEnv = readEnvString(options.env ?? process.env, ENV.config);
  if (fromEnv) return { path: resolve(cwd, fromEnv.value), source: ENV.config };
  for (const name of CONFIG_FILE_NAMES) {
    const candidate = resolve(cwd, name);
    if (existsSync(candidate)) return { path: candidate, source: "working directory" };
  }
  return { source: "built-in" };
}

/** Reads the file as text, refusing what cannot be a config file with a message that says why. */
export function readConfigText(path: string, source: ConfigSource): string {
  let bytes: Buffer;
  try {
    if (statSync(path).isDirectory()) {
      throw new UsageError(`config ${path} is a directory`, "point --config at a YAML file, e.g. llmctl.yaml inside it");
    }
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new UsageError(
        `config file ${path} does not exist (from ${source})`,
        `create it with: llmctl config init ${path}`,
      );
    }
    if (code === "EACCES" || code === "EPERM") {
      throw new UsageError(`config file ${path} is not readable: permission denied`, `check its permissions (chmod 644 ${path}) or run as its owner`);
    }
    throw new UsageError(`config file ${path} cannot be read: ${errorMessage(error)}`);
  }
  if (bytes.includes(0)) {
    throw new UsageError(`config file ${path} is a binary file, not YAML`, "point --config at your llmctl.yaml");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`config file ${path} is not UTF-8 text`, "save it as UTF-8");
  }
  if (text.trim() === "") {
    throw new UsageError(`config file ${path} is empty`, `write a starter config with: llmctl config init --force ${path}`);
  }
  return text;
}

export interface ParsedConfig {
  config: ConfigFile;
  warnings: Diagnostic[];
  locator: SourceLocator;
}

/** Parses and validates config text; throws ConfigError with every error found. */
export function parseConfig(text: string, file: string, options: { now?: Date } = {}): ParsedConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locator = new SourceLocator(file, document, lineCounter);
  if (document.errors.length > 0) {
    throw new ConfigError(
      document.errors.map((error) => {
        const { line, column } = locator.position(error.pos[0]);
        return {
          severity: "error" as const,
          file,
          line,
          column,
          path: "",
          message: `YAML syntax: ${error.message.split("\n")[0]}`,
          fix: "fix the YAML syntax (indent with spaces, quote values that contain ': ' or start with '*')",
        };
      }),
    );
  }
  const raw: unknown = document.toJS();
  if (raw === null || raw === undefined) {
    throw new UsageError(`config file ${file} holds no settings, only comments`, `write a starter config with: llmctl config init --force ${file}`);
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError([locator.diagnostic("error", [], "the top level must be a mapping of settings (redis:, queues:, …)", "start from: llmctl config init")]);
  }
  const parsed = configSchema.safeParse(raw);
  const diagnostics = [
    ...(parsed.success ? [] : structureDiagnostics(parsed.error.issues, raw, locator)),
    ...semanticDiagnostics(raw, locator, { now: options.now }),
  ].sort((a, b) => a.line - b.line || a.column - b.column);
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0 || !parsed.success) throw new ConfigError(diagnostics);
  return { config: parsed.data, warnings: diagnostics, locator };
}

/** Applies `environments.<name>`: its redis settings layer over the file's, its roles replace same-named roles. */
function selectEnvironment(config: ConfigFile, name: string | undefined): ConfigFile {
  if (!name) return config;
  const environment = config.environments[name];
  if (!environment) {
    const names = Object.keys(config.environments);
    throw new UsageError(
      `environment "${name}" is not defined${didYouMean(name, names)}`,
      names.length ? `use one of: ${names.join(", ")}` : "add it under environments: in the config, or drop --env / LLMCTL_ENV",
    );
  }
  return { ...config, workers: { ...config.workers, ...(environment.workers ?? {}) } };
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const location = locateConfig({ ...options, env });
  const file = location.path ?? BUILTIN_CONFIG_NAME;
  const text = location.path ? readConfigText(location.path, location.source) : builtinContract;
  const { config: fileConfig, warnings, locator } = parseConfig(text, file, { now: options.now });
  const environmentName = options.environment ?? readEnvString(env, ENV.environment)?.value;
  const config = selectEnvironment(fileConfig, environmentName);
  const redis = resolveRedisTarget({
    file: fileConfig.redis,
    environment: environmentName ? { name: environmentName, redis: fileConfig.environments[environmentName]?.redis } : undefined,
    env,
    flagUrl: options.redisUrl,
  });
  return { path: location.path, source: location.source, environment: environmentName, config, redis, warnings, locator };
}
