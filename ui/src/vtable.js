// A virtualised table: only the rows in view (plus a few) exist in the DOM, so 10,000 rows
// scroll and update as smoothly as 10. Rows have one fixed height; cells are text only.
//
// columns: [{key, label, width (CSS grid track), text(row) → string, title?(row)}]
// rowKey(row) → string; rowClass(row) → class names; onSort(key) when a header is used;
// onActivate(row) on click or Enter on a row (optional).
import { h } from "@ui/dom.js";

const overscan = 8;

export class VirtualTable {
    constructor({ label, columns, rowKey, rowClass = () => "", onSort, onActivate, rowHeight = 28, height = "60vh" }) {
        Object.assign(this, { columns, rowKey, rowClass, onSort, onActivate, rowHeight });
        this.rows = [];
        this.changedAt = new Map();  // key → when it last changed (ms), for the highlight
        this.pool = [];
        const tracks = columns.map((c) => c.width ?? "1fr").join(" ");
        this.headers = columns.map((c) => h("div", { role: "columnheader", class: "vt-cell", "aria-sort": "none" },
            onSort ? h("button", { type: "button", class: "sort", onclick: () => onSort(c.key) }, c.label) : c.label));
        this.head = h("div", { class: "vt-row vt-headrow", role: "row", "aria-rowindex": 1, style: `grid-template-columns:${tracks}` }, this.headers);
        this.spacer = h("div", { class: "vt-spacer", role: "rowgroup" });
        this.body = h("div", { class: "vt-body", tabindex: 0, style: `height:${height}`, "aria-label": `${label}: rows` });
        this.body.appendChild(this.spacer);
        this.element = h("div", { class: "vt", role: "table", "aria-label": label, "aria-rowcount": 1 },
            h("div", { role: "rowgroup", class: "vt-head" }, this.head), this.body);
        this.tracks = tracks;
        this.scheduled = false;
        this.body.addEventListener("scroll", () => this.schedule(), { passive: true });
        new ResizeObserver(() => this.schedule()).observe(this.body);
        if (onActivate) {
            this.body.addEventListener("click", (e) => this.activate(e.target));
            this.body.addEventListener("keydown", (e) => {
                if (e.key === "Enter") this.activate(e.target);
            });
        }
    }

    activate(target) {
        const row = target.closest?.(".vt-row");
        if (!row || row.dataset.index === undefined) return;
        const r = this.rows[Number(row.dataset.index)];
        if (r) this.onActivate(r);
    }

    setSort(key, dir) {
        this.columns.forEach((c, i) => this.headers[i].setAttribute("aria-sort", c.key === key ? (dir > 0 ? "ascending" : "descending") : "none"));
    }

    // The rows in display order; `changed`: keys to highlight as just changed.
    setRows(rows, changed = []) {
        const now = performance.now();
        for (const k of changed) this.changedAt.set(k, now);
        this.rows = rows;
        this.element.setAttribute("aria-rowcount", rows.length + 1);
        this.spacer.style.height = `${rows.length * this.rowHeight}px`;
        this.schedule();
        if (changed.length || changed.size) {
            clearTimeout(this.fade);
            this.fade = setTimeout(() => this.schedule(), 2100);
        }
    }

    schedule() {
        if (this.scheduled) return;
        this.scheduled = true;
        requestAnimationFrame(() => {
            this.scheduled = false;
            this.render();
        });
    }

    render() {
        const rh = this.rowHeight;
        const first = Math.max(0, Math.floor(this.body.scrollTop / rh) - overscan);
        const visible = Math.ceil((this.body.clientHeight || 600) / rh) + 2 * overscan;
        const last = Math.min(this.rows.length, first + visible);
        const now = performance.now();
        while (this.pool.length < last - first) {
            const cells = this.columns.map(() => h("div", { class: "vt-cell", role: "cell" }));
            const el = h("div", { class: "vt-row", role: "row", style: `grid-template-columns:${this.tracks}` }, cells);
            el.cells = cells;
            if (this.onActivate) el.tabIndex = -1;
            this.spacer.appendChild(el);
            this.pool.push(el);
        }
        for (let p = 0; p < this.pool.length; ++p) {
            const el = this.pool[p];
            const i = first + p;
            if (i >= last) {
                el.hidden = true;
                continue;
            }
            const row = this.rows[i];
            const key = this.rowKey(row);
            el.hidden = false;
            el.style.transform = `translateY(${i * rh}px)`;
            el.dataset.index = i;
            el.dataset.key = key;
            el.setAttribute("aria-rowindex", i + 2);
            const changed = now - (this.changedAt.get(key) ?? -1e9) < 2000;
            el.className = `vt-row ${this.rowClass(row)}${changed ? " changed" : ""}`;
            if (this.onActivate) el.tabIndex = 0;
            this.columns.forEach((c, j) => {
                const text = c.text(row);
                const cell = el.cells[j];
                if (cell.textContent !== text) cell.textContent = text;
                const title = c.title ? c.title(row) : text;
                if (cell.title !== title) cell.title = title;
            });
        }
        if (this.changedAt.size > 20000) this.changedAt.clear();
    }
}
