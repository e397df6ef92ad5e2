// "Mis devoluciones": the callbacks due for this agent (their own, and the ones they left for
// anyone), at the customer's local time. Read when the page connects (and reconnects) and after
// each result saved in any tab (`disposition` messages); the "AHORA" mark follows the clock. Text goes in through textContent only.
(() => {
  "use strict";
  const { el, field } = window.ScreenpopDom;
  const root = document.getElementById("callbacks");
  if (!root) return;
  const WEEKDAYS = ["dom", "lun", "mar", "mié", "jue", "vie", "sáb"];
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let items = [];
  let loadFailed = false;

  function when(local) {
    const [y, m, d] = local.date.split("-").map(Number);
    const day = WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
    return `${day} ${String(d).padStart(2, "0")}/${String(m).padStart(2, "0")} ${local.time}`;
  }

  function draw() {
    const list = field(root, "list");
    const now = Date.now() / 1000;
    let due = 0;
    list.replaceChildren(...items.map((cb) => {
      const item = el("li", "callback-item");
      const isDue = cb.due_at <= now;
      if (isDue) due += 1;
      item.dataset.due = String(isDue);
      const whenEl = el("span", "callback-when", when(cb.local));
      whenEl.title = `Hora local del cliente (${cb.local.zone})`;
      item.append(whenEl, el("span", "callback-who", cb.name || cb.phone || "Cliente"));
      if (cb.name && cb.phone) item.append(el("span", "muted", cb.phone));
      item.append(el("span", "muted", cb.campaign ? `Campaña ${cb.campaign}` : "Llamada directa"));
      item.append(el("span", "muted", cb.for ? "para usted" : "cualquier asesor"));
      if (cb.source === "call") {
        // a plain call's callback: the agent dials it from the phone and marks it here
        const done = el("button", "callback-done", "Hecha");
        done.type = "button";
        done.addEventListener("click", () => markDone(cb, done));
        item.append(done);
      }
      return item;
    }));
    field(root, "count").textContent = `(${items.length})`;
    root.dataset.due = String(due > 0);
    root.hidden = items.length === 0 && !field(root, "note").textContent;
  }

  async function markDone(cb, button) {
    button.disabled = true;
    try {
      const response = await fetch(`/api/agent/callbacks/${encodeURIComponent(cb.call_id)}/done`, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf },
      });
      const body = await response.json().catch(() => ({}));
      field(root, "note").textContent = response.ok ? "" : body.message || `No se pudo marcar (error ${response.status}).`;
    } catch (err) {
      field(root, "note").textContent = "Sin conexión con el servidor; intente de nuevo.";
    }
    await load();
  }

  async function load() {
    try {
      const response = await fetch("/api/agent/callbacks", { cache: "no-store", credentials: "same-origin" });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.message || String(response.status));
      items = body.callbacks || [];
      if (loadFailed) field(root, "note").textContent = "";
      loadFailed = false;
    } catch (err) {
      loadFailed = true;
      field(root, "note").textContent = `No se pudo leer la lista de devoluciones (${err.message}); se reintentará al reconectar.`;
    }
    draw();
  }

  document.addEventListener("screenpop:message", (event) => {
    const type = event.detail && event.detail.type;
    if (type === "hello" || type === "disposition") load();
  });
  setInterval(draw, 30000);
})();
