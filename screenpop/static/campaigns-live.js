// The supervisor page's live campaigns, drawn from the `campaigns` frames the server pushes on
// /ws (screenpop.campaigns.live): per campaign a stacked progress bar, calls and activations per
// hour over the last 12 h, the rates, the dialer's live figures and pause/resume. SVG only via
// attributes (the CSP allows no inline style); text through textContent.
"use strict";

window.ScreenpopCampaigns = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const SEGMENTS = [
    ["pending", "Pendientes", "#94a3b8"], ["in_progress", "En curso", "#f59e0b"],
    ["contacted", "Contactados", "#3b82f6"], ["activated", "Activados", "#16a34a"],
    ["exhausted", "Agotados", "#b91c1c"], ["closed", "Cerrados", "#6b7280"],
    ["blocked", "Bloqueados", "#7c3aed"], ["removed", "Ya no pendientes", "#d1d5db"]];
  const ALWAYS = new Set(["pending", "in_progress", "contacted", "activated", "exhausted"]);
  const ACTIONS = { start: "Iniciar", pause: "Pausar", resume: "Reanudar" };
  const HOURS = 12;
  let csrf = "";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function pct(value, digits = 0) {
    return value === null || value === undefined ? "—" : `${(100 * value).toFixed(digits)} %`;
  }

  function stacked(p) {
    const box = el("div", "live-progress");
    const bar = svg("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", class: "live-bar", role: "img",
      "aria-label": SEGMENTS.map(([key, label]) => `${label} ${p[key]}`).join(", ") });
    bar.append(svg("rect", { x: 0, y: 0, width: 100, height: 10, fill: "#eef1f4" }));
    let x = 0;
    for (const [key, label, colour] of SEGMENTS) {
      if (!p.total || !p[key]) continue;
      const w = (100 * p[key]) / p.total;
      const rect = svg("rect", { x: x.toFixed(3), y: 0, width: w.toFixed(3), height: 10, fill: colour, "data-seg": key });
      rect.append(svg("title", {}, `${label}: ${p[key]}`));
      bar.append(rect);
      x += w;
    }
    box.append(bar);
    const legend = el("ul", "live-legend");
    const total = el("li", null);
    total.append(el("strong", null, "Total "), el("span", null, p.total));
    total.dataset.seg = "total";
    legend.append(total);
    for (const [key, label, colour] of SEGMENTS) {
      if (!p[key] && !ALWAYS.has(key)) continue;
      const li = el("li", null);
      li.dataset.seg = key;
      const dot = svg("svg", { viewBox: "0 0 10 10", class: "live-dot", "aria-hidden": "true" });
      dot.append(svg("rect", { width: 10, height: 10, rx: 2, fill: colour }));
      li.append(dot, el("span", null, `${label} `), el("span", "n", p[key]));
      legend.append(li);
    }
    box.append(legend);
    return box;
  }

  // Calls (blue) and activations (green) per hour, the last HOURS hours, in local time.
  function hourly(points) {
    const byHour = new Map(points.map((p) => [Math.floor(Date.parse(p.hour) / 3600000), p]));
    const now = Math.floor(Date.now() / 3600000);
    const hours = [];
    for (let h = now - HOURS + 1; h <= now; h += 1) hours.push([h, byHour.get(h) || { calls: 0, activations: 0 }]);
    const busiest = Math.max(0, ...hours.map(([, p]) => p.calls));
    const max = Math.max(1, busiest);
    const width = 240, height = 70, slot = width / HOURS;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height + 14}`, class: "live-chart", role: "img",
      "aria-label": `Llamadas por hora: ${hours.map(([, p]) => p.calls).join(", ")}` });
    chart.append(svg("line", { x1: 0, x2: width, y1: height, y2: height, class: "live-base" }));
    hours.forEach(([h, p], i) => {
      const callsH = (height * p.calls) / max, actH = (height * p.activations) / max;
      chart.append(svg("rect", { x: i * slot + 1, y: height - callsH, width: slot - 2, height: callsH, fill: "#93c5fd" }));
      chart.append(svg("rect", { x: i * slot + slot / 4, y: height - actH, width: slot / 2, height: actH, fill: "#16a34a" }));
      if (i % 3 === 0) {
        const label = `${String(new Date(h * 3600000).getHours()).padStart(2, "0")}h`;
        chart.append(svg("text", { x: i * slot + slot / 2, y: height + 12, "text-anchor": "middle", class: "live-axis" }, label));
      }
    });
    const box = el("figure", "live-hourly");
    box.append(chart, el("figcaption", "muted", busiest
      ? `Llamadas (azul) y activaciones (verde) por hora, últimas ${HOURS} h · máx. ${busiest}`
      : `Sin llamadas en las últimas ${HOURS} h`));
    return box;
  }

  function figures(c) {
    const p = c.progress, live = c.live;
    const dl = el("dl", "live-figures");
    const rows = [["Contacto", pct(p.contact_rate)], ["Activación", pct(p.activation_rate)],
      ["Abandono 30 días", pct(p.abandon_rate_30d, 1)],
      ["Razón de marcación", live && live.dial_ratio !== null ? live.dial_ratio.toFixed(2) : "—"],
      ["Llamadas en curso", live && live.in_flight !== null ? live.in_flight : "—"],
      ["Asesores libres / reservados / en llamada", live ? `${live.agents_available ?? "—"} / ${live.agents_reserved ?? "—"} / ${live.agents_on_call ?? "—"}` : "—"]];
    for (const [label, value] of rows) {
      const item = el("div", "live-figure");
      item.append(el("dt", null, label), el("dd", null, value));
      item.dataset.k = label;
      dl.append(item);
    }
    return dl;
  }

  async function act(campaignId, action, button) {
    const errorEl = document.getElementById("campaign-action-error");
    button.disabled = true;
    try {
      const response = await fetch(`/campaigns/${encodeURIComponent(campaignId)}/${action}`, {
        method: "POST", headers: { "X-CSRF-Token": csrf, Accept: "application/json" } });
      const body = await response.json().catch(() => ({}));
      errorEl.hidden = response.ok;
      if (!response.ok) errorEl.textContent = body.message || "No se pudo cambiar la campaña; intente de nuevo.";
    } catch (err) {
      errorEl.hidden = false;
      errorEl.textContent = "Sin conexión con el servidor; intente de nuevo.";
    } finally {
      button.disabled = false;
    }
  }

  function head(c) {
    const top = el("div", "live-head");
    top.dataset.actions = c.actions.join(",");
    const name = el("a", "live-name", c.name);
    name.href = `/campaigns/${encodeURIComponent(c.campaign_id)}`;
    top.append(name, el("span", "live-pill", c.state_label), el("span", "muted", c.mode_label));
    const buttons = el("div", "live-actions");
    for (const action of c.actions) {
      if (!ACTIONS[action]) continue;
      const button = el("button", `act-${action}`, ACTIONS[action]);
      button.type = "button";
      button.addEventListener("click", () => act(c.campaign_id, action, button));
      buttons.append(button);
    }
    top.append(buttons);
    return top;
  }

  function body(c) {
    const nodes = [stacked(c.progress)];
    const lower = el("div", "live-lower");
    lower.append(figures(c), hourly(c.progress.hourly || []));
    nodes.push(lower);
    if (c.live && c.live.last_error) nodes.push(el("p", "live-error", `Marcador: ${c.live.last_error}`));
    else if (c.state === "running" && !c.live) nodes.push(el("p", "muted live-noengine", "El marcador todavía no reporta esta campaña."));
    return nodes;
  }

  // A campaign's card, reusing the one shown when its buttons stay the same: a frame arriving
  // while the supervisor presses one must not swallow the click.
  function card(c, shown) {
    const article = shown || el("article", null);
    article.className = `live-campaign state-${c.state}`;
    article.dataset.campaign = c.campaign_id;
    article.dataset.state = c.state;
    const top = article.firstElementChild;
    const keep = shown && top && top.dataset.actions === c.actions.join(",");
    if (keep) {
      top.querySelector(".live-name").textContent = c.name;
      top.querySelector(".live-pill").textContent = c.state_label;
      article.replaceChildren(top, ...body(c));
    } else {
      article.replaceChildren(head(c), ...body(c));
    }
    return article;
  }

  function apply(msg, token) {
    csrf = token || csrf;
    const section = document.getElementById("live-campaigns");
    const cards = document.getElementById("campaign-cards");
    if (!section || !cards) return;
    const shown = new Map([...cards.children].map((node) => [node.dataset.campaign, node]));
    const next = (msg.campaigns || []).map((c) => card(c, shown.get(c.campaign_id)));
    const same = next.length === cards.children.length && next.every((node, i) => cards.children[i] === node);
    if (!same) cards.replaceChildren(...next);
    section.hidden = !(msg.campaigns || []).length;
  }

  return { apply };
})();
