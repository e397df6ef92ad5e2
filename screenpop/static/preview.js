// Vista previa: a campaign offers this agent a record before dialling it (`preview` messages,
// docs/websocket.md). Shown in full with two big buttons — Llamar (Alt+L) and Saltar (Alt+S) —
// when no live call is on screen; while a call is live it folds into one line and never takes
// the call's place. The answer goes to POST /api/dialer/preview; every tab of the agent is
// cleared by the `preview` with `offer: null` that follows. Text goes in through textContent only.
(() => {
  "use strict";
  const { el, field, clone } = window.ScreenpopDom;
  const root = document.getElementById("preview");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let offer = null;
  let busy = false;

  function onCall() {
    return document.body.dataset.onCall === "true";
  }

  function zoneText(zone) {
    if (!zone) return "";
    return /^zona\b/i.test(zone.trim()) ? zone.trim() : `Zona ${zone.trim()}`;
  }

  function recordView(match) {
    if (!match || match.status !== "one") {
      return el("p", "muted", "Esta preinstalación ya no está en la lista de pendientes; puede llamar o saltarla.");
    }
    const record = match.preinstallations[0];
    const frag = clone("tpl-record");
    const labels = record.missing_labels || record.missing || [];
    field(frag, "id").textContent = `PREINSTALACIÓN #${record.id}`;
    field(frag, "name").textContent = record.name || "(sin nombre)";
    field(frag, "phones").textContent = `Tel. ${(record.phones_display || [record.phone]).filter(Boolean).join(", ") || "—"}`;
    field(frag, "email").textContent = record.email || "Sin correo";
    field(frag, "place").textContent = [record.address, zoneText(record.zone)].filter(Boolean).join(" · ") || "Sin dirección";
    const days = record.created_at ? Math.floor((Date.now() - Date.parse(record.created_at)) / 86400000) : NaN;
    field(frag, "pending").textContent = days >= 0 ? (days === 0 ? "Pendiente desde hoy" : `Pendiente hace ${days} día${days === 1 ? "" : "s"}`) : "";
    const title = field(frag, "missing-title");
    title.textContent = labels.length ? `FALTA (${labels.length})` : "✓ Expediente completo";
    title.classList.toggle("complete", !labels.length);
    const list = field(frag, "missing");
    labels.forEach((label) => list.append(el("li", null, `✗ ${label}`)));
    return frag;
  }

  function draw() {
    root.hidden = offer === null;
    document.body.dataset.preview = offer === null ? "" : onCall() ? "compact" : "full";
    if (offer === null) return;
    root.dataset.mode = onCall() ? "compact" : "full";
    field(root, "wait").hidden = !onCall();
    field(root, "campaign").textContent = offer.offer.campaign_name ? `Campaña ${offer.offer.campaign_name}` : "Campaña";
    const record = offer.match && offer.match.status === "one" ? offer.match.preinstallations[0] : null;
    field(root, "phone").textContent = [record && record.name, offer.offer.phone_display].filter(Boolean).join(" · ");
    field(root, "call").disabled = busy;
    field(root, "skip").disabled = busy;
  }

  function show(msg) {
    const next = msg.offer ? msg : null;
    const changed = !offer || !next || offer.offer.attempt_id !== next.offer.attempt_id;
    offer = next;
    if (changed) {
      field(root, "error").textContent = "";
      busy = false;
      field(root, "record").replaceChildren(offer ? recordView(offer.match) : "");
    }
    draw();
  }

  async function decide(action) {
    if (!offer || busy || onCall()) return;
    busy = true;
    draw();
    const attemptId = offer.offer.attempt_id;
    try {
      const response = await fetch("/api/dialer/preview", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ attempt_id: attemptId, action }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok || response.status === 409) {
        if (offer && offer.offer.attempt_id === attemptId) {
          offer = null;
          draw();
        }
        return;
      }
      field(root, "error").textContent = body.message || `No se pudo avisar a la campaña (error ${response.status}); intente de nuevo.`;
    } catch (err) {
      field(root, "error").textContent = "Sin conexión con el servidor; intente de nuevo.";
    } finally {
      busy = false;
      draw();
    }
  }

  field(root, "call").addEventListener("click", () => decide("call"));
  field(root, "skip").addEventListener("click", () => decide("skip"));
  document.addEventListener("keydown", (event) => {
    if (!event.altKey || event.ctrlKey || event.metaKey || !offer) return;
    const key = event.key.toLowerCase();
    if (key !== "l" && key !== "s") return;
    event.preventDefault();
    decide(key === "l" ? "call" : "skip");
  });
  // after a (re)connect the server sends the pending offer again, if there still is one
  document.addEventListener("screenpop:message", (event) => {
    const msg = event.detail;
    if (msg && msg.type === "preview") show(msg);
    else if (msg && msg.type === "hello") show({ offer: null });
  });
  // the page marks whether a live call is on screen; the preview folds while one is
  new MutationObserver(draw).observe(document.body, { attributes: true, attributeFilter: ["data-on-call"] });
})();
