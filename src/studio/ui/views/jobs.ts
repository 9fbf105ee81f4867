/**
 * The job list: filters by queue, state and task (kept in the URL), pages through the API's
 * cursor, and follows job events: rows change state as it happens, and new jobs appear while
 * only the first page is shown.
 */
import { api, type JobSummary } from "../api.ts";
import { ageLabel, debounce, duration, h, progressBar, replaceChildren, stateBadge } from "../dom.ts";
import { live, stateAfter, type JobEvent } from "../live.ts";
import { notifyFailure } from "../notice.ts";

export const STATES = ["active", "waiting", "prioritized", "delayed", "waiting-children", "failed", "completed"];

function select(name: string, label: string, options: string[], value: string | undefined): HTMLSelectElement {
  return h(
    "select",
    { name, "aria-label": label },
    h("option", { value: "" }, `all ${label}s`),
    options.map((option) => h("option", { value: option, selected: option === value }, option)),
  );
}

function row(job: JobSummary): HTMLTableRowElement {
  return h(
    "tr",
    { "data-job": job.id },
    h("td", {}, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, class: "mono", title: job.id }, job.id.length > 14 ? `…${job.id.slice(-12)}` : job.id)),
    h("td", {}, job.task),
    h("td", {}, job.hostname ? `${job.queue} (${job.hostname})` : job.queue),
    h("td", { "data-cell": "state" }, stateBadge(job.state)),
    h("td", { "data-cell": "progress" }, progressBar(job.progress, job.state)),
    h("td", {}, ageLabel(job.created_at)),
    h("td", {}, duration(job.started_at, job.finished_at)),
    h("td", { class: "error-text", title: job.failed_reason ?? "" }, job.failed_reason ?? ""),
  );
}

export function jobsView(root: HTMLElement, query: URLSearchParams): () => void {
  const filters = { queue: query.get("queue") ?? undefined, state: query.get("state") ?? undefined, task: query.get("task") ?? undefined };
  const queueSelect = select("queue", "queue", live.queues.map((queue) => queue.queue), filters.queue);
  const stateSelect = select("state", "state", STATES, filters.state);
  const taskSelect = select("task", "task", filters.task ? [filters.task] : [], filters.task);
  void api.tasks().then(({ tasks }) => {
    replaceChildren(taskSelect, h("option", { value: "" }, "all tasks"), tasks.map((task) => h("option", { value: task.name, selected: task.name === filters.task }, task.name)));
  }, () => {});
  const onFilter = () => {
    const next = new URLSearchParams();
    for (const control of [queueSelect, stateSelect, taskSelect]) if (control.value) next.set(control.name, control.value);
    location.hash = `#/jobs${next.size ? `?${next}` : ""}`;
  };
  for (const control of [queueSelect, stateSelect, taskSelect]) control.addEventListener("change", onFilter);

  const body = h("tbody", {});
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const status = h("p", { class: "empty", hidden: true }, "No jobs match.");
  let cursor: string | null = null;
  let pages = 0;

  const load = async (reset: boolean) => {
    try {
      const page = await api.jobs({ ...filters, cursor: reset ? undefined : (cursor ?? undefined) });
      if (reset) {
        body.replaceChildren();
        pages = 0;
      }
      pages++;
      for (const job of page.jobs) body.appendChild(row(job));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      status.hidden = body.children.length > 0;
    } catch (error) {
      notifyFailure("Loading jobs", error);
    }
  };
  more.addEventListener("click", () => void load(false));
  const reloadFirstPage = debounce(() => {
    if (pages <= 1) void load(true);
  }, 400);

  replaceChildren(
    root,
    h(
      "section",
      { class: "panel" },
      h("h2", {}, "Jobs"),
      h("form", { class: "filters", onsubmit: (event: Event) => event.preventDefault() }, queueSelect, stateSelect, taskSelect),
      h(
        "div",
        { class: "scroll" },
        h("table", { class: "grid", id: "job-list" }, h("thead", {}, h("tr", {}, ...["Job", "Task", "Queue", "State", "Progress", "Created", "Ran for", "Error"].map((label) => h("th", { scope: "col" }, label)))), body),
      ),
      status,
      more,
    ),
  );
  void load(true);

  return live.onJob((event: JobEvent) => {
    if (filters.queue && event.queue !== filters.queue) return;
    const existing = body.querySelector<HTMLTableRowElement>(`tr[data-job="${CSS.escape(event.id)}"]`);
    if (existing) {
      const state = stateAfter(event.event);
      if (state) replaceChildren(existing.querySelector("[data-cell=state]")!, stateBadge(state));
      if (event.event === "progress" || state === "completed") replaceChildren(existing.querySelector("[data-cell=progress]")!, progressBar(event.progress, state));
      if (event.event === "completed" || event.event === "failed") reloadFirstPage();
    } else if (event.event === "added" && (!filters.task || event.task === filters.task)) {
      reloadFirstPage();
    }
  });
}
