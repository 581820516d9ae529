// The adsgen dashboard: reads the API of the server that serves it and draws with ECharts.
// Every number comes from a report endpoint (SQL aggregations); the filters are query
// parameters of those endpoints. window.adsgen tells tests when a load has rendered.
"use strict";

const API = "/api/v1";
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
const REASONS = ["supply", "competition", "frequency_cap", "daily_cap", "budget", "pacing", "none"];
const charts = {};
const campaignAdvertiser = new Map(); // campaign id → its advertiser id, for the geo panel
window.adsgen = { ready: false, renders: 0, loads: 0 };

function chart(id) {
  if (!charts[id]) {
    charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
  }
  return charts[id];
}

function filters() {
  const params = new URLSearchParams();
  for (const id of ["advertiser", "campaign", "start", "end"]) {
    const el = document.getElementById(id);
    if (el.value) params.set(el.name, el.value);
  }
  return params;
}

async function get(path, params) {
  const query = params && String(params) ? (path.includes("?") ? "&" : "?") + params : "";
  const response = await fetch(API + path + query, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

function report(dimensions, metrics, extra) {
  const params = filters();
  for (const d of dimensions) params.append("dimension", d);
  for (const m of metrics) params.append("metric", m);
  params.set("limit", "10000");
  for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
  return get("/reports/delivery", params);
}

const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const percent = (x) => (x == null ? "–" : (100 * x).toFixed(x < 0.01 ? 2 : 1) + " %");
const money = (amount, currency) =>
  new Intl.NumberFormat("en-US", { style: "currency", currency, maximumFractionDigits: 0 })
    .format(amount);
const cents = (amount, currency) =>
  amount == null ? "–" : new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount);

function show(id, option, points) {
  const c = chart(id);
  c.setOption(option, true);
  document.getElementById(id).dataset.points = String(points);
}

function kpis(rows) {
  const total = (k) => rows.reduce((s, r) => s + (r[k] || 0), 0);
  const impressions = total("impressions");
  const cards = [
    ["Impressions", number.format(impressions)],
    ["Spend", rows.map((r) => money(r.spend, r.currency)).join(" + ") || "–"],
    ["VCR", percent(impressions ? total("completes") / impressions : null)],
    ["Viewability", percent(rows.length === 1 ? rows[0].viewability : null)],
    ["CTR", percent(impressions ? total("clicks") / impressions : null)],
    ["Conversions", number.format(total("conversions"))],
  ];
  document.getElementById("kpis").innerHTML = cards
    .map(([label, value]) => `<div class="kpi"><small>${label}</small><b>${value}</b></div>`)
    .join("");
}

function overview(rows) {
  const names = rows.map((r) => r.campaign_name);
  show("chart-overview", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 8, right: 40, top: 30, bottom: 8, containLabel: true },
    xAxis: [{ type: "value", name: "spend", axisLabel: { formatter: compact.format } },
            { type: "value", name: "VCR", max: 1, axisLabel: { formatter: (v) => percent(v) } }],
    yAxis: { type: "category", data: names, inverse: true,
             axisLabel: { width: 110, overflow: "truncate" } },
    series: [
      { name: "spend", type: "bar", data: rows.map((r) => r.spend) },
      { name: "VCR", type: "scatter", xAxisIndex: 1, data: rows.map((r) => r.vcr) },
    ],
  }, rows.length);
}

function daily(rows) {
  show("chart-daily", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 30, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: rows.map((r) => r.date) },
    yAxis: [{ type: "value", axisLabel: { formatter: compact.format } },
            { type: "value", axisLabel: { formatter: compact.format } }],
    series: [
      { name: "impressions", type: "line", showSymbol: false, data: rows.map((r) => r.impressions) },
      { name: "spend", type: "line", yAxisIndex: 1, showSymbol: false, data: rows.map((r) => r.spend) },
    ],
  }, rows.length);
}

function pacing(rows) {
  const days = rows.map((r) => r.day);
  show("chart-pacing", {
    tooltip: { trigger: "axis" },
    legend: { top: 0, type: "scroll" },
    grid: { left: 8, right: 8, top: 50, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: days },
    yAxis: { type: "value", axisLabel: { formatter: compact.format } },
    series: [
      { name: "goal", type: "line", showSymbol: false, data: rows.map((r) => r.goal_impressions) },
      { name: "delivered", type: "line", showSymbol: false,
        data: rows.map((r) => r.delivered_impressions) },
      ...REASONS.map((reason) => ({
        name: `short: ${reason}`, type: "bar", stack: "short",
        data: rows.map((r) => r[`shortfall_${reason}`]),
      })),
    ],
  }, rows.length);
}

function heatmap(rows) {
  const data = rows.map((r) => [r.hour_of_day, r.weekday - 1, r.impressions]);
  const max = Math.max(1, ...rows.map((r) => r.impressions));
  show("chart-heatmap", {
    tooltip: { formatter: (p) => `${WEEKDAYS[p.value[1]]} ${HOURS[p.value[0]]}:00 — ${number.format(p.value[2])}` },
    grid: { left: 8, right: 8, top: 8, bottom: 64, containLabel: true },
    xAxis: { type: "category", data: HOURS, splitArea: { show: true },
             axisLabel: { interval: 2 } },
    yAxis: { type: "category", data: WEEKDAYS, inverse: true, splitArea: { show: true } },
    visualMap: { min: 0, max, calculable: true, orient: "horizontal", left: "center", bottom: 0,
                 itemHeight: 120, formatter: (v) => compact.format(v) },
    series: [{ type: "heatmap", data }],
  }, data.length);
}

function funnel(rows) {
  const r = rows[0] || {};
  const steps = [["impressions", "Impressions"], ["starts", "Starts"], ["first_quartile", "25 %"],
                 ["midpoint", "50 %"], ["third_quartile", "75 %"], ["completes", "Completes"]];
  const data = rows.length ? steps.map(([k, name]) => ({ name, value: r[k] || 0 })) : [];
  show("chart-funnel", {
    tooltip: { trigger: "item", formatter: (p) => `${p.name}: ${number.format(p.value)}` },
    series: [{ type: "funnel", sort: "none", left: "10%", width: "80%", top: 10, bottom: 10,
               minSize: "30%", label: { position: "inside", formatter: (p) => `${p.name} ${compact.format(p.value)}` },
               data }],
  }, data.length);
}

function frequency(result) {
  const buckets = result.frequency_distribution;
  show("chart-frequency", {
    tooltip: { trigger: "axis" },
    grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
    xAxis: { type: "category", name: "impressions", data: buckets.map((b) => b.frequency) },
    yAxis: { type: "value", axisLabel: { formatter: compact.format } },
    series: [{ name: "households", type: "bar", data: buckets.map((b) => b.households) }],
  }, buckets.filter((b) => b.households > 0).length);
}

function reach(result) {
  const items = result.line_items;
  show("chart-reach", {
    tooltip: { formatter: (p) => `${p.data.name}<br>reach ${number.format(p.value[0])}` +
                                 `<br>frequency ${p.value[1].toFixed(2)}` },
    grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
    xAxis: { type: "value", name: "reach", axisLabel: { formatter: compact.format } },
    yAxis: { type: "value", name: "avg frequency" },
    series: [{ type: "scatter", symbolSize: 12,
               data: items.map((i) => ({ name: i.line_item_name,
                                         value: [i.reach, i.average_frequency] })) }],
  }, items.length);
}

function devices(rows) {
  show("chart-devices", {
    tooltip: { trigger: "item" },
    legend: { bottom: 0 },
    series: [{ type: "pie", radius: ["40%", "70%"], label: { formatter: "{b} {d} %" },
               data: rows.map((r) => ({ name: r.device, value: r.impressions })) }],
  }, rows.length);
}

function platforms(rows) {
  // rows: platform × currency (spend is summed per currency); impressions add up across them
  const names = [...new Set(rows.map((r) => r.platform))];
  const currencies = [...new Set(rows.map((r) => r.currency))];
  const impressions = names.map((name) => rows.filter((r) => r.platform === name)
    .reduce((sum, r) => sum + r.impressions, 0));
  show("chart-platforms", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 8, right: 72, top: 30, bottom: 8, containLabel: true },
    xAxis: [{ type: "value", name: "impressions", axisLabel: { formatter: compact.format } },
            { type: "value", name: "spend", axisLabel: { formatter: compact.format } }],
    yAxis: { type: "category", data: names, inverse: true,
             axisLabel: { width: 110, overflow: "truncate" } },
    series: [
      { name: "impressions", type: "bar", data: impressions },
      ...currencies.map((currency) => ({
        name: `spend (${currency})`, type: "bar", xAxisIndex: 1,
        data: names.map((name) => rows.find((r) => r.platform === name &&
                                                   r.currency === currency)?.spend ?? 0),
      })),
    ],
  }, names.length);
}

function weekEdge(day, sunday) {
  // the Monday on or before a UTC date ('YYYY-MM-DD'), or the Sunday on or after it
  const d = new Date(`${day}T00:00:00Z`);
  const weekday = (d.getUTCDay() + 6) % 7; // 0 Monday … 6 Sunday
  d.setUTCDate(d.getUTCDate() + (sunday ? 6 - weekday : -weekday));
  return d.toISOString().slice(0, 10);
}

function geoQuery() {
  // Performance rows have no geo: the geo report sums the weekly geo split (table mmm),
  // per advertiser and ISO week. The dashboard's filters are widened to that grain (a
  // campaign to its advertiser, dates to whole weeks) and the panel says so.
  const params = new URLSearchParams();
  const widened = [];
  const campaign = document.getElementById("campaign").value;
  const advertiser = (campaign && campaignAdvertiser.get(campaign)) ||
    document.getElementById("advertiser").value;
  if (advertiser) params.set("advertiser_id", advertiser);
  if (campaign) widened.push("every campaign of the chosen campaign's advertiser (the split is " +
                             "per advertiser)");
  const start = document.getElementById("start").value;
  const end = document.getElementById("end").value;
  if (start) params.set("start", weekEdge(start, false));
  if (end) params.set("end", weekEdge(end, true));
  if ((start && params.get("start") !== start) || (end && params.get("end") !== end)) {
    widened.push(`whole ISO weeks, ${params.get("start") || "first"} to ` +
                 `${params.get("end") || "last"} (the split is weekly)`);
  }
  params.append("dimension", "geo");
  for (const m of ["impressions", "spend", "ecpm", "conversions"]) params.append("metric", m);
  params.set("sort", "-impressions");
  params.set("limit", "10000");
  return { params, widened };
}

function geos(rows, widened, delivered) {
  // rows: geo × currency; one table row per geo, money per currency
  const byGeo = new Map();
  for (const r of rows) {
    const g = byGeo.get(r.geo) || { geo: r.geo, impressions: 0, conversions: 0, money: [] };
    g.impressions += r.impressions;
    g.conversions += r.conversions;
    g.money.push(r);
    byGeo.set(r.geo, g);
  }
  const shown = [...byGeo.values()].sort((a, b) => b.impressions - a.impressions);
  const total = shown.reduce((sum, g) => sum + g.impressions, 0);
  const table = document.getElementById("geo-table");
  table.tBodies[0].innerHTML = shown.map((g) => `<tr><td>${escape(g.geo)}</td>` +
    `<td>${number.format(g.impressions)}</td><td>${percent(total ? g.impressions / total : null)}</td>` +
    `<td>${g.money.map((r) => money(r.spend, r.currency)).join(" + ")}</td>` +
    `<td>${g.money.map((r) => cents(r.ecpm, r.currency)).join(" + ")}</td>` +
    `<td>${number.format(g.conversions)}</td></tr>`).join("");
  table.dataset.points = String(shown.length);
  const note = document.getElementById("geo-note");
  if (!shown.length) {
    note.textContent = delivered
      ? "No geo rows in this database for these filters: geo comes from the weekly geo " +
        "split (table mmm) that batch runs write (run-all, simulate, generate); a live " +
        "stream's hours are not split by geo."
      : "No delivery for these filters.";
  } else {
    note.textContent = "From the weekly geo split (table mmm)" +
      (widened.length ? `: ${widened.join("; ")}` : "") +
      ". VCR is not split by geo (the split holds impressions, spend and conversions).";
  }
  note.dataset.empty = String(!shown.length);
}

function truthRates(result) {
  // One small panel per rate, each on its own linear scale (CTR is a hundredth of VCR).
  const t = result.rates;
  const names = ["VCR", "Viewability", "CTR"];
  const keys = ["vcr", "viewability", "ctr"];
  const has = t.impressions > 0;
  const grids = names.map((_, i) => ({ left: `${4 + i * 33}%`, width: "26%", top: 40, bottom: 24,
                                       containLabel: true }));
  show("chart-truth-rates", {
    tooltip: { trigger: "item", formatter: (p) => `${p.seriesName}: ${percent(p.value)}` },
    legend: { top: 0, data: ["true (first exposure)", "observed"] },
    grid: grids,
    xAxis: names.map((name, i) => ({ type: "category", gridIndex: i, data: [name] })),
    yAxis: names.map((_, i) => ({ type: "value", gridIndex: i,
                                  axisLabel: { formatter: (v) => percent(v) } })),
    series: keys.flatMap((k, i) => [
      { name: "true (first exposure)", type: "bar", xAxisIndex: i, yAxisIndex: i,
        itemStyle: { color: "#5470c6" }, data: has ? [t[`true_${k}`]] : [] },
      { name: "observed", type: "bar", xAxisIndex: i, yAxisIndex: i,
        itemStyle: { color: "#91cc75" }, data: has ? [t[`observed_${k}`]] : [] },
    ]),
  }, has ? names.length : 0);
}

function truthConversions(result) {
  const rows = result.conversions;
  show("chart-truth-conversions", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 30, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: rows.map((r) => r.day) },
    yAxis: { type: "value", axisLabel: { formatter: compact.format } },
    series: [
      { name: "incremental (true, caused by the ads)", type: "line", showSymbol: false,
        data: rows.map((r) => r.incremental) },
      { name: "attributed (what the ad server reports)", type: "line", showSymbol: false,
        data: rows.map((r) => r.attributed) },
    ],
  }, rows.length);
}

async function load() {
  const started = performance.now();
  window.adsgen.ready = false;
  window.adsgen.loads += 1;
  const status = document.getElementById("status");
  status.textContent = "Loading…";
  const params = filters();
  try {
    const geoAsk = geoQuery();
    const [totals, campaigns, days, pace, heat, funnelRows, reachResult, deviceRows, truth,
           platformRows, geoRows] = await Promise.all([
        report([], ["impressions", "completes", "vcr", "viewability", "clicks", "ctr",
                    "conversions", "spend"]),
        report(["campaign"], ["spend", "impressions", "vcr"], { sort: "-spend", limit: "30" }),
        report(["date"], ["impressions", "spend"]),
        get("/reports/pacing", params),
        report(["weekday", "hour_of_day"], ["impressions"]),
        report([], ["impressions", "starts", "first_quartile", "midpoint", "third_quartile",
                    "completes"]),
        get("/reports/reach", params),
        report(["device"], ["impressions"]),
        get("/reports/truth", params),
        report(["platform"], ["impressions", "spend"], { sort: "-impressions" }),
        get("/reports/delivery", geoAsk.params),
      ]);
    kpis(totals.rows);
    overview(campaigns.rows);
    daily(days.rows);
    pacing(pace.rows);
    heatmap(heat.rows);
    funnel(funnelRows.rows);
    frequency(reachResult);
    reach(reachResult);
    devices(deviceRows.rows);
    truthRates(truth);
    truthConversions(truth);
    platforms(platformRows.rows);
    const empty = !totals.rows.length || !totals.rows[0].impressions;
    geos(geoRows.rows, geoAsk.widened, !empty);
    status.textContent = empty
      ? "No delivery for these filters (run `adsgen run-all` to fill an empty database)."
      : `Updated in ${Math.round(performance.now() - started)} ms.`;
    window.adsgen.renders += 1;
    window.adsgen.ready = true;
  } catch (error) {
    status.textContent = `Could not load: ${error.message}`;
    throw error;
  }
}

async function fillCampaigns() {
  const advertiser = document.getElementById("advertiser").value;
  const params = new URLSearchParams({ limit: "1000", sort: "name" });
  if (advertiser) params.set("advertiser_id", advertiser);
  const page = await get("/campaigns", params);
  const select = document.getElementById("campaign");
  const chosen = select.value;
  for (const c of page.items) campaignAdvertiser.set(String(c.id), String(c.advertiser_id));
  select.innerHTML = '<option value="">All</option>' + page.items
    .map((c) => `<option value="${c.id}">${escape(c.name)}</option>`).join("");
  select.value = chosen; // kept when still listed (a live reload), else "All"
  if (select.value !== chosen) select.value = "";
}

function escape(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}

// Live: the server pushes the delivery (Server-Sent Events, /api/v1/live) whenever the
// database changes (a stream syncing into it, a run, a write); the panels load again, one
// load at a time, with the filters as they are.
let reloading = null;
let reloadAgain = false;

async function reload() {
  if (reloading) {
    reloadAgain = true;
    return;
  }
  reloading = (async () => {
    do {
      reloadAgain = false;
      await fillAdvertisers();
      await fillCampaigns();
      await load();
    } while (reloadAgain);
  })();
  try {
    await reloading;
  } finally {
    reloading = null;
  }
}

function live() {
  const badge = document.getElementById("live");
  const source = new EventSource(API + "/live");
  let seen = null;
  source.addEventListener("delivery", (event) => {
    const update = JSON.parse(event.data);
    window.adsgen.live = update;
    badge.textContent = update.latest_hour
      ? `Live · latest hour ${update.latest_hour.slice(0, 13).replace("T", " ")}:00 UTC`
      : "Live · no delivery yet";
    badge.className = "live on";
    const key = `${update.rows}|${update.latest_hour}|` +
      update.totals.map((t) => `${t.impressions}:${t.spend}`).join(",");
    if (seen !== null && key !== seen) reload();
    seen = key;
  });
  source.addEventListener("error", () => {
    badge.textContent = "Live · reconnecting…";
    badge.className = "live";
  });
}

async function fillAdvertisers() {
  const select = document.getElementById("advertiser");
  const chosen = select.value;
  const page = await get("/advertisers", new URLSearchParams({ limit: "1000", sort: "name" }));
  select.innerHTML = '<option value="">All</option>' + page.items
    .map((a) => `<option value="${a.id}">${escape(a.name)}</option>`).join("");
  select.value = chosen;
  if (select.value !== chosen) select.value = "";
}

async function start() {
  await fillAdvertisers();
  await fillCampaigns();
  document.getElementById("advertiser").addEventListener("change", async () => {
    await fillCampaigns();
    await load();
  });
  for (const id of ["campaign", "start", "end"]) {
    document.getElementById(id).addEventListener("change", load);
  }
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  await load();
  live();
}

start();
