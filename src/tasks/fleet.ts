/**
 * Fleet chores on the worker's own host: the package manager (apt, dnf or apk, whichever is
 * found on fleet.path) and systemctl. Commands are argv lists, never shell strings, run with a
 * fixed environment (LC_ALL=C, so their output parses the same everywhere), in their own process
 * group so a revoke kills them. Their output is parsed into structured results here.
 */
import { basename } from "node:path";
import type { ConfigFile } from "../config/schema.ts";
import { RuntimeError } from "../util/errors.ts";
import type { TaskContext } from "./define.ts";
import { permanent } from "./failure.ts";
import { lastLines, runProcess, type ProcessResult } from "./process.ts";

/** Package names of Debian, RPM and Alpine alike; no leading '-' (an option), no shell metacharacters. */
export const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]{0,127}$/;
/** systemd unit names (instance '@', templates, '.service' suffix); no leading '-'. */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9@._:-]{0,254}$/;

export type PackageManager = "apt" | "dnf" | "apk";

/** The binary that identifies each manager, in the order they are looked for. */
const MANAGER_BINARIES: Array<[PackageManager, string]> = [
  ["apt", "apt-get"],
  ["dnf", "dnf"],
  ["apk", "apk"],
];

export function findBinary(config: ConfigFile, name: string): string | undefined {
  return Bun.which(name, { PATH: config.fleet.path }) ?? undefined;
}

export function detectPackageManager(config: ConfigFile): { manager: PackageManager; binary: string } {
  for (const [manager, name] of MANAGER_BINARIES) {
    const binary = findBinary(config, name);
    if (binary) return { manager, binary };
  }
  throw permanent(new RuntimeError(`not supported here: no apt-get, dnf or apk on this host (searched fleet.path: ${config.fleet.path})`, "run the task on a Debian/Ubuntu, Fedora/RHEL or Alpine host, or fix fleet.path"));
}

/** What a fleet command printed, whole (up to a bound): listings can be longer than the tails kept for errors. */
export type ToolResult = ProcessResult & { stdout: string };
const MAX_COLLECTED_LINES = 100_000;

/** Runs a fleet command; its output lines go to the job log. */
export async function runTool(context: TaskContext<unknown>, argv: string[], env: Record<string, string> = {}): Promise<ToolResult> {
  const stdout: string[] = [];
  const result = await runProcess(argv, {
    env: { PATH: context.config.fleet.path, LC_ALL: "C", LANG: "C", ...env },
    signal: context.signal,
    onLine: (stream, line) => {
      if (stream === "stdout" && stdout.length < MAX_COLLECTED_LINES) stdout.push(line);
      // Not awaited, so a failed write (Redis away for a moment) must not become an unhandled rejection.
      context.log(`${stream}: ${line}`).catch(() => {});
    },
  });
  return { ...result, stdout: stdout.join("\n") };
}

export function commandFailure(argv: string[], result: ProcessResult): RuntimeError {
  const detail = lastLines(result.stderr_tail) || lastLines(result.stdout_tail);
  const how = result.exit_code === null ? `signal ${result.signal}` : `code ${result.exit_code}`;
  return new RuntimeError(`${basename(argv[0]!)} ${argv[1] ?? ""} exited with ${how}${detail ? `: ${detail}` : ""}`);
}

export interface PackageChange {
  name: string;
  version: string;
  action: "install" | "upgrade";
}

/** `apt-get -s install|upgrade`: "Inst NAME [CURRENT] (NEW ORIGIN [ARCH])". */
export function parseAptSimulation(output: string): Array<PackageChange & { current: string | null; origin: string }> {
  const changes = [];
  for (const match of output.matchAll(/^Inst (\S+) (?:\[([^\]]+)\] )?\((\S+) (.*?)(?: \[[^\]]+\])?\)/gm)) {
    changes.push({ name: match[1]!, current: match[2] ?? null, version: match[3]!, origin: match[4]!, action: match[2] ? ("upgrade" as const) : ("install" as const) });
  }
  return changes;
}

/** `apt-get install` for real: "Setting up NAME[:ARCH] (VERSION) ...". */
export function parseAptInstalled(output: string): PackageChange[] {
  return [...output.matchAll(/^Setting up ([^\s:]+)(?::\S+)? \(([^)]+)\)/gm)].map((match) => ({ name: match[1]!, version: match[2]!, action: "install" as const }));
}

export function parseAptAlreadyInstalled(output: string): string[] {
  return [...output.matchAll(/^(\S+) is already the newest version/gm)].map((match) => match[1]!);
}

/** dnf's transaction table: rows under "Installing:", "Installing dependencies:", "Upgrading:". */
export function parseDnfTransaction(output: string): PackageChange[] {
  const changes: PackageChange[] = [];
  let action: PackageChange["action"] | undefined;
  for (const line of output.split("\n")) {
    const header = /^(Installing|Upgrading|Installing dependencies|Installing weak dependencies)\s*:?\s*$/.exec(line.trim());
    if (header) {
      action = header[1] === "Upgrading" ? "upgrade" : "install";
      continue;
    }
    if (!line.startsWith(" ")) {
      action = undefined;
      continue;
    }
    const row = /^\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+[\d.]+\s*[kMG]?$/.exec(line);
    if (action && row) changes.push({ name: row[1]!, version: row[3]!, action });
  }
  return changes;
}

export function parseDnfAlreadyInstalled(output: string): string[] {
  return [...output.matchAll(/^Package (\S+) is already installed\.?$/gm)].map((match) => splitNevra(match[1]!).name);
}

/** apk add: "(1/2) Installing NAME (VERSION)" or "Upgrading NAME (OLD -> NEW)". */
export function parseApkChanges(output: string): PackageChange[] {
  return [...output.matchAll(/^\(\d+\/\d+\) (Installing|Upgrading) (\S+) \((?:\S+ -> )?([^)]+)\)/gm)].map((match) => ({
    name: match[2]!,
    version: match[3]!,
    action: match[1] === "Upgrading" ? ("upgrade" as const) : ("install" as const),
  }));
}

/** name-[epoch:]version-release.arch, as dnf prints packages. */
export function splitNevra(nevra: string): { name: string; version: string; arch: string | null } {
  const arch = /\.(x86_64|aarch64|i686|noarch|ppc64le|s390x|armv7hl|src)$/.exec(nevra);
  const rest = arch ? nevra.slice(0, -arch[0].length) : nevra;
  const parts = rest.split("-");
  if (parts.length < 3) return { name: rest, version: "", arch: arch?.[1] ?? null };
  return { name: parts.slice(0, -2).join("-"), version: parts.slice(-2).join("-"), arch: arch?.[1] ?? null };
}

/** "name-1.2.3-r4" as apk prints packages. */
export function splitApkPackage(text: string): { name: string; version: string } {
  const match = /^(.+?)-(\d[^-]*-r\d+)$/.exec(text);
  return match ? { name: match[1]!, version: match[2]! } : { name: text, version: "" };
}

export interface PendingUpdate {
  name: string;
  current: string | null;
  available: string;
  /** Where the update comes from: the apt origin, the dnf advisory, the apk repository tag. */
  source: string;
  /** true/false where the package manager classifies updates, null where it cannot (apk). */
  security: boolean | null;
  severity?: string;
  advisory?: string;
}

export function parseAptUpgrades(output: string): PendingUpdate[] {
  return parseAptSimulation(output).map((change) => ({ name: change.name, current: change.current, available: change.version, source: change.origin, security: /security/i.test(change.origin) }));
}

/**
 * `dnf updateinfo list --security`: dnf 4 prints "ADVISORY SEVERITY/Sec. NEVRA"; dnf 5 prints a
 * table "Name Type Severity Package Issued".
 */
export function parseDnfSecurityUpdates(output: string): PendingUpdate[] {
  const updates: PendingUpdate[] = [];
  for (const line of output.split("\n")) {
    const dnf4 = /^(\S+)\s+(\S+)\/Sec\.\s+(\S+)\s*$/.exec(line);
    const dnf5 = /^(\S+)\s+security\s+(\S+)\s+(\S+)\s+\d{4}-\d\d-\d\d/.exec(line);
    const match = dnf4 ?? dnf5;
    if (!match) continue;
    const { name, version } = splitNevra(match[3]!);
    updates.push({ name, current: null, available: version, source: match[1]!, security: true, severity: match[2]!, advisory: match[1]! });
  }
  return updates;
}

/** `apk list --upgradable`: "NAME-NEW ARCH {ORIGIN} (LICENSE) [upgradable from: NAME-OLD]". */
export function parseApkUpgradable(output: string): PendingUpdate[] {
  const updates: PendingUpdate[] = [];
  for (const match of output.matchAll(/^(\S+) \S+ \{([^}]*)\} \([^)]*\) \[upgradable from: (\S+)\]$/gm)) {
    const available = splitApkPackage(match[1]!);
    updates.push({ name: available.name, current: splitApkPackage(match[3]!).version || null, available: available.version, source: match[2]!, security: null });
  }
  return updates;
}

/** `systemctl show --property=...`: KEY=VALUE lines. */
export function parseSystemctlShow(output: string): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const line of output.split("\n")) {
    const index = line.indexOf("=");
    if (index > 0) properties[line.slice(0, index)] = line.slice(index + 1);
  }
  return properties;
}
