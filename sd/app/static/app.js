// kuzbass-sd policy simulator: controls, charts and calls to the JSON API.
// Every text from the study or the labels file is inserted with textContent, never as HTML.
"use strict";

const UI = {
  en: {
    start_from: "Start from scenario", levers: "Policy levers", shocks: "Shocks of this scenario",
    band: "Uncertainty band (5-95%)", save: "Save as scenario", save_name: "scenario name",
    save_button: "Save", download_csv: "Download CSV", download_png: "Download PNG",
    reset: "Reset", strength: "strength", on: "on", history: "recorded", baseline: "baseline",
    current: "current settings", band_trace: "5-95% of runs", running: "running...",
    ran: "computed in {ms} ms", band_running: "computing the band...",
    band_done: "band of {n} runs in {ms} ms", saved: "saved {file}; run it with: {command}",
    no_shocks: "This scenario has no shocks.", no_levers: "The model declares no levers.",
    indicator: "indicator", value: "value", time: "year", error: "Error: ",
    none_by: "none by {year}", runs: "{n} runs",
    shapes: { step: "step", pulse: "pulse", ramp: "ramp", crash: "crash",
      trend_change: "trend change", series: "series" },
    params: { start: "start", end: "end", size: "size", depth: "depth", duration: "duration",
      half_life: "half-life", rate: "rate", scale: "scale", column: "column" },
    units: { bnRUB: "bn RUB", Dmnl: "", Year: "", persons: "persons" },
  },
  ru: {
    start_from: "Исходный сценарий", levers: "Рычаги политики", shocks: "Шоки этого сценария",
    band: "Полоса неопределённости (5-95%)", save: "Сохранить как сценарий",
    save_name: "имя сценария", save_button: "Сохранить", download_csv: "Скачать CSV",
    download_png: "Скачать PNG", reset: "Сбросить", strength: "сила", on: "вкл.",
    history: "факт", baseline: "базовый", current: "текущие настройки",
    band_trace: "5-95% прогонов", running: "расчёт...", ran: "рассчитано за {ms} мс",
    band_running: "расчёт полосы...", band_done: "полоса из {n} прогонов за {ms} мс",
    saved: "сохранено в {file}; запуск: {command}", no_shocks: "В этом сценарии нет шоков.",
    no_levers: "В модели нет рычагов.", indicator: "показатель", value: "значение",
    time: "год", error: "Ошибка: ", none_by: "нет до {year}", runs: "{n} прогонов",
    shapes: { step: "ступенька", pulse: "импульс", ramp: "линейный рост", crash: "обвал",
      trend_change: "смена тренда", series: "ряд" },
    params: { start: "начало", end: "конец", size: "величина", depth: "глубина",
      duration: "длительность", half_life: "полупериод", rate: "темп", scale: "масштаб",
      column: "столбец" },
    units: { bnRUB: "млрд руб.", Dmnl: "", Year: "", persons: "чел." },
  },
};

const state = { lang: "en", message: null, config: null, settings: null, last: null, band: null, runs: 0,
  pending: null, busy: false };
window.sdApp = state;  // read by the browser test

function t(key, vars) {
  let text = (UI[state.lang] || UI.en)[key] || key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, v);
  return text;
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const isJson = (response.headers.get("Content-Type") || "").includes("json");
  const payload = isJson ? await response.json() : await response.text();
  if (!response.ok) throw new Error(isJson ? payload.error : payload);
  return payload;
}

function status(text, isError, key, vars) {
  state.message = key ? { key, vars } : null;  // redrawn in the other language
  const node = document.getElementById("status");
  node.textContent = isError ? t("error") + text : text;
  node.className = isError ? "error" : "";
}

function fmt(x) {
  if (x === null || x === undefined) return "-";
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return x.toLocaleString(state.lang === "ru" ? "ru-RU" : "en-US",
    { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

async function loadConfig(lang) {
  state.lang = lang;
  state.config = await api(`/api/config?lang=${encodeURIComponent(lang)}`);
  document.documentElement.lang = lang;
  for (const b of document.querySelectorAll(".langs button")) {
    b.classList.toggle("active", b.dataset.lang === lang);
  }
  document.getElementById("title").textContent = state.config.title;
  document.getElementById("question").textContent = state.config.question || "";
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  const select = document.getElementById("scenario");
  const chosen = state.settings ? state.settings.scenario : state.config.base;
  select.replaceChildren(...state.config.scenarios.map(
    (s) => el("option", { value: s.name }, s.label)));
  select.value = chosen;
  const note = document.getElementById("band-note");
  note.textContent = state.config.band_runs ? t("runs", { n: state.config.band_runs }) : "";
  document.getElementById("band").disabled = !state.config.band_runs;
  if (!state.settings) state.settings = defaults(chosen);
  drawControls();
  drawCharts();
}

function scenarioConfig(name) {
  return state.config.scenarios.find((s) => s.name === name);
}

function defaults(scenario) {
  const levers = {};
  for (const lv of state.config.levers) levers[lv.name] = lv.default;
  return { scenario, levers, strengths: scenarioConfig(scenario).shocks.map(() => 1) };
}

function slider(id, label, value, low, high, step, units, onInput) {
  const box = el("div", { class: "control" });
  const head = el("label", { for: id });
  head.append(el("span", { class: "name" }, label + (units ? ` (${units})` : "")));
  const shown = el("span", { class: "value", id: `${id}-value` }, fmt(value));
  head.append(shown);
  const input = el("input", { type: "range", id, min: low, max: high, step, value });
  input.value = value;
  input.addEventListener("input", () => {
    shown.textContent = fmt(Number(input.value));
    onInput(Number(input.value));
  });
  box.append(head, input);
  return box;
}

function drawControls() {
  const sc = scenarioConfig(state.settings.scenario);
  document.getElementById("scenario-description").textContent = sc.description;
  const levers = document.getElementById("levers");
  levers.replaceChildren();
  if (!state.config.levers.length) levers.append(el("p", { class: "note" }, t("no_levers")));
  state.config.levers.forEach((lv, i) => {
    levers.append(slider(`lever-${i}`, lv.label, state.settings.levers[lv.name], lv.low, lv.high,
      lv.step, lv.units, (v) => { state.settings.levers[lv.name] = v; schedule(); }));
  });
  const shocks = document.getElementById("shocks");
  shocks.replaceChildren();
  if (!sc.shocks.length) shocks.append(el("p", { class: "note" }, t("no_shocks")));
  sc.shocks.forEach((shock, i) => {
    const box = el("div", { class: "shock" });
    const names = (UI[state.lang] || UI.en).params;
    const params = Object.entries(shock.params).map(([k, v]) => `${names[k] || k} ${k === "start" || k === "end" ? v : fmt(v)}`)
      .join(", ");
    const shape = (UI[state.lang] || UI.en).shapes[shock.shape] || shock.shape;
    box.append(el("div", { class: "note" }, `${shock.label}: ${shape} (${params})`));
    const on = el("input", { type: "checkbox", id: `shock-${i}-on` });
    on.checked = state.settings.strengths[i] !== 0;
    const sw = el("label", { class: "switch" });
    sw.append(on, el("span", {}, " " + t("on")));
    const range = slider(`shock-${i}`, t("strength"), state.settings.strengths[i],
      state.config.strength.low, state.config.strength.high, 0.05, "",
      (v) => { state.settings.strengths[i] = v; on.checked = v !== 0; schedule(); });
    on.addEventListener("change", () => {
      state.settings.strengths[i] = on.checked ? 1 : 0;
      const input = range.querySelector("input");
      input.value = state.settings.strengths[i];
      range.querySelector(".value").textContent = fmt(state.settings.strengths[i]);
      schedule();
    });
    box.append(sw, range);
    shocks.append(box);
  });
}

function drawCharts() {
  const charts = document.getElementById("charts");
  charts.replaceChildren(...state.config.charts.map((c, i) =>
    el("div", { class: "chart", id: `chart-${i}`, "data-variable": c.variable })));
  if (state.last) render();
}

function traces(chart) {
  const out = [];
  const history = state.config.history[chart.variable];
  if (history) {
    out.push({ x: history.x, y: history.y, name: t("history"), mode: "markers",
      marker: { color: "black", size: 4 }, type: "scatter" });
  }
  const band = state.band && state.band[chart.variable];
  if (band) {
    out.push({ x: band.x, y: band.p5, mode: "lines", line: { width: 0 }, showlegend: false,
      hoverinfo: "skip", type: "scatter" });
    out.push({ x: band.x, y: band.p95, mode: "lines", line: { width: 0 }, fill: "tonexty",
      fillcolor: "rgba(31,119,180,0.18)", name: t("band_trace"), type: "scatter" });
  }
  out.push({ x: state.last.times, y: state.last.base[chart.variable], name: t("baseline"),
    mode: "lines", line: { color: "#888", dash: "dash", width: 1.5 }, type: "scatter" });
  out.push({ x: state.last.times, y: state.last.series[chart.variable], name: t("current"),
    mode: "lines", line: { color: "#1f77b4", width: 2.2 }, type: "scatter", meta: "current" });
  return out;
}

function render() {
  state.config.charts.forEach((chart, i) => {
    const layout = {
      title: { text: chart.label, font: { size: 13 } },
      margin: { l: 60, r: 10, t: 34, b: 30 },
      xaxis: { range: [state.last.times[0], state.last.times[state.last.times.length - 1]] },
      yaxis: { title: { text: chart.units, font: { size: 11 } }, separatethousands: true },
      legend: { orientation: "h", y: -0.12, font: { size: 10 } },
      separators: state.lang === "ru" ? ", " : ".,",
      shapes: state.config.forecast_start ? [{ type: "line", x0: state.config.forecast_start,
        x1: state.config.forecast_start, yref: "paper", y0: 0, y1: 1,
        line: { color: "#bbb", width: 1, dash: "dot" } }] : [],
    };
    Plotly.react(`chart-${i}`, traces(chart), layout, { displaylogo: false, responsive: true });
  });
  drawIndicators();
}

function drawIndicators() {
  const table = document.getElementById("indicators");
  const rows = (state.last && state.last.indicators) || [];
  table.replaceChildren();
  for (const row of rows) {
    const tr = el("tr");
    tr.append(el("th", {}, row.label[state.lang] || row.label.en));
    let text = row.value === null ? t("none_by", { year: row.horizon || "" }) : fmt(row.value);
    const units = (UI[state.lang] || UI.en).units;
    const unit = row.unit in units ? units[row.unit] : row.unit;
    if (unit && row.value !== null) text += ` ${unit}`;
    tr.append(el("td", { "data-indicator": row.indicator }, text));
    table.append(tr);
  }
}

function schedule() {
  clearTimeout(state.pending);
  state.pending = setTimeout(update, 40);
}

async function update() {
  state.busy = true;
  status(t("running"));
  try {
    const sent = JSON.parse(JSON.stringify(state.settings));
    const result = await api("/api/run", sent);
    state.last = { ...result, settings: sent };
    state.runs += 1;
    if (!document.getElementById("band").checked) state.band = null;
    render();
    status(t("ran", { ms: result.ms }), false, "ran", { ms: result.ms });
    if (document.getElementById("band").checked) await updateBand(sent);
  } catch (err) {
    status(err.message, true);
  } finally {
    state.busy = false;
  }
}

async function updateBand(sent) {
  status(t("band_running"));
  const result = await api("/api/band", sent);
  state.band = result.bands;
  render();
  const vars = { n: state.config.band_runs, ms: result.ms };
  status(t("band_done", vars), false, "band_done", vars);
}

async function save() {
  const node = document.getElementById("save-result");
  try {
    const name = document.getElementById("save-name").value;
    const result = await api("/api/save", { ...state.settings, name, label: name });
    node.textContent = t("saved", result);
    state.saved = result;
  } catch (err) {
    node.textContent = t("error") + err.message;
  }
}

async function downloadCsv() {
  const response = await fetch("/api/csv", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(state.settings) });
  if (!response.ok) return status((await response.json()).error, true);
  const link = el("a", { href: URL.createObjectURL(await response.blob()),
    download: "simulation.csv" });
  link.click();
}

async function downloadPng() {
  const width = 640, height = 320, cols = 2;
  const n = state.config.charts.length;
  const canvas = el("canvas");
  canvas.width = width * cols;
  canvas.height = height * Math.ceil(n / cols);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < n; i++) {
    const url = await Plotly.toImage(`chart-${i}`, { format: "png", width, height });
    const img = new Image();
    await new Promise((resolve) => { img.onload = resolve; img.src = url; });
    ctx.drawImage(img, (i % cols) * width, Math.floor(i / cols) * height);
  }
  el("a", { href: canvas.toDataURL("image/png"), download: "simulation.png" }).click();
}

document.getElementById("scenario").addEventListener("change", (e) => {
  state.settings = defaults(e.target.value);
  drawControls();
  schedule();
});
document.getElementById("band").addEventListener("change", schedule);
document.getElementById("save").addEventListener("click", save);
document.getElementById("download-csv").addEventListener("click", downloadCsv);
document.getElementById("download-png").addEventListener("click", downloadPng);
document.getElementById("reset").addEventListener("click", () => {
  state.settings = defaults(state.settings.scenario);
  drawControls();
  schedule();
});
for (const b of document.querySelectorAll(".langs button")) {
  b.addEventListener("click", async () => {
    await loadConfig(b.dataset.lang);
    render();
    if (state.message) status(t(state.message.key, state.message.vars), false, state.message.key,
      state.message.vars);
  });
}
loadConfig("en").then(update).catch((err) => status(err.message, true));
