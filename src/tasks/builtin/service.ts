import { z } from "zod";
import { defineTask } from "../define.ts";
import { permanent } from "../failure.ts";
import { SERVICE_NAME, findBinary, parseSystemctlShow, runTool } from "../fleet.ts";
import { lastLines } from "../process.ts";
import { RuntimeError } from "../../util/errors.ts";

const PROPERTIES = ["Id", "LoadState", "ActiveState", "SubState", "UnitFileState", "MainPID", "ActiveEnterTimestamp"];
const NO_SYSTEMD = /System has not been booted with systemd|Failed to connect to bus|Host is down/;

/** start / stop / restart / status of a systemd unit, through systemctl; "not supported here" without it. */
export default defineTask({
  name: "service",
  description: "Start, stop, restart or show the status of a systemd service (systemctl); fails with 'not supported here' without systemd",
  timeout: "2m",
  attempts: 1,
  args: z.strictObject({
    action: z.enum(["start", "stop", "restart", "status"]).default("status").describe("what to do"),
    name: z.string().regex(SERVICE_NAME, "a unit name: letters, digits, '@', '.', '_', ':' and '-', not starting with '-'").describe("the service, e.g. nginx or nginx.service"),
  }),
  positional: ["action", "name"],
  async handler(context) {
    const { args, config } = context;
    const systemctl = findBinary(config, "systemctl");
    if (!systemctl) {
      throw permanent(new RuntimeError(`not supported here: systemctl was not found on this host (searched fleet.path: ${config.fleet.path}); service management needs systemd`));
    }
    const unit = args.name;
    const run = async (argv: string[]) => {
      const result = await runTool(context, argv);
      const output = `${result.stderr_tail}\n${result.stdout_tail}`;
      if (NO_SYSTEMD.test(output)) throw permanent(new RuntimeError(`not supported here: systemd is not running on this host (${lastLines(output, 1)})`));
      if (result.exit_code !== 0) throw new RuntimeError(`systemctl ${argv[1]} ${unit} failed (exit ${result.exit_code ?? result.signal}): ${lastLines(output, 3) || "no output"}`);
      return result;
    };
    if (args.action !== "status") {
      await context.progress({ percent: 10, phase: `${args.action} ${unit}` });
      await run([systemctl, args.action, "--no-ask-password", unit]);
    }
    const shown = parseSystemctlShow((await run([systemctl, "show", "--no-pager", `--property=${PROPERTIES.join(",")}`, unit])).stdout);
    if (shown.LoadState === "not-found") throw permanent(new RuntimeError(`no unit named ${unit} on this host (systemctl: LoadState=not-found)`));
    await context.progress({ percent: 100, phase: "done" });
    return {
      unit: shown.Id || unit,
      action: args.action,
      active: shown.ActiveState === "active",
      load_state: shown.LoadState ?? null,
      active_state: shown.ActiveState ?? null,
      sub_state: shown.SubState ?? null,
      unit_file_state: shown.UnitFileState || null,
      main_pid: shown.MainPID ? Number(shown.MainPID) : null,
      since: shown.ActiveEnterTimestamp || null,
    };
  },
});
