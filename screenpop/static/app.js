// Agent page: keeps a WebSocket to /ws, shows one card per call (newest first) and links calls
// to preinstallations. Data goes into the page through textContent only, never innerHTML.
"use strict";

(() => {
  const STATE_WORDS = { ringing: "SONANDO", answered: "EN LLAMADA", ended: "FINALIZADA" };
  const REASON_WORDS = {
    answered_elsewhere: "ATENDIDA POR OTRO ASESOR",
    missed: "NO CONTESTADA",
    transferred: "TRANSFERIDA",
  };
  const MAX_CALLS = 8;
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_CAP_MS = 15000;

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const tabsEl = document.getElementById("tabs");
  const callsEl = document.getElementById("calls");
  const idleEl = document.getElementById("idle");
  const connEl = document.getElementById("conn");
  const stateEl = document.getElementById("agent-state");
  const stateSelect = document.getElementById("state-select");
  const wrapLeftEl = document.getElementById("wrap-left");
  const finishWrapEl = document.getElementById("finish-wrap");
  const alerts = window.ScreenpopAlerts.create({
    banner: document.getElementById("notify-banner"),
    onOpen: (id) => {
      if (calls.has(id)) select(id);
      markSeen(id);
    },
  });
  const peers = "BroadcastChannel" in window ? new BroadcastChannel("screenpop") : null;

  const calls = new Map(); // call_id -> {pop, seen, endedAt, view, matchKey, guide, acked, noticed}
  let selected = null;
  let me = null;
  let myState = null;
  let ws = null;
  let attempt = 0;
  let lastHeard = 0;
  let pingInterval = 20;
  let clockSkewMs = 0;
  let latencyMs = null;

  // ---- small DOM helpers ---------------------------------------------------------------------
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function field(root, name) {
    return root.querySelector(`[data-f="${name}"]`);
  }
  function clone(id) {
    return document.getElementById(id).content.cloneNode(true);
  }
  function kbd(text) {
    return el("kbd", null, text);
  }

  // ---- wording -------------------------------------------------------------------------------
  function stateWord(pop) {
    if (pop.state === "ended" && REASON_WORDS[pop.reason]) return REASON_WORDS[pop.reason];
    return STATE_WORDS[pop.state] || pop.state;
  }
  function stateClass(pop) {
    return pop.state === "ended" && pop.reason === "answered_elsewhere" ? "elsewhere" : pop.state;
  }
  function directionText(pop) {
    if (pop.direction === "outbound") return "Saliente";
    return pop.queue ? `Entrante · cola ${pop.queue}` : "Entrante";
  }
  function pendingText(iso) {
    if (!iso) return "";
    const days = Math.floor((Date.now() + clockSkewMs - Date.parse(iso)) / 86400000);
    if (!(days >= 0)) return "";
    if (days === 0) return "Pendiente desde hoy";
    return days === 1 ? "Pendiente hace 1 día" : `Pendiente hace ${days} días`;
  }
  function clock(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600);
    const mm = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
    const ss = String(total % 60).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }
  function elapsed(entry) {
    const start = entry.pop.started_at ? entry.pop.started_at * 1000 : entry.seen;
    const end = entry.endedAt || Date.now() + clockSkewMs;
    return clock(end - start);
  }

  // ---- connection ----------------------------------------------------------------------------
  function setConn(state, text) {
    connEl.dataset.conn = state;
    connEl.textContent = text;
  }
  function showConnected() {
    setConn("on", latencyMs === null ? "conectado" : `conectado · ${latencyMs} ms`);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}/ws`);
    ws.onopen = () => {
      attempt = 0;
      lastHeard = Date.now();
      showConnected();
    };
    ws.onmessage = (event) => {
      lastHeard = Date.now();
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      handle(msg);
    };
    ws.onclose = (event) => {
      ws = null;
      if (event.code === 4003) {
        location.assign("/login");
        return;
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10));
    const delay = ceiling * (0.5 + Math.random() * 0.5);
    attempt += 1;
    setConn(attempt > 4 ? "off" : "retry", attempt > 4 ? "sin conexión · reintentando" : "reconectando…");
    setTimeout(async () => {
      if (attempt > 2 && (await signedOut())) {
        location.assign("/login");
        return;
      }
      connect();
    }, delay);
  }

  async function signedOut() {
    try {
      const response = await fetch("/api/preinstallations/search?q=", { cache: "no-store" });
      return response.status === 401;
    } catch (err) {
      return false;
    }
  }

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  setInterval(() => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastHeard > pingInterval * 2500) {
      ws.close(); // silent too long: onclose reconnects
      return;
    }
    send({ type: "ping", t: performance.now() });
  }, 5000);

  // ---- messages ------------------------------------------------------------------------------
  function handle(msg) {
    document.dispatchEvent(new CustomEvent("screenpop:message", { detail: msg }));
    if (msg.type === "hello") {
      me = msg.user && msg.user.username;
      pingInterval = msg.ping_interval || pingInterval;
      if (msg.server_time) clockSkewMs = msg.server_time * 1000 - Date.now();
    } else if (msg.type === "pop") {
      upsert(msg);
    } else if (msg.type === "synced") {
      const live = new Set(msg.call_ids);
      for (const [id, entry] of calls) {
        if (entry.pop.state !== "ended" && !live.has(id)) {
          upsert({ ...entry.pop, state: "ended", reason: null });
        }
        if (entry.guide) entry.guide.resume();
      }
    } else if (msg.type === "acked") {
      const entry = calls.get(msg.call_id);
      if (entry && !entry.noticed) {
        entry.noticed = true;
        refreshAlerts();
      }
    } else if (msg.type === "script") {
      const entry = calls.get(msg.call_id);
      if (entry && entry.guide) entry.guide.apply(msg);
    } else if (msg.type === "agent_state") {
      if (msg.agent && msg.agent.username === me) showMyState(msg.agent);
    } else if (msg.type === "ping") {
      send({ type: "pong" });
    } else if (msg.type === "pong") {
      if (typeof msg.t === "number") latencyMs = Math.round(performance.now() - msg.t);
      showConnected();
    }
    // other features (the WispHub actions: `operation`) follow the messages through this event
    document.dispatchEvent(new CustomEvent("screenpop:message", { detail: msg }));
  }

  function upsert(pop) {
    const known = calls.get(pop.call_id);
    if (known && pop.seq < known.pop.seq) return;
    const entry = known || { seen: Date.now(), endedAt: null, view: null, matchKey: null };
    entry.pop = pop;
    if (pop.state === "ended" && !entry.endedAt) entry.endedAt = Date.now() + clockSkewMs;
    calls.set(pop.call_id, entry);
    if (!known && (pop.state !== "ended" || !selected)) selected = pop.call_id;
    trim();
    render();
    if (calls.has(pop.call_id) && !(entry.acked >= pop.seq)) {
      entry.acked = pop.seq;
      send({ type: "ack", call_id: pop.call_id, seq: pop.seq, seen: false });
    }
    if (pop.call_id === selected) announce(entry);
  }

  // ---- never miss a pop ----------------------------------------------------------------------
  function alerting(entry) {
    return entry.pop.state === "ringing" && !entry.noticed;
  }

  function markSeen(id, fromPeer = false) {
    const entry = calls.get(id);
    if (!entry || entry.noticed) return;
    entry.noticed = true;
    send({ type: "ack", call_id: id, seq: entry.pop.seq, seen: true });
    if (peers && !fromPeer) peers.postMessage({ type: "seen", call_id: id });
    refreshAlerts();
  }

  function refreshAlerts() {
    const items = [];
    for (const [id, entry] of calls) {
      const on = alerting(entry);
      if (entry.view) {
        entry.view.dataset.alerting = String(on);
        field(entry.view, "seen").hidden = !on;
      }
      if (on) {
        const record = entry.pop.match && entry.pop.match.status === "one" ? entry.pop.match.preinstallations[0] : null;
        items.push({ call_id: id, title: `Llamada: ${record ? record.name : entry.pop.customer_display}`,
          body: [entry.pop.customer_display, directionText(entry.pop)].join(" · ") });
      }
    }
    document.body.dataset.alerting = String(items.length > 0);
    alerts.update(items);
  }

  if (peers) {
    peers.onmessage = (event) => {
      if (event.data && event.data.type === "seen") markSeen(event.data.call_id, true);
    };
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && selected && calls.has(selected) && alerting(calls.get(selected))) {
      markSeen(selected);
    } else {
      refreshAlerts();
    }
  });

  // The activation feature (and anything else) follows the shown call through this event.
  function announce(entry) {
    if (!entry || entry.pop.call_id !== selected) return;
    document.dispatchEvent(new CustomEvent("screenpop:call", {
      detail: { call_id: entry.pop.call_id, pop: entry.pop, answers: entry.guide ? entry.guide.answers() : {}, csrf },
    }));
  }

  // ---- agent state ---------------------------------------------------------------------------
  function showMyState(agent) {
    myState = agent;
    stateEl.dataset.state = agent.state;
    const option = [...stateSelect.options].find((o) => o.value === agent.state && (agent.state !== "paused" || o.dataset.reason === agent.reason));
    if (option) option.selected = true;
    stateSelect.disabled = agent.state === "in_call";
    finishWrapEl.hidden = agent.state !== "wrap_up";
    wrapLeftEl.hidden = agent.state !== "wrap_up";
    drawWrapLeft();
  }

  function drawWrapLeft() {
    if (!myState || myState.state !== "wrap_up" || !myState.wrap_until) return;
    const left = myState.wrap_until * 1000 - (Date.now() + clockSkewMs);
    wrapLeftEl.textContent = `cierre ${clock(Math.max(0, left))}`;
  }

  async function chooseState(state, reason) {
    try {
      const response = await fetch("/api/agent/state", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ state, reason }),
      });
      const data = await response.json();
      if (data.agent) showMyState(data.agent);
      else if (myState) showMyState(myState);
    } catch (err) {
      if (myState) showMyState(myState);
    }
  }

  stateSelect.addEventListener("change", () => {
    const option = stateSelect.selectedOptions[0];
    chooseState(option.value, option.dataset.reason || null);
  });
  finishWrapEl.addEventListener("click", () => chooseState("available", null));

  function trim() {
    const ordered = newestFirst();
    for (const [id, entry] of ordered.slice(MAX_CALLS)) {
      if (entry.pop.state === "ended") dismiss(id, false);
    }
  }

  function dismiss(id, redraw = true) {
    const entry = calls.get(id);
    if (!entry) return;
    if (entry.view) entry.view.remove();
    calls.delete(id);
    if (selected === id) selected = newestFirst().length ? newestFirst()[0][0] : null;
    if (redraw) render();
    if (selected) announce(calls.get(selected));
  }

  function newestFirst() {
    return [...calls.entries()].sort((a, b) => b[1].seen - a[1].seen);
  }

  // ---- rendering -----------------------------------------------------------------------------
  function render() {
    const ordered = newestFirst();
    idleEl.hidden = ordered.length > 0;
    tabsEl.replaceChildren();
    tabsEl.hidden = ordered.length < 2;
    ordered.forEach(([id, entry], i) => {
      const tab = el("button", `tab state-${stateClass(entry.pop)}`);
      tab.type = "button";
      tab.setAttribute("aria-pressed", String(id === selected));
      tab.append(el("span", "tab-state", stateWord(entry.pop)), el("span", "tab-who", entry.pop.customer_display));
      if (i < 9) tab.append(kbd(`Alt+${i + 1}`));
      tab.addEventListener("click", () => select(id));
      tabsEl.append(tab);
    });
    for (const [id, entry] of ordered) {
      if (!entry.view) {
        entry.view = clone("tpl-call").firstElementChild;
        field(entry.view, "dismiss").addEventListener("click", () => dismiss(id));
        field(entry.view, "seen").addEventListener("click", () => markSeen(id));
        entry.view.addEventListener("pointerdown", () => markSeen(id));
        callsEl.append(entry.view);
        entry.guide = window.ScreenpopGuide.create({
          root: field(entry.view, "script"), callId: id, csrf,
          onChange: (answers, payload) => {
            // the script knows the record as it stands in this call (FALTA, activated)
            if (payload && payload.record) {
              entry.record = payload.record;
              drawCall(entry);
            }
            announce(entry);
          },
        });
      }
      drawCall(entry);
      entry.view.hidden = id !== selected;
    }
    refreshAlerts();
  }

  function select(id) {
    selected = id;
    render();
    announce(calls.get(id));
  }

  function drawCall(entry) {
    const { pop, view } = entry;
    view.className = `call state-${stateClass(pop)}`;
    view.dataset.callId = pop.call_id;
    field(view, "state").textContent = stateWord(pop);
    field(view, "timer").textContent = elapsed(entry);
    field(view, "direction").textContent = directionText(pop);
    field(view, "customer").textContent = pop.customer_display || "Número oculto";
    field(view, "dismiss").hidden = pop.state !== "ended";
    const matchKey = JSON.stringify([pop.match, entry.record || null]);
    if (matchKey !== entry.matchKey) {
      entry.matchKey = matchKey;
      drawMatch(entry, field(view, "record"));
    }
  }

  function drawMatch(entry, root) {
    const match = entry.pop.match || { status: "none", preinstallations: [] };
    root.replaceChildren();
    entry.choices = [];
    if (match.status === "one" && match.preinstallations.length) {
      const record = match.preinstallations[0];
      root.append(recordCard(entry.record && entry.record.id === record.id ? entry.record : record, match.linked));
      root.append(searchBox(entry, "¿No es este cliente? Busque otro registro."));
    } else if (match.status === "many") {
      root.append(el("h2", "match-title", `Varias coincidencias (${match.preinstallations.length})`));
      root.append(el("p", "muted", "Pregunte el nombre y vincule la llamada al registro correcto."));
      const list = el("ol", "choices");
      match.preinstallations.forEach((record) => list.append(choice(entry, record)));
      root.append(list);
      root.append(searchBox(entry, "¿No está en la lista? Busque otro registro."));
    } else {
      root.append(el("h2", "match-title none", "Sin coincidencia"));
      root.append(el("p", "muted", "Ninguna preinstalación pendiente tiene este número. Busque por nombre, teléfono o correo."));
      root.append(searchBox(entry, ""));
    }
  }

  function recordCard(record, linked) {
    const frag = clone("tpl-record");
    const installed = record.stage === "installed";
    field(frag, "id").textContent = `${installed ? "INSTALACIÓN" : "PREINSTALACIÓN"} #${record.id}${linked ? " · vinculada" : ""}`
      + (installed ? ` · activada${record.installation_reference ? ` (${record.installation_reference})` : ""}` : "");
    field(frag, "name").textContent = record.name || "(sin nombre)";
    const phones = record.phones_display || [record.phone];
    field(frag, "phones").textContent = `Tel. ${phones.filter(Boolean).join(", ") || "—"}`;
    field(frag, "email").textContent = record.email || "Sin correo";
    const zone = record.zone && (/^zona\b/i.test(record.zone) ? record.zone : `Zona ${record.zone}`);
    field(frag, "place").textContent = [record.address, zone].filter(Boolean).join(" · ") || "Sin dirección";
    field(frag, "pending").textContent = installed ? "" : pendingText(record.created_at);
    const labels = record.missing_labels || record.missing || [];
    const title = field(frag, "missing-title");
    title.textContent = labels.length ? `FALTA (${labels.length})` : "✓ Expediente completo";
    title.classList.toggle("complete", !labels.length);
    const list = field(frag, "missing");
    labels.forEach((label) => list.append(el("li", null, `✗ ${label}`)));
    (record.unknown_labels || []).forEach((label) => list.append(el("li", "unknown", `? ${label}: desconocido`)));
    return frag;
  }

  function choice(entry, record) {
    const index = entry.choices.push(record);
    const item = el("li", "choice");
    const text = el("div", "choice-text");
    text.append(el("strong", null, record.name || "(sin nombre)"));
    const missing = (record.missing_labels || record.missing || []).length;
    text.append(el("span", "muted", [(record.phones_display || [record.phone])[0], record.email, pendingText(record.created_at), missing ? `falta ${missing}` : ""].filter(Boolean).join(" · ")));
    const button = el("button", "link-button", "Vincular ");
    button.type = "button";
    if (index <= 9) button.append(kbd(String(index)));
    button.addEventListener("click", () => link(entry, record.id, item));
    item.append(text, button);
    return item;
  }

  function searchBox(entry, note) {
    const frag = clone("tpl-search");
    const form = frag.querySelector("form");
    const results = field(frag, "results");
    const noteEl = field(frag, "note");
    noteEl.textContent = note;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const q = form.elements.q.value.trim();
      if (q.length < 2) return;
      noteEl.textContent = "Buscando…";
      try {
        const response = await fetch(`/api/preinstallations/search?q=${encodeURIComponent(q)}`, { cache: "no-store" });
        if (!response.ok) throw new Error(String(response.status));
        const data = await response.json();
        entry.choices = entry.choices.filter((c) => !c.fromSearch);
        results.replaceChildren();
        data.results.forEach((record) => results.append(choice(entry, { ...record, fromSearch: true })));
        noteEl.textContent = data.results.length ? `${data.results.length} resultado(s)` : "Sin resultados.";
      } catch (err) {
        noteEl.textContent = "No se pudo buscar. Intente de nuevo.";
      }
    });
    return frag;
  }

  async function link(entry, preinstallationId, item) {
    const callId = entry.pop.call_id;
    try {
      const response = await fetch(`/api/calls/${encodeURIComponent(callId)}/link`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ preinstallation_id: preinstallationId }),
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || String(response.status));
      upsert(data.pop);
    } catch (err) {
      const reason = err.message === "call_not_live" ? "la llamada ya terminó" : "intente de nuevo";
      item.append(el("p", "link-error", `No se pudo vincular: ${reason}.`));
    }
  }

  // ---- keyboard ------------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    const entry = selected ? calls.get(selected) : null;
    const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement
      || event.target instanceof HTMLTextAreaElement;
    if (event.altKey && /^[1-9]$/.test(event.key)) {
      const target = newestFirst()[Number(event.key) - 1];
      if (target) select(target[0]);
      event.preventDefault();
      return;
    }
    if (event.key === "Escape") {
      if (typing) event.target.blur();
      else if (entry && entry.pop.state === "ended") dismiss(entry.pop.call_id);
      return;
    }
    if (!entry) return;
    if (!typing && event.key === "Enter" && alerting(entry) && !(event.target instanceof HTMLButtonElement)) {
      markSeen(entry.pop.call_id);
      event.preventDefault();
      return;
    }
    const linking = entry.pop.match && entry.pop.match.status !== "one";
    if (entry.guide && entry.guide.key(event, typing, !linking)) {
      event.preventDefault();
      return;
    }
    if (typing) return;
    if (event.key === "/") {
      const input = entry.view.querySelector('input[name="q"]');
      if (input) {
        input.focus();
        event.preventDefault();
      }
    } else if (/^[1-9]$/.test(event.key) && entry.choices && entry.choices[Number(event.key) - 1]) {
      const button = entry.view.querySelectorAll(".link-button")[Number(event.key) - 1];
      if (button) button.click();
    }
  });

  setInterval(() => {
    for (const entry of calls.values()) {
      if (entry.view) field(entry.view, "timer").textContent = elapsed(entry);
    }
    drawWrapLeft();
  }, 1000);

  connect();
})();
