import { z } from "zod";
import { defineTask } from "../define.ts";
import { childEnvironment, commandAllowed, lastLines, runProcess } from "../process.ts";
import { parseDurationMs } from "../../util/duration.ts";
import { RuntimeError } from "../../util/errors.ts";

const argsSchema = z.strictObject({
  argv: z.array(z.string()).min(1).describe("the command and its arguments; never run through a shell"),
  cwd: z.string().optional().describe("working directory"),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional().describe("extra environment variables"),
  timeout: z.string().refine((value) => parseDurationMs(value) !== undefined, "a duration such as 30s").optional().describe("kill the command after this long"),
  check: z.boolean().default(true).describe("fail the job when the command exits non-zero"),
});

/** Runs an argv command with a timeout, cwd and an env allowlist; kills the process group on timeout or revoke. */
export default defineTask({
  name: "shell",
  description: "Run an argv command (no shell) with timeout, cwd and env; returns exit code and output tails",
  args: argsSchema,
  positional: ["argv"],
  async handler({ args, signal, config, log }) {
    const command = args.argv[0]!;
    if (!commandAllowed(config.shell, command)) {
      throw new RuntimeError(`command ${command} is not allowed by shell.allowed_commands (${config.shell.allowed_commands.join(", ")})`);
    }
    const timeoutMs = args.timeout ? parseDurationMs(args.timeout) : undefined;
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = timeoutMs ? setTimeout(() => controller.abort(new RuntimeError(`${command} timed out after ${args.timeout}`)), timeoutMs) : undefined;
    try {
      const result = await runProcess(args.argv, {
        cwd: args.cwd,
        env: childEnvironment(config.shell, args.env),
        signal: controller.signal,
        // Not awaited, so a failed write (Redis away for a moment) must not become an unhandled rejection.
        onLine: (stream, line) => void log(`${stream}: ${line}`).catch(() => {}),
      });
      if (args.check && result.exit_code !== 0) {
        const detail = lastLines(result.stderr_tail) || lastLines(result.stdout_tail);
        throw new RuntimeError(`${command} exited with ${result.exit_code === null ? `signal ${result.signal}` : `code ${result.exit_code}`}${detail ? `: ${detail}` : ""}`);
      }
      return { argv: args.argv, ...result };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  },
});
