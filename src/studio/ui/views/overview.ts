/**
 * The overview: one panel per concern, each re-rendered from the live state. Panels are a list
 * so that the schedules panel (with beat) is one more entry, not a new page.
 */
import { api, type QueueOverview, type Worker } from "../api.ts";
import { ageLabel, h, replaceChildren } from "../dom.ts";
import { live } from "../live.ts";
import { runAction } from "../notice.ts";
import { sparkline } from "../sparkline.ts";

export interface OverviewPanel {
  id: string;
  title: string;
  render(): HTMLElement;
}

function queueRow(queue: QueueOverview): HTMLElement {
  const toggle = h("button", { type: "button", class: "small", "data-action": queue.paused ? "resume" : "pause" }, queue.paused ? "Resume" : "Pause");
  toggle.addEventListener("click", () =>
    void runAction(toggle, `${queue.paused ? "Resuming" : "Pausing"} ${queue.queue}`, () => api.setPaused(queue.queue, !queue.paused), (result) => `${result.queue} ${result.paused ? "paused" : "resumed"}`),
  );
  const jobsLink = (state: string, count: number) => h("a", { href: `#/jobs?queue=${encodeURIComponent(queue.queue)}&state=${state}`, class: count ? "" : "zero" }, count);
  return h(
    "tr",
    { "data-queue": queue.queue },
    h("th", { scope: "row" }, h("a", { href: `#/jobs?queue=${encodeURIComponent(queue.queue)}` }, queue.queue), queue.paused ? h("span", { class: "badge paused" }, "paused") : null),
    h("td", { class: "num", "data-count": "waiting" }, jobsLink("waiting", queue.waiting)),
    h("td", { class: "num", "data-count": "active" }, jobsLink("active", queue.active)),
    h("td", { class: "num", "data-count": "delayed" }, jobsLink("delayed", queue.delayed)),
    h("td", { class: "num", "data-count": "failed" }, jobsLink("failed", queue.failed)),
    h("td", { class: "num", "data-count": "completed" }, jobsLink("completed", queue.completed)),
    h("td", { class: "num", "data-count": "jobs_per_min" }, queue.jobs_per_min),
    h("td", {}, sparkline(queue.throughput, `${queue.queue} throughput`)),
    h("td", {}, toggle),
  );
}

const queuesPanel: OverviewPanel = {
  id: "queues",
  title: "Queues",
  render() {
    return h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "grid" },
        h("thead", {}, h("tr", {}, ...["Queue", "Waiting", "Active", "Delayed", "Failed", "Completed", "Jobs/min", "Last 30 min", ""].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, live.queues.map(queueRow)),
      ),
    );
  },
};

function slots(worker: Worker): HTMLElement {
  const percent = worker.concurrency ? (worker.slots_in_use / worker.concurrency) * 100 : 0;
  return h("div", { class: "slots", title: `${worker.slots_in_use} of ${worker.concurrency} slots running a job` }, h("div", { class: "progress" }, h("span", { style: `width: ${percent}%` })), h("em", {}, `${worker.slots_in_use}/${worker.concurrency}`));
}

function workerRow(worker: Worker): HTMLElement {
  return h(
    "tr",
    { "data-worker": worker.id },
    h("th", { scope: "row" }, h("div", {}, worker.hostname), h("small", { class: "muted" }, worker.id)),
    h("td", {}, worker.role ?? "–"),
    h("td", { title: worker.queues.join("\n") }, worker.queues.length <= 2 ? worker.queues.join(", ") : `${worker.queues.slice(0, 2).join(", ")} +${worker.queues.length - 2}`),
    h("td", { "data-slots": `${worker.slots_in_use}/${worker.concurrency}` }, slots(worker)),
    h("td", {}, worker.current_jobs.length ? worker.current_jobs.map((job) => h("div", {}, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.task))) : h("span", { class: "muted" }, "idle")),
    h("td", { class: "num" }, worker.processed),
    h("td", { class: "num" }, worker.failed),
    h("td", { "data-heartbeat": "" }, ageLabel(worker.beat_at)),
  );
}

const workersPanel: OverviewPanel = {
  id: "workers",
  title: "Workers",
  render() {
    const workers = [...live.workers.values()];
    if (workers.length === 0) return h("p", { class: "empty" }, "No live workers. Start one with: llmctl worker --queues all");
    return h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "grid" },
        h("thead", {}, h("tr", {}, ...["Worker", "Role", "Queues", "Slots", "Running", "Processed", "Failed", "Heartbeat"].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, workers.map(workerRow)),
      ),
    );
  },
};

/** The overview's panels, in order; beat adds schedules here. */
export const OVERVIEW_PANELS: OverviewPanel[] = [queuesPanel, workersPanel];

export function overviewView(root: HTMLElement): () => void {
  const sections = OVERVIEW_PANELS.map((panel) => {
    const body = h("div", { class: "panel-body" });
    const section = h("section", { class: "panel", id: `panel-${panel.id}`, "aria-labelledby": `title-${panel.id}` }, h("h2", { id: `title-${panel.id}` }, panel.title), body);
    return { panel, body, section };
  });
  replaceChildren(root, ...sections.map((entry) => entry.section));
  const render = () => {
    for (const { panel, body } of sections) replaceChildren(body, panel.render());
  };
  render();
  return live.onChange(render);
}
