import { z } from "zod";
import { defineTask } from "../define.ts";
import { commandFailure, detectPackageManager, parseApkUpgradable, parseAptUpgrades, parseDnfSecurityUpdates, runTool, type PackageManager, type PendingUpdate } from "../fleet.ts";

interface Plan {
  refresh?: string[];
  list: string[];
  parse: (output: string) => PendingUpdate[];
  /** Whether the manager tells security updates from others. */
  classified: boolean;
}

function planFor(manager: PackageManager, binary: string): Plan {
  switch (manager) {
    case "apt":
      // A simulated upgrade lists every pending update with its origin; "-security" origins are security updates.
      return { refresh: [binary, "update", "-q"], list: [binary, "-s", "-q", "-o", "Debug::NoLocking=1", "upgrade"], parse: parseAptUpgrades, classified: true };
    case "dnf":
      return { refresh: [binary, "-q", "makecache"], list: [binary, "-q", "updateinfo", "list", "--security", "--available"], parse: parseDnfSecurityUpdates, classified: true };
    case "apk":
      return { refresh: [binary, "update", "-q"], list: [binary, "list", "--upgradable"], parse: parseApkUpgradable, classified: false };
  }
}

/** Lists pending security updates from the host's package manager as structured data. */
export default defineTask({
  name: "check_security_updates",
  description: "List pending security updates from the host's package manager (apt, dnf or apk) as structured data",
  timeout: "10m",
  attempts: 1,
  args: z.strictObject({
    refresh: z.boolean().default(true).describe("refresh the package lists first (apt-get update, dnf makecache, apk update)"),
  }),
  async handler(context) {
    const { manager, binary } = detectPackageManager(context.config);
    const plan = planFor(manager, binary);
    if (context.args.refresh && plan.refresh) {
      await context.progress({ percent: 10, phase: "refreshing package lists" });
      const refreshed = await runTool(context, plan.refresh, { DEBIAN_FRONTEND: "noninteractive" });
      if (refreshed.exit_code !== 0) throw commandFailure(plan.refresh, refreshed);
    }
    await context.progress({ percent: 50, phase: "listing updates" });
    const listed = await runTool(context, plan.list);
    if (listed.exit_code !== 0) throw commandFailure(plan.list, listed);
    const pending = plan.parse(listed.stdout);
    // apk cannot tell security updates apart: every pending update is reported, marked unclassified.
    const security = plan.classified ? pending.filter((update) => update.security === true) : pending;
    await context.progress({ percent: 100, phase: "done" });
    return {
      manager,
      refreshed: context.args.refresh,
      classified: plan.classified,
      security_count: security.length,
      pending_count: pending.length,
      security_updates: security,
      ...(plan.classified ? {} : { note: `${manager} does not mark security updates; every pending update is listed` }),
    };
  },
});
