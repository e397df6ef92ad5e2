// Supervisor page: the agents' states, live over the same /ws socket the agents use.
// Data goes into the page through textContent only.
"use strict";

(() => {
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_CAP_MS = 15000;
  const bodyEl = document.getElementById("agents");
  const emptyEl = document.getElementById("empty");
  const summaryEl = document.getElementById("summary");
  const connEl = document.getElementById("conn");
  const agents = new Map();
  let attempt = 0;
  let skewMs = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clock(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const h = Math.floor(total / 3600);
    const mm = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
    const ss = String(total % 60).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }
  function now() {
    return (Date.now() + skewMs) / 1000;
  }

  function render() {
    const rows = [...agents.values()].sort((a, b) => a.username.localeCompare(b.username));
    emptyEl.hidden = rows.length > 0;
    const counts = {};
    bodyEl.replaceChildren();
    for (const agent of rows) {
      counts[agent.label] = (counts[agent.label] || 0) + 1;
      const tr = el("tr", `agent state-${agent.state}`);
      tr.dataset.agent = agent.username;
      tr.dataset.state = agent.state;
      tr.dataset.unreachable = String(Boolean(agent.unreachable));
      tr.append(el("td", "agent-name", agent.username));
      const state = el("td", "agent-state");
      state.append(el("span", "pill", agent.label));
      if (agent.reason) state.append(el("span", "reason", ` · ${agent.reason}`));
      tr.append(state);
      tr.append(el("td", "agent-time", agent.since ? clock(now() - agent.since) : "—"));
      tr.append(el("td", "agent-call", agent.call_id ? `${agent.customer || "Número oculto"}` : "—"));
      tr.append(el("td", "agent-alert", agent.unreachable ? "⚠ No confirmó la llamada" : ""));
      bodyEl.append(tr);
    }
    summaryEl.textContent = Object.entries(counts).map(([label, n]) => `${label}: ${n}`).join(" · ");
  }

  function handle(msg) {
    if (msg.type === "hello" && msg.server_time) skewMs = msg.server_time * 1000 - Date.now();
    else if (msg.type === "agents") {
      agents.clear();
      msg.agents.forEach((agent) => agents.set(agent.username, agent));
      render();
    } else if (msg.type === "agent_state") {
      if (msg.agent.removed) agents.delete(msg.agent.username);
      else agents.set(msg.agent.username, msg.agent);
      render();
    } else if (msg.type === "ping") send({ type: "pong" });
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
      try {
        handle(JSON.parse(event.data));
      } catch (err) {
        /* a frame we cannot read is ignored */
      }
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

  setInterval(render, 1000);
  connect();
})();
