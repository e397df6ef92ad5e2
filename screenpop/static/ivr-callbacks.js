// The IVR's pending callbacks on the supervisor page (_callbacks.html): per queue, the callers
// waiting to be called back in the order they will be dialled, the one being dialled, and the
// callbacks that gave up in the last day. Read from /api/callbacks when the page's socket says
// they changed (supervisor.js: `screenpop:callbacks-changed`), and every REFRESH_MS besides, for
// a socket that is down; the waiting times count up here each second. Data goes into the page
// through textContent only.
"use strict";

(() => {
  const { el, clock } = window.ScreenpopDom;
  const REFRESH_MS = 30000;
  const CHANGED_DELAY_MS = 200; // a burst of changes (claimed, dialled) is read once
  const OUTCOMES = { no_answer: "no contestó", busy: "ocupado", failed: "falló",
    invalid_number: "número inválido", agent_rejected: "el asesor no contestó",
    interrupted: "interrumpida", machine: "buzón", abandoned: "abandonada" };
  const root = document.getElementById("callbacks-queues");
  const countEl = document.getElementById("callbacks-count");
  const emptyEl = document.getElementById("callbacks-empty");
  const errorEl = document.getElementById("callbacks-error");

  function hhmm(epoch) {
    return new Date(epoch * 1000).toLocaleTimeString("es-MX", { hour: "2-digit", minute: "2-digit" });
  }

  function stateText(item) {
    if (item.state === "dialling") return "marcando";
    if (item.retry_at) return `reintento ${hhmm(item.retry_at)}`;
    return "en espera";
  }

  function who(item) {
    return item.record_name ? `${item.number_display} · ${item.record_name}` : item.number_display;
  }

  function pendingItem(item) {
    const li = el("li", "callback");
    li.dataset.state = item.state === "dialling" ? "dialling" : item.retry_at ? "retry" : "waiting";
    li.append(el("span", "callback-number", who(item)), " ");
    li.append(el("span", "callback-state", stateText(item)));
    const parts = [`lugar desde ${hhmm(item.place)} (${clock(item.waiting_seconds + sinceRead())})`];
    if (item.attempts) {
      parts.push(`${item.attempts} intento${item.attempts > 1 ? "s" : ""}` +
        (item.last_outcome ? `, ${OUTCOMES[item.last_outcome] || item.last_outcome}` : ""));
    }
    li.append(el("span", "callback-detail muted", ` · ${parts.join(" · ")}`));
    return li;
  }

  function failedItem(item) {
    const li = el("li", "callback");
    li.append(el("span", "callback-number", who(item)), " ");
    li.append(el("span", "callback-state", "no se logró"));
    const why = OUTCOMES[item.last_outcome] || item.last_outcome || "";
    li.append(el("span", "callback-detail muted",
      ` · ${item.attempts} intentos${why ? `, ${why}` : ""} · ${item.finished_at ? hhmm(item.finished_at) : ""}`));
    return li;
  }

  function render(view) {
    root.replaceChildren();
    let pending = 0;
    for (const queue of view.queues) {
      pending += queue.pending;
      if (!queue.items.length && !queue.failed.length) continue;
      const block = el("div", "callbacks-queue");
      block.dataset.queue = queue.queue;
      block.append(el("h3", null, `Cola ${queue.queue} · ${queue.pending} pendiente${queue.pending === 1 ? "" : "s"}`));
      if (queue.items.length) {
        const list = el("ol", "callbacks-pending");
        for (const item of queue.items) list.append(pendingItem(item));
        block.append(list);
      }
      if (queue.failed.length) {
        block.append(el("h3", null, "No se lograron (últimas 24 h)"));
        const list = el("ul", "callbacks-failed");
        for (const item of queue.failed) list.append(failedItem(item));
        block.append(list);
      }
      root.append(block);
    }
    countEl.textContent = pending ? `(${pending})` : "";
    emptyEl.hidden = root.childElementCount > 0;
  }

  let view = null, readAt = 0, timer = null;
  function sinceRead() {
    return (Date.now() - readAt) / 1000;
  }

  async function refresh() {
    window.clearTimeout(timer);
    try {
      const res = await fetch("/api/callbacks", { credentials: "same-origin" });
      if (res.status === 401) { window.location.assign("/login"); return; }
      const body = await res.json();
      if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
      errorEl.hidden = true;
      view = body;
      readAt = Date.now();
      render(view);
    } catch (err) {
      errorEl.textContent = `No se pudieron cargar las devoluciones de llamada: ${err.message}. ` +
        "Se reintentará en unos segundos.";
      errorEl.hidden = false;
    } finally {
      timer = window.setTimeout(refresh, REFRESH_MS);
    }
  }

  document.addEventListener("screenpop:callbacks-changed", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, CHANGED_DELAY_MS);
  });
  window.setInterval(() => { if (view) render(view); }, 1000);
  refresh();
})();
