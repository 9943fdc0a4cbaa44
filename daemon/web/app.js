// The dashboard's script: one view per page, drawn from the JSON endpoints
// (same origin; the token cookie goes with every fetch). Text from the
// cluster is always set with textContent, never parsed as HTML.
"use strict";
const main = document.getElementById("main");
const path = location.pathname;
const views = { "/": "overview", "/jobs": "jobs", "/actors": "actors", "/tasks": "tasks",
                "/placement_groups": "placement_groups", "/logs": "logs", "/timeline": "timeline" };
const view = views[path] || "overview";
for (const a of document.querySelectorAll("nav a"))
  if (a.dataset.view === view) a.classList.add("active");

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) {
    if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
  }
  for (const c of kids) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return r.json();
}
function stamp() { document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString(); }
function when(ms) { return ms ? new Date(ms).toLocaleString() : ""; }
function showError(e) { main.replaceChildren(el("p", { class: "err" }, String(e))); }

// A table of objects: COLS picks and orders the keys (all keys if null).
function table(rows, cols, idPrefix) {
  cols = cols || (rows.length ? Object.keys(rows[0]) : []);
  const t = el("table", {}, el("tr", {}, ...cols.map(c => el("th", {}, c))));
  for (const r of rows) {
    const tr = el("tr", idPrefix && r[cols[0]] ? { id: idPrefix + r[cols[0]] } : {});
    for (const c of cols) {
      const v = r[c] === null || r[c] === undefined ? "" : r[c];
      const cls = /_id$|^task_id|^object_id/.test(c) ? "mono" : (c === "state" || c === "status" ? String(v) : "");
      tr.append(el("td", cls ? { class: cls } : {}, typeof v === "object" ? JSON.stringify(v) : v));
    }
    t.append(tr);
  }
  if (!rows.length) t.append(el("tr", {}, el("td", { colspan: String(cols.length || 1) }, "(none)")));
  return t;
}

function parseRes(s) {
  const out = {};
  for (const kv of (s || "").split(",")) {
    const i = kv.indexOf("=");
    if (i > 0) out[kv.slice(0, i)] = parseFloat(kv.slice(i + 1));
  }
  return out;
}

async function overview() {
  const st = await getJSON("/api/cluster_status");
  const nodes = (st.data.nodes && st.data.nodes.result) || [];
  const t = el("table", { id: "nodes" }, el("tr", {}, ...["node_id", "state", "address", "head", "CPU", "GPU", "object store", "resources"].map(c => el("th", {}, c))));
  for (const n of nodes) {
    const tot = parseRes(n.resources_total), av = parseRes(n.resources_available);
    const used = k => ((tot[k] || 0) - (av[k] || 0));
    const bar = k => {
      const frac = tot[k] ? used(k) / tot[k] : 0;
      const b = el("span", { class: "bar" }, el("span", { style: "width:" + Math.round(frac * 100) + "%" }));
      return el("td", {}, b, used(k).toFixed(1) + "/" + (tot[k] || 0).toFixed(1));
    };
    const mib = k => ((tot[k] || 0) / 1048576).toFixed(0);
    t.append(el("tr", { id: "node-" + n.node_id, class: "node" },
      el("td", { class: "mono" }, n.node_id), el("td", { class: n.state }, n.state),
      el("td", {}, n.address + ":" + n.port), el("td", {}, n.is_head ? "head" : ""),
      bar("CPU"), bar("GPU"),
      el("td", {}, (used("object_store_memory") / 1048576).toFixed(1) + " / " + mib("object_store_memory") + " MiB"),
      el("td", { class: "mono" }, n.resources_total)));
  }
  const alive = nodes.filter(n => n.state === "ALIVE").length;
  main.replaceChildren(el("h2", {}, "Nodes (" + alive + " alive of " + nodes.length + ")"), t,
                       el("h2", {}, "ray status"), el("pre", { id: "status" }, st.data.clusterStatus));
}

async function jobs() {
  const list = await getJSON("/api/jobs/");
  main.replaceChildren(el("h2", {}, "Jobs (" + list.length + ")"),
    table(list.map(j => Object.assign({}, j, { start_time: when(j.start_time), end_time: when(j.end_time) })),
          ["job_id", "submission_id", "status", "entrypoint", "exit_code", "start_time", "end_time", "message", "driver_node_id"], "job-"));
}

function paged(kind, title) {
  let offset = 0;
  const limit = 100;
  return async function draw() {
    const page = await getJSON("/api/v0/" + kind + "?limit=" + limit + "&offset=" + offset);
    const prev = el("button", {}, "previous"), next = el("button", {}, "next");
    prev.disabled = offset === 0;
    next.disabled = offset + limit >= page.total;
    prev.onclick = () => { offset = Math.max(0, offset - limit); draw().catch(showError); };
    next.onclick = () => { offset += limit; draw().catch(showError); };
    const shown = page.result.length ? (offset + 1) + "-" + (offset + page.result.length) : "0";
    main.replaceChildren(el("h2", {}, title + " (" + page.total + ")"),
                         el("div", { class: "pager" }, prev, next, shown + " of " + page.total),
                         table(page.result, null, kind + "-"));
  };
}

async function logs() {
  const list = await getJSON("/api/jobs/");
  const q = new URLSearchParams(location.search);
  const sel = el("select", {}, ...list.map(j => el("option", { value: j.job_id }, j.job_id + " " + j.status + " " + (j.entrypoint || ""))));
  const err = el("input", { type: "checkbox" });
  const pre = el("pre", { id: "log" });
  if (q.get("job")) sel.value = q.get("job");
  else if (list.length) sel.value = list[list.length - 1].job_id;
  err.checked = q.get("err") === "1";
  async function show() {
    if (!sel.value) { pre.textContent = "(no jobs)"; return; }
    const r = await getJSON("/api/jobs/" + encodeURIComponent(sel.value) + "/logs" + (err.checked ? "?err=1" : ""));
    pre.textContent = r.logs || "(empty)";
  }
  sel.onchange = err.onchange = () => show().catch(showError);
  main.replaceChildren(el("h2", {}, "Job output"), el("div", {}, "job ", sel, " ", el("label", {}, err, " stderr")), pre);
  await show();
  return show;
}

function timeline() {
  const lim = el("input", { type: "number", value: "100000", min: "1", max: "100000" });
  const job = el("input", { type: "text", placeholder: "job (8 hex digits, optional)", size: "28" });
  const a = el("a", { href: "/api/timeline", download: "timeline.json" }, "Download timeline.json");
  const upd = () => a.setAttribute("href", "/api/timeline?limit=" + encodeURIComponent(lim.value) + (job.value ? "&job=" + encodeURIComponent(job.value) : ""));
  lim.oninput = job.oninput = upd;
  main.replaceChildren(el("h2", {}, "Timeline"),
    el("p", {}, "A Chrome trace of recent tasks, actor calls and ray_get/ray_wait/ray_put; open it in https://ui.perfetto.dev or chrome://tracing."),
    el("p", {}, "newest events ", lim, " ", job, " ", a));
}

const draw = { overview, jobs, actors: paged("actors", "Actors"), tasks: paged("tasks", "Tasks"),
               placement_groups: paged("placement_groups", "Placement groups"), logs, timeline }[view];
async function tick() {
  try { await draw(); stamp(); } catch (e) { showError(e); }
}
tick();
if (view === "overview" || view === "jobs") setInterval(tick, 2000);
