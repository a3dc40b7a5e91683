// wesar serve's page: reads the JSON endpoints, follows /api/live (server-sent journal events) and re-reads what an
// event touches. Running runs' steps and losses come from their metrics files, not the journal: while any run of the
// shown sweep is running, its table and curves are also re-read every few seconds.
"use strict";

const view = { sweep: null, run: null, offset: 0, running: false, charts: [] };
const seen = new Set();   // journal offsets already in the feed (a reconnect may repeat some)

const $ = id => document.getElementById(id);
const num = (x, digits = 4) => x == null ? "-" : Number(x).toFixed(digits);
const duration = s => s == null ? "-" : s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m`
  : `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;

async function get(url) {
  const r = await fetch(url);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function cell(text, cls, attrs = {}) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  for (const [k, v] of Object.entries(attrs)) td.dataset[k] = v;
  return td;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  view.sweep = h.get("sweep") || view.sweep;
  view.run = h.get("run") || view.run;
}

function writeHash() {
  const h = new URLSearchParams();
  if (view.sweep) h.set("sweep", view.sweep);
  if (view.run) h.set("run", view.run);
  history.replaceState(null, "", "#" + h);
}

async function loadSweeps() {
  const o = await get("/api/sweeps");
  view.offset = Math.max(view.offset, o.offset);
  if (!view.sweep || !o.sweeps.some(s => s.id === view.sweep)) view.sweep = o.sweeps.length ? o.sweeps[o.sweeps.length - 1].id : null;
  fill($("sweeps").tBodies[0], o.sweeps.map(s => {
    const tr = document.createElement("tr");
    tr.className = "pick" + (s.id === view.sweep ? " chosen" : "");
    tr.dataset.sweep = s.id;
    tr.append(cell(s.id, "text"), cell(s.name, "text"), cell(s.state, "text " + s.state, { field: "state" }), cell(s.runs), cell(s.completed, "", { field: "completed" }),
      cell(s.failed), cell(s.running));
    tr.onclick = () => { view.sweep = s.id; view.run = null; showAll(); };
    return tr;
  }));
}

async function loadSweep() {
  if (!view.sweep) return;
  const d = await get(`/api/sweeps/${encodeURIComponent(view.sweep)}`);
  const ended = d.runs.filter(r => r.run.state === "completed" || r.run.state === "failed").length;
  view.running = d.runs.some(r => r.run.state === "running");
  $("sweep-title").textContent = `Runs of ${d.id} (${d.name}, ${d.state})`;
  $("sweep-line").textContent = `${ended} of ${d.runs.length} run(s) ended, ${d.runs.filter(r => r.run.state === "running").length} running`
    + (ended === d.runs.length ? "" : ` · ETA ${d.eta_seconds != null ? "~" + duration(d.eta_seconds) : "after the first steps"}`);
  if (!view.run || !d.runs.some(r => r.run.run === view.run)) view.run = d.runs.length ? d.runs[0].run.run : null;
  fill($("runs").tBodies[0], d.runs.map(({ run: r, eta_seconds }) => {
    const tr = document.createElement("tr");
    tr.className = "pick" + (r.run === view.run ? " chosen" : "");
    tr.dataset.run = r.run;
    tr.append(cell(r.run, "text"), cell(r.label, "text"), cell(r.state, "text " + r.state, { field: "state" }), cell(`${r.step}/${r.steps}`, "", { field: "step" }),
      cell(num(r.last_loss), "", { field: "loss" }), cell(num(r.val_loss), "", { field: "val_loss" }), cell(r.spikes, "", { field: "spikes" }),
      cell(r.rollbacks, "", { field: "rollbacks" }), cell(r.restarts, "", { field: "restarts" }),
      cell(r.tokens_per_s == null ? "-" : Math.round(r.tokens_per_s).toLocaleString("en-US"), "", { field: "tokens_per_s" }),
      cell(duration(eta_seconds), "", { field: "eta" }));
    tr.onclick = () => { view.run = r.run; showAll(); };
    return tr;
  }));
  writeHash();
}

// uPlot draws the curves; spikes (× pinned inside the plot, as their values can be 50x the loss) and rolled-back
// spans (shaded) are drawn on top from the journal's events.
function marks(curve) {
  return u => {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.fillStyle = "rgba(130, 80, 223, 0.15)";
    for (const s of curve.rolled_back) {
      const x0 = u.valToPos(s.to, "x", true), x1 = u.valToPos(s.from, "x", true);
      ctx.fillRect(x0, bbox.top, Math.max(2, x1 - x0), bbox.height);
    }
    ctx.strokeStyle = "#cf222e";
    ctx.lineWidth = 3;
    const top = u.scales.y.max;
    for (const s of curve.spikes) {
      const x = u.valToPos(s.step, "x", true), y = u.valToPos(Math.min(s.value, top), "y", true) + (s.value >= top ? 8 : 0);
      ctx.beginPath();
      ctx.moveTo(x - 6, y - 6); ctx.lineTo(x + 6, y + 6);
      ctx.moveTo(x + 6, y - 6); ctx.lineTo(x - 6, y + 6);
      ctx.stroke();
    }
    ctx.restore();
  };
}

const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function chart(box, title, series, data, opts = {}) {
  const c = new uPlot({
    title, width: 560, height: 300, scales: { x: { time: false }, ...(opts.scales || {}) },
    series: [{ label: "step" }, ...series], hooks: opts.hooks || {},
  }, data, box);
  view.charts.push(c);
}

async function loadRun() {
  for (const c of view.charts) c.destroy();
  view.charts = [];
  if (!view.sweep || !view.run) return;
  const base = `/api/sweeps/${encodeURIComponent(view.sweep)}/runs/${encodeURIComponent(view.run)}`;
  const [curve, trail] = await Promise.all([get(base + "/curve"), get(base + "/events")]);
  $("run-title").textContent = `Run ${view.sweep}/${view.run}`;
  chart($("loss-chart"), "loss", [
    { label: "loss", stroke: palette[0], width: 1.5 },
    { label: "val loss", stroke: palette[1], paths: () => null, points: { show: true, size: 8, fill: palette[1] } },
    ], [curve.steps, curve.loss, curve.val_loss], { hooks: { draw: [marks(curve)] } });
  // Ratios and gates are measured every train.measure-interval steps: their lines join the measured steps.
  for (const [key, box, title, log] of [["update_ratio", "ratio", "update ratio", false], ["gate", "gate", "gates α", true]]) {
    const kinds = Object.keys(curve[key]);
    $(box + "-box").hidden = kinds.length === 0;
    if (kinds.length) chart($(box + "-chart"), title, kinds.map((k, i) => ({ label: k, stroke: palette[i % palette.length], width: 1.5, spanGaps: true })),
      [curve.steps, ...kinds.map(k => curve[key][k])], log ? { scales: { y: { distr: 3 } } } : {});
  }
  $("trail").replaceChildren(...trail.map(e => line(e)));
}

function line(e) {
  const li = document.createElement("li");
  li.textContent = `${e.at.replace("T", " ").replace("Z", "")}  #${e.seq}  ${e.run ? e.sweep + "/" + e.run + "  " : e.sweep + "  "}${e.text}`;
  Object.assign(li.dataset, { offset: e.offset, sweep: e.sweep, type: e.type, at: e.at });
  if (e.run) li.dataset.run = e.run;
  return li;
}

async function loadCompare() {
  if (!view.sweep) return;
  $("compare-error").textContent = "";
  try {
    const c = await get(`/api/sweeps/${encodeURIComponent(view.sweep)}/compare?by=${encodeURIComponent($("compare-by").value)}`);
    const head = document.createElement("tr");
    for (const h of [c.pivot.row_header, ...c.pivot.columns]) { const th = document.createElement("th"); th.textContent = h; head.append(th); }
    $("compare").tHead.replaceChildren(head);
    fill($("compare").tBodies[0], c.pivot.rows.map(row => {
      const tr = document.createElement("tr");
      tr.append(cell(row.name, "text"), ...row.cells.map(x => x == null ? cell("-") : cell(
        `${x.best_in_column ? "* " : ""}${num(x.loss_mean)}${x.loss_std != null ? " ± " + num(x.loss_std) : ""} (n=${x.completed}/${x.runs}) `
        + `spikes ${+x.spikes_mean.toPrecision(3)} rollbacks ${+x.rollbacks_mean.toPrecision(3)}`, x.best_in_column ? "best" : "")));
      return tr;
    }));
    $("compare-legend").textContent = c.legend + "; * best in its column";
  } catch (err) {
    $("compare-error").textContent = err.message;
  }
}

async function showAll() {
  await loadSweeps();
  await loadSweep();
  await Promise.all([loadRun(), loadCompare()]);
}

// Several events often come at once (a run's end, the sweep's end): one re-read for them all.
let pending = null;
function refreshSoon(touches) {
  pending = pending || { sweep: false, run: false };
  pending.sweep ||= touches.sweep;
  pending.run ||= touches.run;
  setTimeout(async () => {
    const p = pending;
    if (!p) return;
    pending = null;
    await loadSweeps();
    if (p.sweep) await loadSweep();
    await Promise.all([p.run ? loadRun() : null, p.sweep ? loadCompare() : null]);
  }, 250);
}

function follow() {
  const live = new EventSource(`/api/live?after=${view.offset}`);
  live.onopen = () => { $("status").className = "live"; $("status").textContent = "live: following the journal"; };
  live.onerror = () => { $("status").className = "down"; $("status").textContent = "connection lost; reconnecting…"; };
  live.addEventListener("journal", m => {
    const e = JSON.parse(m.data);
    if (seen.has(e.offset)) return;
    seen.add(e.offset);
    const li = line(e);
    li.dataset.seen = Date.now();   // when the page showed it: the test compares this with the journal's write time
    $("feed").prepend(li);
    while ($("feed").children.length > 200) $("feed").lastChild.remove();
    refreshSoon({ sweep: e.sweep === view.sweep, run: e.sweep === view.sweep && e.run === view.run });
  });
}

$("compare-form").onsubmit = ev => { ev.preventDefault(); loadCompare(); };
setInterval(() => { if (view.running) refreshSoon({ sweep: true, run: true }); }, 5000);
readHash();
showAll().then(follow, err => { $("status").className = "down"; $("status").textContent = err.message; });
