// The Baton status page: renders /api/v1/status and follows /api/v1/events. Every value from the cluster is
// set as text (never as HTML), so a node or accumulator name cannot inject markup.
"use strict";

const state = { points: [], intervalMs: 1000, maxPoints: 300, charts: {}, seriesKey: "" };

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function fill(tableId, rows) {
  const body = document.querySelector("#" + tableId + " tbody");
  body.replaceChildren(...rows.map(cells => {
    const tr = el("tr");
    for (const c of cells) {
      tr.appendChild(typeof c === "object" && c !== null ? el("td", c.text, c.cls) : el("td", c));
    }
    return tr;
  }));
}

function num(v, cls) { return { text: v, cls: "num" + (cls ? " " + cls : "") }; }

function rate(v) {
  if (v === undefined || v === null) return "–";
  return v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString("en");
}

function micros(us) {
  if (us === undefined || us === null) return "–";
  if (us < 1) return Math.round(us * 1000) + " ns";
  if (us < 1000) return (us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : Math.round(us)) + " µs";
  if (us < 1e6) return (us / 1000).toFixed(us < 1e4 ? 2 : 1) + " ms";
  return (us / 1e6).toFixed(2) + " s";
}

function bytes(b) {
  if (b < 1024) return b + " B";
  if (b < 1048576) return (b / 1024).toFixed(1) + " KiB";
  return (b / 1048576).toFixed(1) + " MiB";
}

function uptime(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  return Math.floor(s / 86400) + "d" + String(Math.floor(s % 86400 / 3600)).padStart(2, "0") + "h";
}

function peers(paths) {
  const counts = {};
  for (const p of Object.values(paths || {})) counts[p] = (counts[p] || 0) + 1;
  const parts = Object.keys(counts).sort().map(k => k + ":" + counts[k]);
  return parts.length ? parts.join(" ") : "–";
}

function lease(n) {
  return n.leaseAgeMs === undefined ? "–" : num((n.leaseAgeMs / 1000).toFixed(1) + " s");
}

function renderNodes(doc) {
  fill("nodes", (doc.nodes || []).map(n => {
    if (n.error) {
      return [num(n.rank), n.name, n.address, { text: "did not answer: " + n.error, cls: "bad" }, lease(n), "", "", "",
        "", "", "", "", "", ""];
    }
    const iv = n.interval || {};
    const lat = (iv.latency && iv.latency.sampled > 0) ? iv.latency : n.latency;
    const failed = Object.entries(n.failuresByCode || {}).map(([code, count]) => code + " " + count).join(", ");
    return [num(n.rank), n.name, n.address, uptime(n.uptimeMs), lease(n), peers(n.pathsByRank),
      num(rate(iv.callsPerSecond)),
      num(rate(iv.requestsPerSecond)), num(rate(iv.failuresPerSecond), iv.failuresPerSecond > 0 ? "bad" : ""),
      num(micros(lat.p50Us)), num(micros(lat.p99Us)), num(n.counters.openConnections), num(bytes(n.counters.queuedBytes)),
      { text: failed || "–", cls: failed ? "bad" : "" }];
  }));
}

function renderRest(doc) {
  fill("services", (doc.services || []).map(s => [s.name, num(s.serviceId === undefined ? "–" : s.serviceId),
    s.servers.map(x => x.serverId + "@" + x.rank).join("  ")]));
  fill("accumulators", (doc.accumulators || []).map(a => [a.name, a.type, a.rendered]));
  document.getElementById("accumulators-note").textContent = doc.accumulatorsError
    ? "could not read them: " + doc.accumulatorsError
    : (doc.accumulators && doc.accumulators.length ? "" : "no accumulators");
  const co = doc.coordination || { locks: [], barriers: [], idCounters: {}, idKeys: 0, keys: 0, watches: 0 };
  fill("locks", co.locks.map(l => [l.name, l.holder || "free", num(l.fencingToken || "–"), num(l.waiting)]));
  fill("barriers", co.barriers.map(b => [b.name, num(b.arrivedRanks.length + " of " + b.parties),
    b.arrivedRanks.join(", ")]));
  fill("ids", Object.entries(co.idCounters).map(([k, v]) => [k, num(v)]));
  document.getElementById("coordination-counts").textContent = co.idKeys + " id key(s), " + co.keys
    + " key/value entr" + (co.keys === 1 ? "y" : "ies") + ", " + co.watches + " watch(es)";
}

function render(doc) {
  const nodes = doc.nodes || [];
  const services = doc.services || [];
  const when = doc.time ? new Date(doc.time).toLocaleTimeString() : "–";
  document.getElementById("summary").textContent = nodes.length + " node" + (nodes.length === 1 ? "" : "s") + ", "
    + services.length + " service" + (services.length === 1 ? "" : "s")
    + (doc.membershipVersion !== undefined ? " · membership version " + doc.membershipVersion : "")
    + (doc.master ? " · master " + doc.master : "") + " · updated " + when;
  renderNodes(doc);
  renderRest(doc);
}

// ------------------------------------------------------------------ charts

const PALETTE = ["#2e6bd1", "#d1462e", "#1c9a5a", "#9a3fd1", "#d18f2e", "#2eb3d1", "#6b6b6b", "#c2408c"];

function chartData(metric) {
  // Series: every node seen in the window, by node id, labelled "rank name".
  const ids = [];
  const labels = {};
  for (const p of state.points) {
    for (const n of p.nodes) {
      if (!(n.nodeId in labels)) { ids.push(n.nodeId); labels[n.nodeId] = n.rank + " " + n.name; }
    }
  }
  const xs = state.points.map(p => p.time / 1000);
  const ys = ids.map(id => state.points.map(p => {
    const n = p.nodes.find(x => x.nodeId === id);
    return n && n[metric] !== undefined ? n[metric] : null;
  }));
  return { ids, labels, data: [xs, ...ys] };
}

function drawChart(name, metric, format) {
  const box = document.getElementById("chart-" + name);
  const { ids, labels, data } = chartData(metric);
  const key = ids.join(",");
  const width = Math.max(300, box.clientWidth || 600);
  let chart = state.charts[name];
  if (!chart || chart.key !== key) {
    if (chart) chart.plot.destroy();
    const series = [{}].concat(ids.map((id, i) => ({
      label: labels[id], stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
      value: (u, v) => v === null || v === undefined ? "–" : format(v),
    })));
    const opts = {
      width, height: 220, series,
      scales: { x: { time: true } },
      axes: [{}, { size: 70, values: (u, vals) => vals.map(v => format(v)) }],
      legend: { live: true },
    };
    state.charts[name] = { key, plot: new uPlot(opts, data, box) };
  } else {
    chart.plot.setData(data);
    if (chart.plot.width !== width) chart.plot.setSize({ width, height: 220 });
  }
}

function drawCharts() {
  drawChart("rate", "callsPerSecond", rate);
  drawChart("p99", "p99Us", micros);
}

function addPoint(p) {
  if (!p) return;
  const last = state.points[state.points.length - 1];
  if (last && last.time >= p.time) return;
  state.points.push(p);
  while (state.points.length > state.maxPoints) state.points.shift();
}

// ------------------------------------------------------------------ live updates

function setLive(on) {
  const e = document.getElementById("live");
  e.textContent = on ? "live" : "reconnecting";
  e.className = "live " + (on ? "on" : "off");
}

async function start() {
  try {
    const [status, history] = await Promise.all([
      fetch("/api/v1/status").then(r => r.json()),
      fetch("/api/v1/history").then(r => r.json()),
    ]);
    state.intervalMs = history.intervalMs || 1000;
    state.maxPoints = Math.max(state.maxPoints, history.points.length);
    history.points.forEach(addPoint);
    render(status);
    drawCharts();
  } catch (e) {
    setLive(false);
  }
  const events = new EventSource("/api/v1/events");
  events.addEventListener("open", () => setLive(true));
  events.addEventListener("error", () => setLive(false));
  events.addEventListener("status", ev => {
    setLive(true);
    const doc = JSON.parse(ev.data);
    addPoint(doc.point);
    render(doc);
    drawCharts();
  });
  window.addEventListener("resize", () => drawCharts());
}

start();
