// Projectors: user-defined projectors' state, lag, errors and last error (GET /projectors,
// docs/projectors.md), and the built-in ones from /metrics.
import { getJSON, sleep } from "@ui/api.js";
import { fill, h, notice, show } from "@ui/dom.js";
import { builtinProjectors, readMetrics } from "@ui/metrics.js";

function table(caption, cols, rows) {
    return h("table", {},
        h("caption", {}, caption),
        h("thead", {}, h("tr", {}, cols.map(([, label]) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, rows.map((r) => h("tr", { class: r.state === "failed" || r.stopped ? "status-stale" : "" },
            cols.map(([key]) => h("td", {}, show(r[key])))))));
}

// A pending rebuild's progress, or why the last one was abandoned (docs/projectors.md).
function rebuildNote(r) {
    if (r.rebuild_failed) return `failed: ${show(r.rebuild_failed.error)}`;
    if (r.rebuild) return `to version ${show(r.rebuild.version)}, lag ${show(r.rebuild.lag)}`;
    return "";
}

export function mount(main, ctx) {
    const user = h("div", {}, notice("loading…"));
    const builtin = h("div", {}, notice("loading…"));
    fill(main, h("h2", {}, "Projectors"), user, builtin);
    const abort = new AbortController();
    (async () => {
        // Counters change as events are applied; the page reads them again every few seconds
        // while it is open (they are not documents, so there is nothing to watch).
        let refused = false;  // a 403 stands until the token changes (the page mounts again)
        while (!abort.signal.aborted) {
            if (!refused) try {
                const { body } = await getJSON("projectors", { signal: abort.signal });
                ctx.status("projectors: read every 3 s", "ok");
                fill(user, body.items.length
                    ? table("User-defined projectors", [["name", "Name"], ["version", "Version"], ["state", "State"], ["topic", "Topic"],
                        ["cursor", "Cursor"], ["lag", "Lag (events)"], ["applied", "Applied"], ["errors", "Errors"],
                        ["dead_lettered", "Dead-lettered"], ["last_error", "Last error"], ["rebuild_note", "Rebuild"]],
                        body.items.map((r) => ({ ...r, rebuild_note: rebuildNote(r) })))
                    : notice("No user-defined projectors (docs/projectors.md)."));
            } catch (e) {
                if (abort.signal.aborted) return;
                refused = e.status === 403;
                if (!e.status) ctx.status(`projectors: cannot reach the server (${e.message}); trying again`, "warn");
                fill(user, notice(e.status === 403 ? "This token may not list projectors (admin permission)." : `User-defined projectors: ${e.message}`, "warn"));
            }
            try {
                const rows = builtinProjectors(await readMetrics(abort.signal)).filter((r) => r.applied !== undefined || r.stopped !== undefined);
                fill(builtin, rows.length
                    ? table("Built-in projectors", [["group", "Group"], ["topic", "Topic"], ["cursor", "Cursor"], ["lag", "Lag (events)"],
                        ["applied", "Applied"], ["retries", "Retries"], ["dead_lettered", "Dead-lettered"], ["stopped", "Stopped"]], rows)
                    : notice("No built-in projectors run on this server."));
            } catch (e) {
                if (abort.signal.aborted) return;
                fill(builtin, notice(`Built-in projectors: ${e.message}`, "warn"));
            }
            await sleep(3000, abort.signal);
        }
    })();
    return () => abort.abort();
}
