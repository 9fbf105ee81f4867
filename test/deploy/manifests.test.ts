/**
 * The shipped manifests keep the Celery cutover's contract: names, replicas, args, env names,
 * probes, security settings. Every base and overlay is rendered by the real `kubectl kustomize`,
 * and every container's args are parsed by the binary's own command-line parser, so a flag typo
 * in a manifest fails here instead of in a crash-looping pod.
 */
import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { parseCommandLine } from "../../src/commands/_cli.ts";
import { root } from "../../src/commands/index.ts";
import { ENV } from "../../src/config/env.ts";
import { parseConfig } from "../../src/config/load.ts";
import { parseDurationMs } from "../../src/util/duration.ts";
import { VERSION } from "../../src/version.ts";
import { ROOT } from "../helpers/cli.ts";

type Obj = Record<string, any>;

const KUBECTL = process.env.KUBECTL ?? "kubectl";
const K8S = join(ROOT, "deploy", "k8s");
const OVERLAYS = ["registry", "autoscale", "monitoring"];
const ROLE_DEPLOYMENTS = ["llmctl-studio", "llmctl-celery-worker", "llmctl-celery-beat"];
const CONTRACT_QUEUES = [
  "llmctl_studio",
  "llmctl_studio.downloads.huggingface",
  "llmctl_studio.rag.index",
  "llmctl_studio.rag.drive",
  "llmctl_studio.rag.git",
];

function render(dir: string): Obj[] {
  const result = Bun.spawnSync([KUBECTL, "kustomize", dir], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr.toString()}`);
  return parseAllDocuments(result.stdout.toString()).map((doc) => doc.toJS() as Obj);
}

function find(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(", ")}`);
  return found;
}

/** The value after a flag in an argv, or undefined. */
function flagValue(argv: string[], flag: string): string | undefined {
  const index = argv.indexOf(flag);
  return index === -1 ? undefined : argv[index + 1];
}

async function expectParses(argv: string[], command: string): Promise<void> {
  const path = await parseCommandLine(root, argv, "llmctl");
  expect(path.slice(1).join(" ")).toBe(command);
}

const base = render(join(K8S, "base"));
const rendered = Object.fromEntries(OVERLAYS.map((overlay) => [overlay, render(join(K8S, "overlays", overlay))]));

describe("kustomize base", () => {
  it("renders the objects of the contract, and no Secret (it is never filled in git)", () => {
    const names = base.map((object) => `${object.kind}/${object.metadata.name}`).sort();
    expect(names).toEqual(
      [
        "ConfigMap/llmctl-config",
        "Deployment/llmctl-celery-beat",
        "Deployment/llmctl-celery-worker",
        "Deployment/llmctl-studio",
        "PodDisruptionBudget/llmctl-celery-worker",
        "Service/llmctl-redis",
        "Service/llmctl-studio",
        "StatefulSet/llmctl-redis",
      ].sort(),
    );
    const example = parseYaml(readFileSync(join(K8S, "secret.example.yaml"), "utf8")) as Obj;
    expect(example.kind).toBe("Secret");
    expect(Object.values(example.stringData as Obj).every((value) => value === "")).toBe(true);
  });

  it("runs worker 2 x --concurrency 2 on all queues, one beat, and a studio that only serves", async () => {
    const worker = find(base, "Deployment", "llmctl-celery-worker");
    const beat = find(base, "Deployment", "llmctl-celery-beat");
    const studio = find(base, "Deployment", "llmctl-studio");
    expect(worker.spec.replicas).toBe(2);
    expect(beat.spec.replicas).toBe(1);
    const workerArgs: string[] = worker.spec.template.spec.containers[0].args;
    await expectParses(workerArgs, "worker");
    expect(flagValue(workerArgs, "--queues")).toBe("all");
    expect(flagValue(workerArgs, "--concurrency")).toBe("2");
    await expectParses(beat.spec.template.spec.containers[0].args, "beat");
    await expectParses(studio.spec.template.spec.containers[0].args, "studio");
  });

  it("lets a worker drain: the pod's grace period is longer than the worker's --grace", () => {
    const worker = find(base, "Deployment", "llmctl-celery-worker");
    const grace = parseDurationMs(flagValue(worker.spec.template.spec.containers[0].args, "--grace")!)!;
    expect(worker.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(grace);
  });

  it("probes every role over HTTP on /healthz and /readyz, on the port its args serve", () => {
    for (const name of ROLE_DEPLOYMENTS) {
      const container = find(base, "Deployment", name).spec.template.spec.containers[0];
      const servedPort = Number(flagValue(container.args, "--health-port") ?? flagValue(container.args, "--port"));
      const portNamed = (port: string | number) => (typeof port === "number" ? port : container.ports.find((p: Obj) => p.name === port)?.containerPort);
      expect(container.livenessProbe.httpGet.path).toBe("/healthz");
      expect(container.readinessProbe.httpGet.path).toBe("/readyz");
      expect(portNamed(container.livenessProbe.httpGet.port)).toBe(servedPort);
      expect(portNamed(container.readinessProbe.httpGet.port)).toBe(servedPort);
      expect(container.livenessProbe.exec).toBeUndefined();
    }
  });

  it("runs every pod non-root, read-only, without privileges, with requests and limits", () => {
    const pods = [
      ...ROLE_DEPLOYMENTS.map((name) => find(base, "Deployment", name).spec.template.spec),
      find(base, "StatefulSet", "llmctl-redis").spec.template.spec,
    ];
    for (const pod of pods) {
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.seccompProfile.type).toBe("RuntimeDefault");
      for (const container of pod.containers) {
        expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
        for (const kind of ["requests", "limits"]) {
          expect(container.resources[kind].cpu).toBeDefined();
          expect(container.resources[kind].memory).toBeDefined();
        }
      }
    }
    for (const name of ROLE_DEPLOYMENTS) expect(find(base, "Deployment", name).spec.template.spec.securityContext.runAsUser).toBe(65532);
  });

  it("points every role at llmctl-redis:6390 db 0 through the env contract, with the password from the Secret", () => {
    const config = find(base, "ConfigMap", "llmctl-config").data;
    expect(config.LLMCTL_REDIS_HOST).toBe("llmctl-redis");
    expect(config.LLMCTL_REDIS_PORT).toBe("6390");
    expect(config.LLMCTL_REDIS_DB).toBe("0");
    const contractNames = new Set<string>(Object.values(ENV).flat());
    for (const key of Object.keys(config).filter((key) => key !== "llmctl.yaml")) expect(contractNames.has(key)).toBe(true);
    for (const name of ROLE_DEPLOYMENTS) {
      const container = find(base, "Deployment", name).spec.template.spec.containers[0];
      expect(container.envFrom).toContainEqual({ configMapRef: { name: "llmctl-config" } });
      const password = container.env.find((entry: Obj) => entry.name === ENV.redisPassword);
      expect(password.valueFrom.secretKeyRef).toEqual({ name: "llmctl-secrets", key: "redis-password" });
    }
    const studio = find(base, "Deployment", "llmctl-studio").spec.template.spec.containers[0];
    expect(studio.env.find((entry: Obj) => entry.name === "LLMCTL_STUDIO_TOKEN").valueFrom.secretKeyRef.name).toBe("llmctl-secrets");
  });

  it("ships a llmctl.yaml that validates and holds the queue contract", () => {
    const text = find(base, "ConfigMap", "llmctl-config").data["llmctl.yaml"];
    const { config } = parseConfig(text, "llmctl-config/llmctl.yaml");
    expect(config.queues).toEqual(CONTRACT_QUEUES);
    expect(config.routes).toEqual({
      "rag.worker.tasks.run_index_task": "llmctl_studio.rag.index",
      "services.tasks.run_huggingface_download_task": "llmctl_studio.downloads.huggingface",
    });
    expect(config.schedules.workspace_cleanup?.task).toBe("services.tasks.cleanup_workspaces");
    const mount = find(base, "Deployment", "llmctl-celery-worker").spec.template.spec.containers[0].volumeMounts.find((m: Obj) => m.name === "config");
    expect(`${mount.mountPath}/llmctl.yaml`).toBe(find(base, "ConfigMap", "llmctl-config").data.LLMCTL_CONFIG);
  });

  it("runs Redis on 6390 with AOF, noeviction and a persistent volume", () => {
    const redis = find(base, "StatefulSet", "llmctl-redis");
    const args: string[] = redis.spec.template.spec.containers[0].args;
    expect(flagValue(args, "--port")).toBe("6390");
    expect(flagValue(args, "--appendonly")).toBe("yes");
    expect(flagValue(args, "--maxmemory-policy")).toBe("noeviction");
    expect(redis.spec.volumeClaimTemplates[0].metadata.name).toBe("data");
    expect(find(base, "Service", "llmctl-redis").spec.ports[0].port).toBe(6390);
  });

  it("keeps a worker consuming through voluntary disruptions, and tags the image with this version", () => {
    const budget = find(base, "PodDisruptionBudget", "llmctl-celery-worker");
    expect(budget.spec.minAvailable).toBe(1);
    expect(budget.spec.selector.matchLabels).toEqual(find(base, "Deployment", "llmctl-celery-worker").spec.selector.matchLabels);
    for (const name of ROLE_DEPLOYMENTS) expect(find(base, "Deployment", name).spec.template.spec.containers[0].image).toBe(`llmctl:${VERSION}`);
  });
});

describe("kustomize overlays", () => {
  it("registry: maps both images to the private registry and changes nothing else", () => {
    const objects = rendered.registry!;
    for (const name of ROLE_DEPLOYMENTS) {
      expect(find(objects, "Deployment", name).spec.template.spec.containers[0].image).toMatch(/^registry\.example\.com\/platform\/llmctl:/);
    }
    expect(find(objects, "StatefulSet", "llmctl-redis").spec.template.spec.containers[0].image).toMatch(/^registry\.example\.com\/mirror\/redis:/);
    expect(objects.length).toBe(base.length);
  });

  it("autoscale: adds a worker HPA from 2 replicas, and the base stays static", () => {
    const hpa = find(rendered.autoscale!, "HorizontalPodAutoscaler", "llmctl-celery-worker");
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "llmctl-celery-worker" });
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(2);
    expect(base.some((object) => object.kind === "HorizontalPodAutoscaler")).toBe(false);
  });

  it("monitoring: scrapes /metrics of every role through ports and labels that exist", () => {
    const objects = rendered.monitoring!;
    const studioMonitor = find(objects, "ServiceMonitor", "llmctl-studio");
    const studioService = find(objects, "Service", "llmctl-studio");
    expect(studioService.metadata.labels).toMatchObject(studioMonitor.spec.selector.matchLabels);
    expect(studioService.spec.ports.map((port: Obj) => port.name)).toContain(studioMonitor.spec.endpoints[0].port);
    for (const name of ["llmctl-celery-worker", "llmctl-celery-beat"]) {
      const monitor = find(objects, "PodMonitor", name);
      const pod = find(objects, "Deployment", name).spec.template;
      expect(pod.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
      expect(monitor.spec.podMetricsEndpoints[0].path).toBe("/metrics");
      expect(pod.spec.containers[0].ports.map((port: Obj) => port.name)).toContain(monitor.spec.podMetricsEndpoints[0].port);
    }
  });
});

describe("compose.yaml", () => {
  const compose = parseYaml(readFileSync(join(ROOT, "deploy", "compose.yaml"), "utf8"), { merge: true }) as Obj;
  const services = compose.services as Obj;

  it("runs redis, studio, three workers and beat from one image, read-only and non-root", async () => {
    expect(Object.keys(services).sort()).toEqual(["beat", "redis", "smoke", "studio", "worker"]);
    expect(services.worker.deploy.replicas).toBe(3);
    for (const [name, command] of [
      ["studio", "studio"],
      ["worker", "worker"],
      ["beat", "beat"],
      ["smoke", "smoke"],
    ] as const) {
      const service = services[name];
      await expectParses(service.command, command);
      expect(service.image).toBe(`llmctl:${VERSION}`);
      expect(service.read_only).toBe(true);
      expect(service.user).toBe("65532:65532");
      expect(service.cap_drop).toEqual(["ALL"]);
      expect(service.environment.LLMCTL_REDIS_HOST).toBe("redis");
      expect(service.environment.LLMCTL_REDIS_PORT).toBe("6390");
    }
    expect(flagValue(services.worker.command, "--queues")).toBe("all");
  });

  it("gives workers longer to stop than their --grace, and Redis AOF and noeviction on 6390", () => {
    expect(parseDurationMs(services.worker.stop_grace_period)!).toBeGreaterThan(parseDurationMs(flagValue(services.worker.command, "--grace")!)!);
    const redis: string[] = services.redis.command;
    expect(flagValue(redis, "--port")).toBe("6390");
    expect(flagValue(redis, "--appendonly")).toBe("yes");
    expect(flagValue(redis, "--maxmemory-policy")).toBe("noeviction");
  });
});

describe("the manifests' own check", () => {
  it("rejects a flag typo the way the binary would", async () => {
    await expect(parseCommandLine(root, ["worker", "--queue", "all"], "llmctl")).rejects.toThrow(/unknown flag --queue.*did you mean/);
    await expect(parseCommandLine(root, ["wroker"], "llmctl")).rejects.toThrow(/unknown command "wroker"/);
  });
});
