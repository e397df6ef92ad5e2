// Agent page: keeps a WebSocket to /ws, shows the agent's calls as tabs and links calls to
// preinstallations. The call on screen changes only when the agent chooses another one: a new
// call waits in its own tab (ringing) unless the screen shows no live call. Live calls keep their
// tab and Alt+N number for their whole life, oldest first; ended calls fold into "Recientes".
// Data goes into the page through textContent only, never innerHTML.
"use strict";

(() => {
  const { el, kbd, field, clone, clock } = window.ScreenpopDom;
  const PROTOCOL_VERSION = 1;
  const STATE_WORDS = { ringing: "SONANDO", answered: "EN LLAMADA", ended: "FINALIZADA" };
  const REASON_WORDS = {
    answered_elsewhere: "ATENDIDA POR OTRO ASESOR",
    missed: "NO CONTESTADA",
    transferred: "TRANSFERIDA",
  };
  const MAX_RECENT = 6;
  const MAX_SHORTCUT = 9;
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_CAP_MS = 15000;

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const tabsEl = document.getElementById("tabs");
  const stripEl = document.getElementById("tab-strip");
  const recentEl = document.getElementById("recent");
  const recentListEl = document.getElementById("recent-list");
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

  // call_id -> {pop, seen, slot, endedAt, view, tab, recentItem, matchKey, guide, choices,
  //             acked, noticed, recordOpen}
  // `slot` is the call's Alt+N number while it has a tab (null once it folded into Recientes).
  const calls = new Map();
  let selected = null;
  let me = null;
  let myState = null;
  let ws = null;
  let attempt = 0;
  let lastHeard = 0;
  let pingInterval = 20;
  let clockSkewMs = 0;
  let latencyMs = null;
  let serverVersion = PROTOCOL_VERSION;

  // ---- wording -------------------------------------------------------------------------------
  function live(pop) {
    return pop.state !== "ended";
  }
  function stateWord(pop) {
    if (pop.state === "ended" && REASON_WORDS[pop.reason]) return REASON_WORDS[pop.reason];
    return STATE_WORDS[pop.state] || pop.state;
  }
  function stateClass(pop) {
    return pop.state === "ended" && pop.reason === "answered_elsewhere" ? "elsewhere" : pop.state;
  }
  function directionText(pop) {
    if (pop.callback) return "Devolución de llamada";
    if (pop.campaign) return pop.campaign.name ? `Campaña · ${pop.campaign.name}` : "Campaña del marcador";
    if (pop.direction === "outbound") return pop.placed_by_agent ? "Saliente · marcada por usted" : "Saliente";
    return pop.queue ? `Entrante · cola ${pop.queue}` : "Entrante";
  }
  function theRecord(pop) {
    return pop.match && pop.match.status === "one" ? pop.match.preinstallations[0] : null;
  }
  function who(pop) {
    const record = theRecord(pop);
    return (record && record.name) || pop.customer_display || "Número oculto";
  }
  function zoneText(zone) {
    if (!zone) return "";
    return /^zona\b/i.test(zone.trim()) ? zone.trim() : `Zona ${zone.trim()}`;
  }
  function missingLabels(record) {
    return record.missing_labels || record.missing || [];
  }
  function pendingText(iso) {
    if (!iso) return "";
    const days = Math.floor((now() - Date.parse(iso)) / 86400000);
    if (!(days >= 0)) return "";
    if (days === 0) return "Pendiente desde hoy";
    return days === 1 ? "Pendiente hace 1 día" : `Pendiente hace ${days} días`;
  }
  function now() {
    return Date.now() + clockSkewMs;
  }
  // "IVR: 1 Contratar · 00:42 en IVR · 01:10 en cola": what the caller did before reaching the agent
  function ivrText(entry) {
    const ivr = entry.pop.ivr;
    if (!ivr) return null;
    const parts = [];
    const last = ivr.steps.length ? ivr.steps[ivr.steps.length - 1] : null;
    parts.push(last ? `IVR: ${ivr.path} ${last.short}` : "IVR: sin opción");
    const entered = ivr.queue_entered_at ? ivr.queue_entered_at * 1000 : null;
    if (ivr.started_at) parts.push(`${clock(((entered || now()) - ivr.started_at * 1000) / 1000)} en IVR`);
    if (entered) {
      if (!entry.queueLeftAt && entry.pop.state !== "ringing") {
        entry.queueLeftAt = entry.pop.event_at ? entry.pop.event_at * 1000 : now();
      }
      parts.push(`${clock(((entry.queueLeftAt || now()) - entered) / 1000)} en cola`);
    }
    return parts.join(" · ");
  }
  function ivrTitle(ivr) {
    const steps = ivr.steps.map((step) => `${step.key}: ${step.label}`).join(", ");
    const found = ivr.lookup_match === "one" && ivr.lookup_preinstallation_id
      ? `El IVR identificó la preinstalación ${ivr.lookup_preinstallation_id}`
      : "El IVR no identificó un único registro";
    return steps ? `${steps}. ${found}` : found;
  }
  function drawIvr(entry) {
    const bar = entry.view.querySelector(".callbar");
    let line = bar.querySelector(".ivr-path");
    const text = ivrText(entry);
    if (!text) {
      if (line) line.remove();
      return;
    }
    if (!line) {
      line = el("span", "ivr-path");
      bar.append(line);
    }
    line.textContent = text;
    line.title = ivrTitle(entry.pop.ivr);
  }
  function elapsed(entry) {
    const start = entry.pop.started_at ? entry.pop.started_at * 1000 : entry.seen;
    return clock(((entry.endedAt || now()) - start) / 1000);
  }

  // ---- connection ----------------------------------------------------------------------------
  function setConn(state, text) {
    connEl.dataset.conn = state;
    connEl.textContent = text;
  }
  function showConnected() {
    if (serverVersion !== PROTOCOL_VERSION) {
      setConn("retry", "el servidor se actualizó: recargue la página (F5)");
      return;
    }
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
      if (msg && typeof msg === "object") handle(msg);
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

  // ---- messages (docs/websocket.md) ----------------------------------------------------------
  const HANDLERS = {
    hello(msg) {
      me = msg.user && msg.user.username;
      serverVersion = msg.version;
      pingInterval = msg.ping_interval || pingInterval;
      if (msg.server_time) clockSkewMs = msg.server_time * 1000 - Date.now();
      showConnected();
    },
    pop: upsert,
    synced(msg) {
      const stillLive = new Set(msg.call_ids || []);
      for (const [id, entry] of calls) {
        if (live(entry.pop) && !stillLive.has(id)) upsert({ ...entry.pop, state: "ended", reason: null });
        if (entry.guide) entry.guide.resume();
      }
    },
    acked(msg) {
      const entry = calls.get(msg.call_id);
      if (entry && !entry.noticed) {
        entry.noticed = true;
        refreshAlerts();
      }
    },
    script(msg) {
      const entry = calls.get(msg.call_id);
      if (entry && entry.guide) entry.guide.apply(msg);
    },
    agent_state(msg) {
      if (msg.agent && msg.agent.username === me) showMyState(msg.agent);
    },
    agents() {
      /* the supervisors' roster: /supervisor shows it, this page has no use for it */
    },
    ping() {
      send({ type: "pong" });
    },
    pong(msg) {
      if (typeof msg.t === "number") latencyMs = Math.round(performance.now() - msg.t);
      showConnected();
    },
    error(msg) {
      // The server did not understand a frame of this page (a bug, not the agent's doing).
      console.warn("screenpop: the server refused a frame:", msg.code);
    },
  };

  function handle(msg) {
    const handler = Object.hasOwn(HANDLERS, msg.type) ? HANDLERS[msg.type] : null;
    if (handler) handler(msg);
    // Features beside this file (the WispHub actions' `operation`) listen here.
    document.dispatchEvent(new CustomEvent("screenpop:message", { detail: msg }));
  }

  function upsert(pop) {
    const known = calls.get(pop.call_id);
    if (known && pop.seq < known.pop.seq) return;
    const entry = known || { seen: Date.now(), slot: null, endedAt: null, view: null, tab: null,
      recentItem: null, matchKey: null, noticed: false, recordOpen: false };
    entry.pop = pop;
    if (!live(pop) && !entry.endedAt) entry.endedAt = now();
    if (!known) {
      calls.set(pop.call_id, entry);
      if (live(pop)) entry.slot = nextSlot();
      if (takesTheScreen(entry)) selected = pop.call_id;
    }
    render();
    if (!known && entry.tab && pop.call_id !== selected) reveal(entry.tab);
    if (calls.has(pop.call_id) && !(entry.acked >= pop.seq)) {
      entry.acked = pop.seq;
      send({ type: "ack", call_id: pop.call_id, seq: pop.seq, seen: false });
    }
    if (pop.call_id === selected) announce(entry);
  }

  // A new call comes to the front only when the screen shows no live call and the agent is not
  // working in the ended one shown (typing in it).
  function takesTheScreen(entry) {
    const current = selected ? calls.get(selected) : null;
    if (!current) return true;
    if (live(current.pop) || !live(entry.pop)) return false;
    return !(current.view && current.view.contains(document.activeElement));
  }

  function nextSlot() {
    let highest = 0;
    for (const entry of calls.values()) if (entry.slot !== null) highest = Math.max(highest, entry.slot);
    return highest + 1;
  }

  function tabbed() {
    return [...calls.values()].filter((e) => e.slot !== null).sort((a, b) => a.slot - b.slot);
  }
  function recent() {
    return [...calls.values()].filter((e) => e.slot === null).sort((a, b) => b.endedAt - a.endedAt);
  }

  // ---- never miss a pop ----------------------------------------------------------------------
  // No ring, notification or "Enterado" for a call the agent dialled themselves.
  function alerting(entry) {
    return entry.pop.state === "ringing" && !entry.noticed && !entry.pop.placed_by_agent;
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
      if (entry.tab) entry.tab.dataset.alerting = String(on);
      if (on) {
        items.push({ call_id: id, title: `Llamada: ${who(entry.pop)}`,
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
    wrapLeftEl.textContent = `cierre ${clock(myState.wrap_until - now() / 1000)}`;
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

  // ---- which calls have a tab ----------------------------------------------------------------
  // An ended call keeps its tab while it is on screen; once the agent leaves it, it folds into
  // Recientes, and only the newest MAX_RECENT of those are kept.
  function settle() {
    for (const entry of calls.values()) {
      if (entry.slot !== null && !live(entry.pop) && entry.pop.call_id !== selected) {
        entry.slot = null;
        if (entry.tab) entry.tab.remove();
        entry.tab = null;
      }
    }
    for (const entry of recent().slice(MAX_RECENT)) {
      if (entry.pop.call_id !== selected) forget(entry);
    }
  }

  function forget(entry) {
    if (entry.view) entry.view.remove();
    if (entry.recentItem) entry.recentItem.remove();
    calls.delete(entry.pop.call_id);
  }

  // Leaves the ended call on screen: the oldest live call comes to the front, else nothing.
  function closeShown() {
    const entry = selected ? calls.get(selected) : null;
    if (!entry || live(entry.pop)) return;
    const next = tabbed().find((e) => live(e.pop) && e !== entry);
    selected = next ? next.pop.call_id : null;
    render();
    if (next) announce(next);
  }

  function select(id) {
    if (!calls.has(id)) return;
    selected = id;
    render();
    const entry = calls.get(id);
    // Keys must not keep going into a field of the call the agent just left (now hidden).
    const active = document.activeElement;
    if (active && callsEl.contains(active) && !entry.view.contains(active)) active.blur();
    if (entry.tab) reveal(entry.tab);
    revealStep(entry);
    if (alerting(entry)) markSeen(id);
    announce(entry);
  }

  // ---- rendering -----------------------------------------------------------------------------
  function render() {
    settle();
    const tabs = tabbed();
    const folded = recent();
    idleEl.hidden = selected !== null;
    document.body.dataset.onCall = String(Boolean(selected && live(calls.get(selected).pop)));
    tabsEl.hidden = tabs.length < 2 && folded.length === 0;
    tabs.forEach(drawTab);
    keepOrder(stripEl, tabs.map((e) => e.tab));
    markHiddenTabs();
    recentEl.hidden = folded.length === 0;
    field(recentEl, "count").textContent = `(${folded.length})`;
    folded.forEach(drawRecent);
    keepOrder(recentListEl, folded.map((e) => e.recentItem));
    for (const [id, entry] of calls) {
      if (!entry.view) buildView(id, entry);
      drawCall(entry);
      entry.view.hidden = id !== selected;
    }
    refreshAlerts();
  }

  // Moves nodes only when the order changed, so a focused tab keeps its focus.
  function keepOrder(parent, nodes) {
    const current = [...parent.children];
    if (current.length === nodes.length && current.every((node, i) => node === nodes[i])) return;
    parent.replaceChildren(...nodes);
  }

  // Scrolls the tab strip (not the page) so that `tab` is in sight.
  function reveal(tab) {
    const left = tab.offsetLeft;
    const right = left + tab.offsetWidth;
    if (left < stripEl.scrollLeft) stripEl.scrollLeft = left;
    else if (right > stripEl.scrollLeft + stripEl.clientWidth) stripEl.scrollLeft = right - stripEl.clientWidth;
    markHiddenTabs();
  }

  // The strip's edges fade where tabs are scrolled out of sight.
  function markHiddenTabs() {
    const left = stripEl.scrollLeft > 1;
    const right = stripEl.scrollLeft + stripEl.clientWidth < stripEl.scrollWidth - 1;
    stripEl.dataset.more = left && right ? "both" : left ? "left" : right ? "right" : "none";
  }
  stripEl.addEventListener("scroll", markHiddenTabs, { passive: true });

  function drawTab(entry) {
    const id = entry.pop.call_id;
    if (!entry.tab) {
      entry.tab = el("button", "tab");
      entry.tab.type = "button";
      entry.tab.dataset.callId = id;
      entry.tab.append(el("span", "tab-state"), el("span", "tab-who"), el("span", "tab-timer"));
      if (entry.slot <= MAX_SHORTCUT) entry.tab.append(kbd(`Alt+${entry.slot}`));
      entry.tab.addEventListener("click", () => select(id));
    }
    const tab = entry.tab;
    tab.className = `tab state-${stateClass(entry.pop)}`;
    tab.setAttribute("aria-pressed", String(id === selected));
    tab.querySelector(".tab-state").textContent = stateWord(entry.pop);
    tab.querySelector(".tab-who").textContent = who(entry.pop);
    tab.querySelector(".tab-timer").textContent = elapsed(entry);
    tab.title = `${stateWord(entry.pop)} · ${who(entry.pop)}`;
  }

  function drawRecent(entry) {
    const id = entry.pop.call_id;
    if (!entry.recentItem) {
      entry.recentItem = el("li", "recent-item");
      const button = el("button", "recent-call");
      button.type = "button";
      button.addEventListener("click", () => {
        recentEl.open = false;
        select(id);
      });
      entry.recentItem.append(button);
    }
    const button = entry.recentItem.firstElementChild;
    button.dataset.callId = id;
    button.setAttribute("aria-pressed", String(id === selected));
    button.replaceChildren(el("span", `tab-state state-${stateClass(entry.pop)}`, stateWord(entry.pop)),
      el("span", "tab-who", who(entry.pop)), el("span", "tab-timer", elapsed(entry)));
  }

  function buildView(id, entry) {
    entry.view = clone("tpl-call").firstElementChild;
    field(entry.view, "dismiss").addEventListener("click", closeShown);
    field(entry.view, "seen").addEventListener("click", () => markSeen(id));
    entry.view.addEventListener("pointerdown", () => markSeen(id));
    callsEl.append(entry.view);
    const script = field(entry.view, "script");
    entry.guide = window.ScreenpopGuide.create({
      root: script, callId: id, csrf,
      onChange: (answers, payload) => {
        // the script knows the record as it stands in this call (FALTA, activated)
        if (payload && payload.record) {
          entry.record = payload.record;
          drawCall(entry);
        }
        announce(entry);
      },
    });
    new MutationObserver(() => revealStep(entry)).observe(script, { childList: true, subtree: true });
  }

  // On a narrow panel the step bar scrolls sideways: keep the current step in sight.
  function revealStep(entry) {
    const chip = entry.view && entry.view.querySelector('.step-chip[data-status="current"]');
    const bar = chip && chip.closest(".stepbar");
    if (!bar || bar.scrollWidth <= bar.clientWidth) return;
    const item = chip.parentElement;
    bar.scrollLeft = item.offsetLeft - (bar.clientWidth - item.offsetWidth) / 2;
  }

  window.addEventListener("resize", () => {
    const entry = selected ? calls.get(selected) : null;
    if (!entry) return;
    if (entry.tab) reveal(entry.tab);
    revealStep(entry);
  });

  function drawCall(entry) {
    const { pop, view } = entry;
    view.className = `call state-${stateClass(pop)}`;
    view.dataset.callId = pop.call_id;
    view.dataset.live = String(live(pop));
    field(view, "state").textContent = stateWord(pop);
    field(view, "timer").textContent = elapsed(entry);
    field(view, "direction").textContent = directionText(pop);
    field(view, "customer").textContent = pop.customer_display || "Número oculto";
    drawIvr(entry);
    field(view, "dismiss").hidden = live(pop);
    // A call placed to the agent first (dialer, callback) learns its customer after it rang:
    // the guided script was rendered before, so it is fetched again for the record now known.
    const popMatch = JSON.stringify(pop.match || null);
    if (entry.popMatch !== undefined && popMatch !== entry.popMatch && entry.guide) entry.guide.reload();
    entry.popMatch = popMatch;
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
      root.append(recordCard(entry, entry.record && entry.record.id === record.id ? entry.record : record, match.linked));
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

  // The record, and the one line (name · FALTA n) it folds into on a narrow panel during a call
  // so the line to say stays on screen; the line opens the whole card again.
  function recordCard(entry, record, linked) {
    const frag = clone("tpl-record");
    const labels = missingLabels(record);
    const line = field(frag, "line");
    field(line, "line-name").textContent = record.name || "(sin nombre)";
    const lineMissing = field(line, "line-missing");
    lineMissing.textContent = labels.length ? `FALTA ${labels.length}` : "✓ completo";
    lineMissing.classList.toggle("complete", !labels.length);
    line.setAttribute("aria-expanded", String(entry.recordOpen));
    line.addEventListener("click", () => {
      entry.recordOpen = !entry.recordOpen;
      line.setAttribute("aria-expanded", String(entry.recordOpen));
    });
    const installed = record.stage === "installed";
    field(frag, "id").textContent = `${installed ? "INSTALACIÓN" : "PREINSTALACIÓN"} #${record.id}${linked ? " · vinculada" : ""}`
      + (installed ? ` · activada${record.installation_reference ? ` (${record.installation_reference})` : ""}` : "");
    field(frag, "name").textContent = record.name || "(sin nombre)";
    const phones = record.phones_display || [record.phone];
    field(frag, "phones").textContent = `Tel. ${phones.filter(Boolean).join(", ") || "—"}`;
    field(frag, "email").textContent = record.email || "Sin correo";
    field(frag, "place").textContent = [record.address, zoneText(record.zone)].filter(Boolean).join(" · ") || "Sin dirección";
    field(frag, "pending").textContent = installed ? "" : pendingText(record.created_at);
    const title = field(frag, "missing-title");
    title.textContent = labels.length ? `FALTA (${labels.length})` : "✓ Expediente completo";
    title.classList.toggle("complete", !labels.length);
    const list = field(frag, "missing");
    labels.forEach((label) => list.append(el("li", null, `✗ ${label}`)));
    (record.unknown_labels || []).forEach((label) => list.append(el("li", "unknown", `? ${label}: desconocido`)));
    field(frag, "full").append(searchBox(entry, "¿No es este cliente? Busque otro registro."));
    return frag;
  }

  function choice(entry, record) {
    const index = entry.choices.push(record);
    const item = el("li", "choice");
    const text = el("div", "choice-text");
    text.append(el("strong", null, record.name || "(sin nombre)"));
    const missing = missingLabels(record).length;
    text.append(el("span", "muted", [(record.phones_display || [record.phone])[0], record.email, pendingText(record.created_at), missing ? `falta ${missing}` : ""].filter(Boolean).join(" · ")));
    const button = el("button", "link-record", "Vincular");
    button.type = "button";
    if (index <= MAX_SHORTCUT) button.append(kbd(String(index)));
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
      const target = tabbed().find((e) => e.slot === Number(event.key));
      if (target) select(target.pop.call_id);
      event.preventDefault();
      return;
    }
    if (event.key === "Escape") {
      if (typing) event.target.blur();
      else if (recentEl.open) recentEl.open = false;
      else if (entry && !live(entry.pop)) closeShown();
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
        if (input.offsetParent === null) entry.view.querySelector('[data-f="line"]').click();
        input.focus();
        event.preventDefault();
      }
    } else if (/^[1-9]$/.test(event.key) && entry.choices && entry.choices[Number(event.key) - 1]) {
      const button = entry.view.querySelectorAll(".link-record")[Number(event.key) - 1];
      if (button) button.click();
    }
  });

  document.addEventListener("click", (event) => {
    if (recentEl.open && !recentEl.contains(event.target)) recentEl.open = false;
  });

  setInterval(() => {
    for (const entry of calls.values()) {
      if (entry.view) {
        field(entry.view, "timer").textContent = elapsed(entry);
        drawIvr(entry);
      }
      if (entry.tab) entry.tab.querySelector(".tab-timer").textContent = elapsed(entry);
    }
    drawWrapLeft();
  }, 1000);

  connect();
})();
