/**
 * The dashboard: signs in when the studio needs a token, opens the event stream, and routes
 * #/ (overview), #/jobs?…, #/jobs/ID and #/enqueue/TASK to their views. Plain DOM, no framework.
 */
import { api, ApiFailure, whenUnauthorized, type Session } from "./api.ts";
import { h, replaceChildren, tickAges } from "./dom.ts";
import { live } from "./live.ts";
import { notify } from "./notice.ts";
import { enqueueView } from "./views/enqueue.ts";
import { jobView } from "./views/job.ts";
import { jobsView } from "./views/jobs.ts";
import { overviewView } from "./views/overview.ts";

const main = document.getElementById("main")!;
const connection = document.getElementById("connection")!;
const account = document.getElementById("account")!;
let session: Session = { auth_required: false, public_read: false, authenticated: true };
let leaveView: () => void = () => {};

function route(): void {
  leaveView();
  const [path = "/", search = ""] = location.hash.replace(/^#/, "").split("?");
  const query = new URLSearchParams(search);
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav a")) {
    link.toggleAttribute("aria-current", (link.dataset.section ?? "") === (path.split("/")[1] ?? ""));
  }
  const job = /^\/jobs\/(.+)$/.exec(path);
  const enqueue = /^\/enqueue(?:\/(.+))?$/.exec(path);
  if (job) leaveView = jobView(main, decodeURIComponent(job[1]!));
  else if (path === "/jobs") leaveView = jobsView(main, query);
  else if (enqueue) leaveView = enqueueView(main, enqueue[1] ? decodeURIComponent(enqueue[1]) : undefined);
  else leaveView = overviewView(main);
}

function showConnection(): void {
  const labels = { idle: "not connected", connecting: "connecting…", live: "live", reconnecting: "reconnecting…" };
  connection.textContent = labels[live.connection];
  connection.dataset.state = live.connection;
}

function renderAccount(): void {
  if (!session.auth_required) {
    replaceChildren(account, h("span", { class: "muted", title: "the studio runs without a token" }, "no sign-in needed"));
  } else if (session.authenticated) {
    replaceChildren(account, h("button", { type: "button", class: "link", id: "sign-out", onclick: () => void signOut() }, "Sign out"));
  } else {
    replaceChildren(account, h("button", { type: "button", class: "link", id: "sign-in", onclick: () => showSignIn() }, "Sign in"));
  }
}

function showSignIn(message?: string): void {
  const dialog = document.getElementById("sign-in-dialog") as HTMLDialogElement;
  const error = document.getElementById("sign-in-error")!;
  error.textContent = message ?? "";
  if (!dialog.open) dialog.showModal();
  (document.getElementById("token") as HTMLInputElement).focus();
}

async function signIn(event: Event): Promise<void> {
  event.preventDefault();
  const input = document.getElementById("token") as HTMLInputElement;
  try {
    session = await api.signIn(input.value.trim());
    input.value = "";
    (document.getElementById("sign-in-dialog") as HTMLDialogElement).close();
    renderAccount();
    start();
  } catch (error) {
    document.getElementById("sign-in-error")!.textContent = error instanceof ApiFailure ? error.message : String(error);
  }
}

async function signOut(): Promise<void> {
  session = await api.signOut();
  live.disconnect();
  renderAccount();
  replaceChildren(main, h("p", { class: "empty" }, "Signed out."));
  showSignIn();
}

let started = false;
function start(): void {
  live.connect(() => {
    // EventSource hides the status of a failed reconnect: ask whether the session is still valid.
    void api.session().then((current) => {
      if (current.auth_required && !current.authenticated && !current.public_read) {
        session = current;
        live.disconnect();
        renderAccount();
        showSignIn("Your session ended; sign in again.");
      }
    }, () => {});
  });
  if (!started) {
    started = true;
    window.addEventListener("hashchange", route);
  }
  route();
}

async function boot(): Promise<void> {
  live.onConnection(showConnection);
  showConnection();
  document.getElementById("sign-in-form")!.addEventListener("submit", (event) => void signIn(event));
  whenUnauthorized(() => {
    if (session.auth_required) {
      session = { ...session, authenticated: false };
      renderAccount();
      showSignIn("This needs the studio token.");
    }
  });
  setInterval(() => tickAges(), 1000);
  try {
    session = await api.session();
  } catch {
    notify("The studio did not answer; reload when it is back.", "error");
    return;
  }
  renderAccount();
  if (session.auth_required && !session.authenticated && !session.public_read) showSignIn();
  else start();
}

void boot();
