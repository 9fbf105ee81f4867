/** Enqueue a task: pick it, fill the form generated from its argument schema, send. Errors point at the field the server named. */
import { api, ApiFailure, type TaskSummary } from "../api.ts";
import { h, replaceChildren } from "../dom.ts";
import { notifyFailure } from "../notice.ts";
import { FieldError, readArgs, schemaFields, type SchemaField } from "../schema-form.ts";

function markField(form: HTMLElement, field: string | undefined, message: string): void {
  for (const marked of form.querySelectorAll(".field.invalid")) marked.classList.remove("invalid");
  for (const old of form.querySelectorAll(".field-error")) old.remove();
  if (!field) return;
  // "args.argv[1]" → the field of "args.argv"; "targets[0]" → the targets field.
  const base = field.replace(/\[\d+\].*$/, "").split(".").slice(0, 2).join(".");
  const wrapper = form.querySelector<HTMLElement>(`[data-field="${CSS.escape(base)}"]`) ?? form.querySelector<HTMLElement>(`[data-field="args.*"]`);
  if (!wrapper) return;
  wrapper.classList.add("invalid");
  wrapper.appendChild(h("small", { class: "field-error", role: "alert" }, message));
}

function taskForm(task: TaskSummary, result: HTMLElement): HTMLElement {
  const fields: SchemaField[] = schemaFields(task.args_schema);
  const targets = h("input", { id: "enqueue-targets", name: "targets", type: "text", placeholder: `default: ${task.queue}`, autocomplete: "off" });
  const delay = h("input", { id: "enqueue-delay", name: "delay", type: "text", placeholder: "e.g. 30s, 10m (default: now)", autocomplete: "off" });
  const submit = h("button", { type: "submit", class: "primary" }, "Enqueue");
  const form = h(
    "form",
    { id: "enqueue-form", "data-task": task.name, novalidate: true },
    fields.length ? fields.map((field) => field.wrapper) : h("p", { class: "muted" }, "This task takes no arguments."),
    h("div", { class: "field", "data-field": "targets" }, h("label", { for: "enqueue-targets" }, "Targets"), targets, h("small", { class: "help" }, "comma-separated roles (one job per host), role:any or queue names")),
    h("div", { class: "field", "data-field": "delay" }, h("label", { for: "enqueue-delay" }, "Delay"), delay),
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    markField(form, undefined, "");
    let args: Record<string, unknown>;
    try {
      args = readArgs(fields);
    } catch (error) {
      if (error instanceof FieldError) {
        markField(form, error.field, `${error.field} ${error.message}`);
        return;
      }
      throw error;
    }
    const targetList = targets.value.split(",").map((target) => target.trim()).filter(Boolean);
    submit.disabled = true;
    try {
      const { jobs } = await api.enqueue(task.name, { args, ...(targetList.length ? { targets: targetList } : {}), ...(delay.value.trim() ? { delay: delay.value.trim() } : {}) });
      replaceChildren(
        result,
        h("p", { class: "ok-text", role: "status" }, `Enqueued ${jobs.length} job${jobs.length === 1 ? "" : "s"}:`),
        h("ul", { id: "enqueued-jobs" }, jobs.map((job) => h("li", {}, h("a", { href: `#/jobs/${encodeURIComponent(job.id)}`, class: "mono" }, job.id), ` on ${job.queue}`))),
      );
    } catch (error) {
      replaceChildren(result);
      if (error instanceof ApiFailure) markField(form, error.field, error.message);
      notifyFailure(`Enqueueing ${task.name}`, error);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export function enqueueView(root: HTMLElement, selected: string | undefined): () => void {
  const picker = h("select", { id: "enqueue-task", "aria-label": "task" });
  const description = h("p", { class: "muted", id: "task-description" });
  const formSlot = h("div", {});
  const result = h("div", { id: "enqueue-result" });
  replaceChildren(root, h("section", { class: "panel" }, h("h2", {}, "Enqueue a task"), h("div", { class: "field" }, h("label", { for: "enqueue-task" }, "Task"), picker), description, formSlot, result));
  void api.tasks().then(
    ({ tasks }) => {
      const choose = (name: string) => {
        const task = tasks.find((candidate) => candidate.name === name) ?? tasks[0];
        if (!task) return;
        picker.value = task.name;
        description.textContent = `${task.description || "No description."} Queue: ${task.queue}${task.timeout ? `, timeout ${task.timeout}` : ""}, ${task.attempts} attempt${task.attempts === 1 ? "" : "s"}.`;
        replaceChildren(formSlot, taskForm(task, result));
        replaceChildren(result);
      };
      replaceChildren(picker, tasks.map((task) => h("option", { value: task.name }, task.name)));
      picker.addEventListener("change", () => {
        history.replaceState(null, "", `#/enqueue/${encodeURIComponent(picker.value)}`);
        choose(picker.value);
      });
      choose(selected ?? tasks[0]?.name ?? "");
    },
    (error: unknown) => notifyFailure("Loading tasks", error),
  );
  return () => {};
}
