// QA charts drawn as inline SVG from /qa/api/charts (nothing loaded from elsewhere).
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COLOURS = ["#1f6feb", "#d9480f", "#2b8a3e", "#9c36b5", "#e67700", "#0b7285", "#c2255c", "#5c940d"];

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function empty(box, message) {
    box.replaceChildren();
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = message;
    box.appendChild(p);
  }

  // Horizontal bars: one row per entry, value 0..max, label on the left, the value (and the
  // entry's note: what the value is of) on the right.
  function bars(box, entries, max, unit) {
    if (!entries.length) return empty(box, "Sin datos en este periodo.");
    // Drawn at the box's own width, so the text keeps its size on a phone.
    const width = Math.min(760, Math.max(300, box.clientWidth || 600));
    const row = 26, labelWidth = Math.min(150, Math.round(width * 0.34)), height = entries.length * row + 10;
    const valueWidth = entries.some(function (entry) { return entry.note; }) ? 150 : 70;
    const svg = el("svg", {viewBox: "0 0 " + width + " " + height, role: "img", class: "qa-svg"});
    entries.forEach(function (entry, i) {
      const y = i * row + 5, barWidth = max ? (width - labelWidth - valueWidth) * entry.value / max : 0;
      svg.appendChild(el("text", {x: labelWidth - 6, y: y + 16, "text-anchor": "end", class: "qa-svg-label"}, entry.label));
      svg.appendChild(el("rect", {x: labelWidth, y: y + 2, width: Math.max(barWidth, 1), height: row - 8, fill: COLOURS[0], rx: 3}));
      svg.appendChild(el("text", {x: labelWidth + barWidth + 6, y: y + 16, class: "qa-svg-value"},
                         entry.value + unit + (entry.note ? " · " + entry.note : "")));
    });
    box.replaceChildren(svg);
  }

  // One line per agent across the weeks, 0..100.
  function lines(box, points) {
    if (!points.length) return empty(box, "Sin calificaciones en este periodo.");
    const weeks = Array.from(new Set(points.map(function (p) { return p.week; }))).sort();
    const agents = Array.from(new Set(points.map(function (p) { return p.agent; }))).sort();
    const names = new Map(points.map(function (p) { return [p.agent, p.name || p.agent]; }));
    const width = Math.min(760, Math.max(300, box.clientWidth || 600));
    const height = 260, left = 36, right = 10, top = 10, bottom = 40;
    const x = function (i) { return left + (weeks.length > 1 ? i * (width - left - right) / (weeks.length - 1) : (width - left - right) / 2); };
    const y = function (v) { return top + (100 - v) * (height - top - bottom) / 100; };
    const svg = el("svg", {viewBox: "0 0 " + width + " " + (height + agents.length * 18), role: "img", class: "qa-svg"});
    [0, 50, 100].forEach(function (v) {
      svg.appendChild(el("line", {x1: left, x2: width - right, y1: y(v), y2: y(v), class: "qa-svg-grid"}));
      svg.appendChild(el("text", {x: left - 4, y: y(v) + 4, "text-anchor": "end", class: "qa-svg-value"}, String(v)));
    });
    weeks.forEach(function (week, i) {
      svg.appendChild(el("text", {x: x(i), y: height - bottom + 16, "text-anchor": "middle", class: "qa-svg-value"}, week.slice(5)));
    });
    agents.forEach(function (agent, n) {
      const colour = COLOURS[n % COLOURS.length];
      const mine = points.filter(function (p) { return p.agent === agent; });
      const coords = mine.map(function (p) { return x(weeks.indexOf(p.week)) + "," + y(p.score); });
      svg.appendChild(el("polyline", {points: coords.join(" "), fill: "none", stroke: colour, "stroke-width": 2}));
      mine.forEach(function (p) {
        const dot = el("circle", {cx: x(weeks.indexOf(p.week)), cy: y(p.score), r: 4, fill: colour});
        dot.appendChild(el("title", {}, names.get(agent) + " · semana " + p.week + ": " + p.score));
        svg.appendChild(dot);
      });
      const ly = height + n * 18;
      svg.appendChild(el("rect", {x: left, y: ly - 10, width: 12, height: 12, fill: colour}));
      svg.appendChild(el("text", {x: left + 18, y: ly, class: "qa-svg-label"}, names.get(agent)));
    });
    box.replaceChildren(svg);
  }

  async function load(params) {
    const status = document.getElementById("chart-status");
    status.textContent = "Cargando…";
    try {
      const response = await fetch("/qa/api/charts?" + params.toString(), {credentials: "same-origin"});
      const data = await response.json();
      if (!response.ok) { status.textContent = data.error || "No se pudieron cargar las gráficas. Intente de nuevo."; return; }
      lines(document.getElementById("chart-weekly"), data.weekly_scores);
      bars(document.getElementById("chart-activation"), data.activation.map(function (a) {
        return {label: a.name || a.agent, value: a.rate,
                note: a.activated + " de " + a.calls + (a.calls === 1 ? " llamada" : " llamadas")};
      }), 100, " %");
      const most = data.failed_items.length ? data.failed_items[0].failures : 0;
      bars(document.getElementById("chart-failed"), data.failed_items.map(function (f) {
        return {label: f.label.length > 22 ? f.label.slice(0, 21) + "…" : f.label, value: f.failures};
      }), most, "");
      status.textContent = "";
    } catch (error) {
      status.textContent = "No se pudieron cargar las gráficas: revise su conexión e intente de nuevo.";
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("chart-range");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) { if (value) params.set(key, value); });
      load(params);
    });
    load(new URLSearchParams());
  });
})();
