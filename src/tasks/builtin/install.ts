import { z } from "zod";
import { defineTask } from "../define.ts";
import {
  PACKAGE_NAME,
  commandFailure,
  detectPackageManager,
  parseApkChanges,
  parseAptAlreadyInstalled,
  parseAptInstalled,
  parseAptSimulation,
  parseDnfAlreadyInstalled,
  parseDnfTransaction,
  runTool,
  type PackageChange,
  type PackageManager,
} from "../fleet.ts";

function installArgv(manager: PackageManager, binary: string, packages: string[], dryRun: boolean): string[] {
  switch (manager) {
    case "apt":
      return [binary, "install", ...(dryRun ? ["-s"] : ["-y"]), "--no-install-recommends", ...packages];
    case "dnf":
      // --assumeno shows the transaction and stops: dnf's dry run.
      return [binary, "install", dryRun ? "--assumeno" : "-y", ...packages];
    case "apk":
      return [binary, "add", ...(dryRun ? ["--simulate"] : []), ...packages];
  }
}

function changesOf(manager: PackageManager, output: string, dryRun: boolean): { changes: PackageChange[]; alreadyInstalled: string[] } {
  switch (manager) {
    case "apt":
      return { changes: dryRun ? parseAptSimulation(output).map(({ name, version, action }) => ({ name, version, action })) : parseAptInstalled(output), alreadyInstalled: parseAptAlreadyInstalled(output) };
    case "dnf":
      return { changes: parseDnfTransaction(output), alreadyInstalled: parseDnfAlreadyInstalled(output) };
    case "apk":
      return { changes: parseApkChanges(output), alreadyInstalled: [] };
  }
}

/** Installs packages with the host's package manager (apt, dnf or apk, detected); dry_run shows what would change. */
export default defineTask({
  name: "install",
  description: "Install packages with the host's package manager (apt, dnf or apk, detected); dry_run lists what would be installed",
  timeout: "15m",
  attempts: 1,
  args: z.strictObject({
    packages: z
      .array(z.string().regex(PACKAGE_NAME, "a package name: letters, digits, '+', '.', '_' and '-', not starting with '-'"))
      .min(1)
      .max(100)
      .describe("package names"),
    dry_run: z.boolean().default(false).describe("simulate: report what would be installed, change nothing"),
  }),
  positional: ["packages"],
  async handler(context) {
    const { args } = context;
    const { manager, binary } = detectPackageManager(context.config);
    const argv = installArgv(manager, binary, args.packages, args.dry_run);
    await context.progress({ percent: 0, phase: `${manager}: ${args.dry_run ? "simulating" : "installing"} ${args.packages.join(" ")}` });
    const result = await runTool(context, argv, manager === "apt" ? { DEBIAN_FRONTEND: "noninteractive" } : {});
    const output = `${result.stdout}\n${result.stderr_tail}`;
    const abortedDryRun = manager === "dnf" && args.dry_run && result.exit_code === 1 && /Operation aborted/.test(output);
    if (result.exit_code !== 0 && !abortedDryRun) throw commandFailure(argv, result);
    const { changes, alreadyInstalled } = changesOf(manager, output, args.dry_run);
    await context.progress({ percent: 100, phase: "done" });
    return { manager, dry_run: args.dry_run, requested: args.packages, changes, already_installed: alreadyInstalled, argv, duration_ms: result.duration_ms };
  },
});
