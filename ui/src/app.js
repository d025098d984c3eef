// The dashboard's shell: navigation between pages (#/name), the token dialog, the
// connection state, and the live data the pages share (one LiveCollection per collection,
// one gateway connection).
import { forgetToken, getJSON, setToken, token, tokenProblem } from "@ui/api.js";
import { fill, notice } from "@ui/dom.js";
import { Gateway } from "@ui/gateway.js";
import { LiveCollection } from "@ui/live.js";
import * as processes from "@ui/processes.js";
import * as hosts from "@ui/hosts.js";
import * as topics from "@ui/topics.js";
import * as timetravel from "@ui/timetravel.js";
import * as events from "@ui/events.js";
import * as projectors from "@ui/projectors.js";

const pages = { processes, hosts, topics, timetravel, events, projectors };
const main = document.getElementById("page");
const connState = document.getElementById("conn-state");
const alertBox = document.getElementById("alert");
const dialog = document.getElementById("token-dialog");
const tokenInput = document.getElementById("token-input");
const tokenWhy = document.getElementById("token-why");

function status(text, kind = "ok") {
    connState.textContent = text;
    connState.dataset.kind = kind;
}

function showAlert(text) {
    alertBox.hidden = !text;
    alertBox.textContent = text ?? "";
}

// Live collections, shared by the pages and kept while any page listens.
const collections = new Map();  // name → {live, listeners:Set}
const ctx = {
    collection(name) {
        return collections.get(name)?.live ?? { docs: new Map() };
    },
    watch(name, listener) {
        let c = collections.get(name);
        if (!c) {
            c = { listeners: new Set() };
            c.live = new LiveCollection(name, {
                onChange: (changed, removed) => { for (const l of c.listeners) l(changed, removed); },
                onStatus: (text, kind) => status(`${name}: ${text}`, kind),
            }).start();
            collections.set(name, c);
        }
        c.listeners.add(listener);
        return () => {
            c.listeners.delete(listener);
            if (c.listeners.size === 0) {
                c.live.stop();
                if (collections.get(name) === c) collections.delete(name);
            }
        };
    },
    gateway() {
        if (!this.gw) this.gw = new Gateway({ onStatus: (text, kind) => status(text, kind) });
        return this.gw;
    },
    status,
    alert: showAlert,
};

let unmount = null;
function route() {
    const asked = (location.hash.match(/^#\/(\w+)/) ?? [])[1] ?? "processes";
    // Own pages only: `#/constructor` must not find what every object inherits. An unknown
    // page is the processes page, named and marked as such (found from outside: the tab
    // said "prom: nope" and no link was current).
    const name = Object.hasOwn(pages, asked) ? asked : "processes";
    const page = pages[name] ?? processes;
    for (const a of document.querySelectorAll("nav a")) {
        if (a.dataset.page === name) a.setAttribute("aria-current", "page");
        else a.removeAttribute("aria-current");
    }
    unmount?.();
    unmount = null;
    document.title = `prom: ${name}`;
    try {
        unmount = page.mount(main, ctx) ?? null;
    } catch (e) {
        fill(main, notice(`This page failed: ${e.message}`, "error"));
    }
}

// Token: asked for when the server says 401, and from the header button.
function askToken(why) {
    tokenWhy.textContent = why;
    tokenInput.value = "";
    if (!dialog.open) dialog.showModal();
    tokenInput.focus();
}
document.getElementById("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = tokenInput.value.trim();
    if (!t) return;
    const problem = tokenProblem(t);
    if (problem) {
        tokenWhy.textContent = `${problem} Type a valid token.`;
        return;  // the dialog stays; nothing is kept
    }
    dialog.close();
    showAlert("");
    setToken(t);
    // Start every live read over with the new token.
    for (const c of collections.values()) c.live.stop();
    collections.clear();
    ctx.gw?.close();
    ctx.gw = null;
    route();
});
document.getElementById("token-clear").addEventListener("click", () => {
    setToken("");
    dialog.close();
    location.reload();
});
document.getElementById("token-button").addEventListener("click", () => askToken("Type the bearer token to use."));

let refusedShown = false;
window.addEventListener("prom:unauthorized", ({ detail }) => {
    // No data without a valid token: drop what is shown, say why.
    fill(main, notice("No data: the server needs a valid token.", "error"));
    for (const c of collections.values()) c.live.stop();
    collections.clear();
    ctx.gw?.close();
    ctx.gw = null;
    status("no valid token", "error");
    if (refusedShown && dialog.open) return;
    refusedShown = true;
    const msg = !token() ? "This server needs a bearer token."
        : detail?.status === 431 ? "The server refused this token: it is longer than the server takes (431). Type a valid token."
        : "The server refused this token (401). Type a valid token.";
    forgetToken();
    showAlert(msg);
    askToken(msg);
});

// The gateway answers a refused upgrade before any frame: the browser only sees a close. A
// plain GET of the same route says why: 401 for a token the server no longer takes (the
// token dialog, as for any 401), anything else for a server that is down or busy.
window.addEventListener("prom:gateway-refused", async () => {
    status("gateway: not connected (server down, or the token refused)", "warn");
    try {
        await getJSON("ws");
    } catch {
        // errorOf raised prom:unauthorized for a 401; other answers change nothing
    }
});

window.addEventListener("hashchange", route);
route();
if (connState.textContent === "starting…") status("ready");
