import type { TaskDefinition } from "../define.ts";
import cleanupWorkspaces from "./cleanup-workspaces.ts";
import huggingfaceDownload from "./huggingface-download.ts";
import ping from "./ping.ts";
import runAgent from "./run-agent.ts";
import runAgentTask from "./run-agent-task.ts";
import quickRag from "./quick-rag.ts";
import runIndexTask from "./run-index-task.ts";
import shell from "./shell.ts";

export const BUILTIN_TASKS: readonly TaskDefinition[] = [ping, cleanupWorkspaces, shell, runIndexTask, huggingfaceDownload, runAgent, runAgentTask, quickRag];
