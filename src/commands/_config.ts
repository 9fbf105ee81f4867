/** Loading the config named by the shared flags, for commands that need it. */
import { formatDiagnostic } from "../config/diagnostics.ts";
import { loadConfig, type LoadedConfig } from "../config/load.ts";

export interface ConfigFlags {
  config?: string;
  env?: string;
  "redis-url"?: string;
}

/** Loads the config named by the flags and prints its warnings to stderr. */
export function loadConfigFromFlags(flags: ConfigFlags, options: { quiet?: boolean } = {}): LoadedConfig {
  const loaded = loadConfig({ configPath: flags.config, environment: flags.env, redisUrl: flags["redis-url"] });
  if (!options.quiet) for (const warning of loaded.warnings) console.error(formatDiagnostic(warning));
  return loaded;
}
