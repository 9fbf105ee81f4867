#!/usr/bin/env bun
/**
 * The llmctl command line. Each subcommand is imported only when it runs, so that
 * `llmctl --version` and `llmctl --help` do not pay for BullMQ, the store or the studio.
 */
import { VERSION } from "./version.ts";

const argv = process.argv.slice(2);

if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  process.stdout.write(`llmctl ${VERSION}\n`);
  process.exit(0);
}

const { root } = await import("./commands/index.ts");
const { runCli } = await import("./commands/_cli.ts");

process.exitCode = await runCli(root, argv, "llmctl");
