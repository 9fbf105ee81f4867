/**
 * `llmctl config init`: a commented starter config with the default queue contract and a
 * fleet example. It starts with the yaml-language-server comment, and the JSON Schema is
 * written beside it, so editors complete and check the file offline.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseConfig } from "./load.ts";
import { configJsonSchema } from "./schema.ts";
import { UsageError } from "../util/errors.ts";
import { writeFileAtomic } from "../util/fs.ts";

export const SCHEMA_FILE_NAME = "llmctl.schema.json";

export const STARTER_CONFIG = `# yaml-language-server: $schema=./${SCHEMA_FILE_NAME}
#
# llmctl configuration. Check it with:   llmctl config validate
# See the effective settings with:       llmctl config show
#
# Environment variables override this file: LLMCTL_REDIS_URL, or LLMCTL_REDIS_HOST, _PORT,
# _DB and _PASSWORD (the Celery-era CELERY_REDIS_HOST, _PORT and _BROKER_DB work too).
# Passwords never go here: use LLMCTL_REDIS_PASSWORD or redis.password_file.

redis:
  url: redis://localhost:6379/0      # 'embedded' runs an in-process store (llmctl up)

prefix: llmctl                       # key namespace in Redis

# The queue contract. The first queue is the default one: tasks without a route go there.
queues:
  - llmctl_studio
  - llmctl_studio.downloads.huggingface
  - llmctl_studio.rag.index
  - llmctl_studio.rag.drive
  - llmctl_studio.rag.git

# Task -> queue. Tasks not listed go to their own default queue, then to the default queue.
routes:
  rag.worker.tasks.run_index_task: llmctl_studio.rag.index
  services.tasks.run_huggingface_download_task: llmctl_studio.downloads.huggingface

# Fleet roles. A target naming a role sends one job to each host, on <queue>.<hostname>;
# "webserver:any" sends one job that any webserver host may take.
# Start a host's worker with: llmctl worker --role webserver --hostname webserver01
workers:
  webserver:
    hostnames: [webserver01, webserver02]
    queue: webserver_tasks
  database:
    hostnames: [database01]
    queue: database_tasks

# Cron schedules, dispatched by beat once per fire time and target.
# catchup decides what happens to fire times missed while beat was down: skip, once or all.
schedules:
  workspace_cleanup:
    cron: "0 * * * *"
    timezone: UTC
    task: services.tasks.cleanup_workspaces
    description: Remove stale agent workspaces
    enabled: true
  security_updates:
    cron: "0 2 * * *"
    timezone: UTC
    task: check_security_updates
    targets: [webserver, database]
    description: Daily security update check
    enabled: true
    catchup: once

# Per-task options: timeout, attempts (the first try included), backoff, queue, priority.
tasks:
  check_security_updates: { timeout: 10m, attempts: 3, backoff: exponential }

# Model downloads (services.tasks.run_huggingface_download_task). HF_ENDPOINT and HF_TOKEN
# in the worker's environment name the hub and its token.
models:
  dir: /var/lib/llmctl/models
  min_free: 10GiB                    # a download that would leave less free refuses to start

# The OpenAI-compatible endpoint of run_agent, run_agent_task and run_quick_rag_task.
# llm:
#   base_url: http://localhost:8000/v1
#   model: qwen2.5-7b-instruct
#   api_key_env: OPENAI_API_KEY      # the variable holding the key, never the key itself
# agents:
#   ops-helper:
#     system_prompt: You help operators check the fleet.
#     tools: [llmctl.ping, check_security_updates]   # tasks it may call, each as a child job
# rag:
#   collections:
#     runbooks: { dir: /srv/runbooks }   # .txt and .md files

# Overrides selected with --env NAME or LLMCTL_ENV=NAME.
environments:
  production:
    redis:
      url: redis://llmctl-redis:6390/0
`;

export interface InitResult {
  configPath: string;
  schemaPath?: string;
}

export function writeStarterConfig(target: string, options: { force?: boolean } = {}): InitResult {
  const configPath = resolve(target);
  if (existsSync(configPath) && !options.force) {
    throw new UsageError(`${configPath} already exists; nothing was written`, "pass --force to overwrite it, or choose another file name");
  }
  if (!existsSync(dirname(configPath))) {
    throw new UsageError(`directory ${dirname(configPath)} does not exist; nothing was written`, "create it first, or choose another path");
  }
  // The template must always be valid; this guards against a broken edit of it.
  parseConfig(STARTER_CONFIG, "<starter config>");
  writeFileAtomic(configPath, STARTER_CONFIG);
  const schemaPath = join(dirname(configPath), SCHEMA_FILE_NAME);
  const schema = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
  if (!existsSync(schemaPath) || readFileSync(schemaPath, "utf8") !== schema) {
    writeFileAtomic(schemaPath, schema);
    return { configPath, schemaPath };
  }
  return { configPath };
}
