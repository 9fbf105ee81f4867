import type { TaskDefinition } from "../define.ts";
import checkSecurityUpdates from "./check-security-updates.ts";
import cleanupWorkspaces from "./cleanup-workspaces.ts";
import huggingfaceDownload from "./huggingface-download.ts";
import install from "./install.ts";
import ping from "./ping.ts";
import runAgent from "./run-agent.ts";
import runAgentTask from "./run-agent-task.ts";
import quickRag from "./quick-rag.ts";
import runIndexTask from "./run-index-task.ts";
import service from "./service.ts";
import shell from "./shell.ts";
import workflow from "./workflow.ts";

export const BUILTIN_TASKS: readonly TaskDefinition[] = [ping, cleanupWorkspaces, shell, runIndexTask, huggingfaceDownload, runAgent, runAgentTask, quickRag, install, checkSecurityUpdates, service, workflow];
