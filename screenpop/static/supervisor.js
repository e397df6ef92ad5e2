// Supervisor page: every agent account by name with its state, live over the same /ws socket the
// agents use. The roster (who is an agent, and their names) comes from /api/agents; the socket's
// `agent_state` messages keep it current. Below it, the WispHub writes that gave up and need a
// person (/api/operations/attention, read again every ATTENTION_REFRESH_MS). Data goes into the
// page through textContent only.
"use strict";

(() => {
  const { el, clock } = window.ScreenpopDom;
  const csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_CAP_MS = 15000;
  const ROSTER_RETRY_MS = 5000;
  const ROSTER_RECHECK_MS = 1000;
  const ATTENTION_REFRESH_MS = 15000;
  const SUMMARY_ORDER = ["available", "in_call", "wrap_up", "paused", "offline"];
  const bodyEl = document.getElementById("agents");
  const emptyEl = document.getElementById("empty");
  const summaryEl = document.getElementById("summary");
  const connEl = document.getElementById("conn");
  const attentionEl = document.getElementById("attention");
  const attentionListEl = document.getElementById("attention-list");
  const attentionCountEl = document.getElementById("attention-count");
  const roster = new Map(); // username -> agent (state fields + display_name)
  let notAgents = new Set(); // usernames with a state that the roster twice said are not agents
  let unconfirmed = new Set(); // usernames with a state that the last roster read did not have
  let unknownSeen = new Set(); // usernames with a state and no roster row, since the last read
  let liveDuringLoad = null; // agent_state messages that arrived while the roster was loading
  let rosterTimer = null;
  let attention = []; // the WispHub writes that need a person
  let attempt = 0;
  let skewMs = 0;

  function now() {
    return (Date.now() + skewMs) / 1000;
  }

  // A cell with nothing to say shows a dash in the table (and folds away on a narrow panel).
  function cell(className, text, nothing = "—") {
    const td = el("td", className, text === null ? nothing : text);
    td.dataset.empty = String(text === null);
    return td;
  }

  // Pause/resume an agent for the dialer (the agent's own state; only while signed in).
  function dialerCell(agent) {
    const td = el("td", "agent-dialer");
    const action = agent.state === "paused" ? "resume" : ["available", "wrap_up"].includes(agent.state) ? "pause" : null;
    td.dataset.empty = String(action === null);
    if (action) {
      const button = el("button", `agent-${action}`, action === "pause" ? "Pausar" : "Reanudar");
      button.type = "button";
      button.addEventListener("click", () => agentAction(agent.username, action, button));
      td.append(button);
    }
    return td;
  }

  async function agentAction(username, action, button) {
    const errorEl = document.getElementById("agent-action-error");
    button.disabled = true;
    try {
      const response = await fetch(`/api/agents/${encodeURIComponent(username)}/dialer`, {
        method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
        body: JSON.stringify({ action }) });
      const body = await response.json().catch(() => ({}));
      errorEl.hidden = response.ok;
      if (!response.ok) errorEl.textContent = body.message || "No se pudo cambiar el estado del asesor; intente de nuevo.";
    } catch (err) {
      errorEl.hidden = false;
      errorEl.textContent = "Sin conexión con el servidor; intente de nuevo.";
    } finally {
      button.disabled = false;
    }
  }

  function elapsed(agent) {
    return agent.since && agent.state !== "offline" ? clock(now() - agent.since) : null;
  }

  // The clock of each row, in place: rebuilding the rows every second would swallow a click on
  // their buttons (a press takes longer than the gap between two rebuilds).
  function tick() {
    for (const tr of bodyEl.children) {
      const agent = roster.get(tr.dataset.agent);
      const td = tr.querySelector(".agent-time");
      if (!agent || !td) continue;
      const text = elapsed(agent);
      td.textContent = text === null ? "—" : text;
      td.dataset.empty = String(text === null);
    }
  }

  function render() {
    const rows = [...roster.values()].sort((a, b) => (a.display_name || a.username).localeCompare(
      b.display_name || b.username, "es"));
    emptyEl.hidden = rows.length > 0;
    const counts = new Map(); // state -> [label, n]
    bodyEl.replaceChildren();
    for (const agent of rows) {
      counts.set(agent.state, [agent.label, ((counts.get(agent.state) || [])[1] || 0) + 1]);
      const tr = el("tr", `agent state-${agent.state}`);
      tr.dataset.agent = agent.username;
      tr.dataset.state = agent.state;
      tr.dataset.unreachable = String(Boolean(agent.unreachable));
      const name = el("td", "agent-name");
      name.append(el("span", "agent-display", agent.display_name || agent.username));
      if (agent.display_name && agent.display_name !== agent.username) {
        name.append(el("span", "agent-username muted", agent.username));
      }
      tr.append(name);
      const state = el("td", "agent-state");
      state.append(el("span", "pill", agent.label));
      if (agent.reason) state.append(el("span", "reason", ` · ${agent.reason}`));
      tr.append(state);
      tr.append(cell("agent-time", elapsed(agent)));
      tr.append(cell("agent-call", agent.call_id ? agent.customer || "Número oculto" : null));
      tr.append(cell("agent-alert", agent.unreachable ? "⚠ No confirmó la llamada" : null, ""));
      tr.append(dialerCell(agent));
      bodyEl.append(tr);
    }
    const rank = (state) => (SUMMARY_ORDER.includes(state) ? SUMMARY_ORDER.indexOf(state) : SUMMARY_ORDER.length);
    summaryEl.textContent = [...counts.entries()].sort((a, b) => rank(a[0]) - rank(b[0]))
      .map(([, [label, n]]) => `${label}: ${n}`).join(" · ");
  }

  function applyState(agent) {
    if (agent.removed) { // the account was removed: it leaves the table at once
      roster.delete(agent.username);
      if (liveDuringLoad) liveDuringLoad.delete(agent.username);
      render();
      return;
    }
    if (liveDuringLoad) liveDuringLoad.set(agent.username, agent);
    const known = roster.get(agent.username);
    if (known) {
      roster.set(agent.username, { ...agent, display_name: known.display_name });
      render();
    }
    // An account added since the roster was read, or one signed out (perhaps removed).
    if (!known && !notAgents.has(agent.username)) unknownSeen.add(agent.username);
    if ((!known && !notAgents.has(agent.username)) || (known && agent.state === "offline")) loadRoster();
  }

  async function loadRoster() {
    if (liveDuringLoad) return;
    clearTimeout(rosterTimer);
    liveDuringLoad = new Map();
    try {
      const response = await fetch("/api/agents", { cache: "no-store" });
      if (response.status === 401) {
        location.assign("/login");
        return;
      }
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      roster.clear();
      data.agents.forEach((agent) => roster.set(agent.username, agent));
      const newer = liveDuringLoad;
      liveDuringLoad = null;
      // The node's copy of the accounts may lag a moment behind an account just added: a name
      // with a state is read once more before it counts as "not an agent" (a supervisor).
      const unknown = new Set([...unknownSeen, ...newer.keys()].filter((name) => !roster.has(name)));
      unknownSeen = new Set();
      notAgents = new Set([...notAgents, ...[...unknown].filter((name) => unconfirmed.has(name))]
        .filter((name) => !roster.has(name)));
      unconfirmed = new Set([...unknown].filter((name) => !notAgents.has(name)));
      for (const agent of newer.values()) {
        const known = roster.get(agent.username);
        if (known) roster.set(agent.username, { ...agent, display_name: known.display_name });
      }
      render();
      if (unconfirmed.size) rosterTimer = setTimeout(loadRoster, ROSTER_RECHECK_MS);
    } catch (err) {
      liveDuringLoad = null;
      summaryEl.textContent = "No se pudo leer la lista de asesores; se reintentará en unos segundos.";
      rosterTimer = setTimeout(loadRoster, ROSTER_RETRY_MS);
    }
  }

  function ago(epoch) {
    const minutes = Math.max(0, Math.floor((now() - epoch) / 60));
    return minutes < 1 ? "hace un momento" : minutes < 60 ? `hace ${minutes} min` : `hace ${Math.floor(minutes / 60)} h`;
  }

  function drawAttention() {
    attentionListEl.replaceChildren();
    for (const op of attention) {
      const agent = roster.get(op.by);
      const item = el("li", "attention-item");
      item.append(el("strong", null, agent ? agent.display_name || op.by : op.by));
      item.append(el("span", null, ` · ${op.label}: ${op.reason || op.state_label}`));
      if (op.updated_at) item.append(el("span", "muted", ` · ${ago(op.updated_at)}`));
      attentionListEl.append(item);
    }
    attentionCountEl.textContent = `(${attention.length})`;
    attentionEl.hidden = attention.length === 0;
  }

  async function loadAttention() {
    try {
      const response = await fetch("/api/operations/attention", { cache: "no-store" });
      if (!response.ok) return;
      attention = (await response.json()).operations;
      drawAttention();
    } catch (err) {
      /* the next round tries again */
    } finally {
      setTimeout(loadAttention, ATTENTION_REFRESH_MS);
    }
  }

  function handle(msg) {
    if (msg.type === "hello" && msg.server_time) skewMs = msg.server_time * 1000 - Date.now();
    else if (msg.type === "agents") loadRoster(); // sent on every (re)connect
    else if (msg.type === "agent_state" && msg.agent) applyState(msg.agent);
    else if (msg.type === "campaigns" && window.ScreenpopCampaigns) window.ScreenpopCampaigns.apply(msg, csrfToken);
    else if (msg.type === "callbacks_changed") document.dispatchEvent(new CustomEvent("screenpop:callbacks-changed"));
    else if (msg.type === "ping") send({ type: "pong" });
  }

  let ws = null;
  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }
  function setConn(state, text) {
    connEl.dataset.conn = state;
    connEl.textContent = text;
  }
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}/ws`);
    ws.onopen = () => {
      attempt = 0;
      setConn("on", "conectado");
    };
    ws.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch (err) {
        return; // a frame we cannot read is ignored
      }
      if (msg && typeof msg === "object") handle(msg);
    };
    ws.onclose = (event) => {
      ws = null;
      if (event.code === 4003) {
        location.assign("/login");
        return;
      }
      const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10));
      attempt += 1;
      setConn(attempt > 4 ? "off" : "retry", attempt > 4 ? "sin conexión · reintentando" : "reconectando…");
      setTimeout(connect, ceiling * (0.5 + Math.random() * 0.5));
    };
  }

  setInterval(() => {
    tick();
    drawAttention(); // names once the roster is in, and the "hace N min"
  }, 1000);
  connect();
  loadAttention();
})();
