// "Resultado de la llamada" in each call the agent held: disposition (keys 1–9), notes, and for
// "volver a llamar" a local date and time and who calls back. Collapsed while the call is live,
// open once it ended; never takes the focus by itself (Alt+R goes to it). Saving posts
// /api/calls/{id}/disposition; saving again overwrites. Follows the shown call through
// "screenpop:call" like the WispHub actions. Text goes in through textContent only.
(() => {
  "use strict";
  const { el, kbd, field } = window.ScreenpopDom;
  const views = new Map(); // call id → view
  let shown = null;

  // Which calls get the panel: the agent's leg answered (live) or the call ended while they had it.
  function mode(pop) {
    if (pop.state === "answered") return "live";
    if (pop.state === "ended" && !pop.reason) return "ended";
    return null;
  }

  function api(view, method, body) {
    return fetch(`/api/calls/${encodeURIComponent(view.callId)}/disposition`, {
      method, credentials: "same-origin", cache: "no-store",
      headers: method === "POST" ? { "Content-Type": "application/json", "X-CSRF-Token": view.csrf } : {},
      body: body ? JSON.stringify(body) : undefined,
    }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => ({})) }));
  }

  function chosen(view) {
    const input = view.form.querySelector('input[name="disposition"]:checked');
    return input ? view.options.find((o) => o.id === input.value) : null;
  }

  function drawCallback(view) {
    const option = chosen(view);
    const box = field(view.root, "wrapup-callback");
    box.hidden = !(option && option.effect === "callback");
    const who = view.form.querySelector('input[name="callback_for"]:checked');
    view.form.elements.callback_agent.disabled = !(who && who.value === "other");
  }

  function drawCount(view) {
    const n = view.form.elements.notes.value.length;
    field(view.root, "wrapup-count").textContent = `${n}/${view.notesMax}`;
  }

  function savedText(saved) {
    if (!saved) return "";
    const option = saved.label || saved.disposition;
    const callback = saved.callback ? ` · ${saved.callback.date.split("-").reverse().join("/")} ${saved.callback.time}` : "";
    return `✓ ${option}${callback}`;
  }

  function build(view, data) {
    view.options = data.options;
    view.notesMax = data.notes_max;
    const choices = field(view.root, "wrapup-choices");
    choices.replaceChildren();
    data.options.forEach((option) => {
      const label = el("label", "wrapup-choice");
      label.dataset.effect = option.effect;
      const input = el("input");
      input.type = "radio";
      input.name = "disposition";
      input.value = option.id;
      label.append(input, el("span", null, option.label));
      if (option.key) label.append(kbd(option.key));
      choices.append(label);
    });
    const notes = view.form.elements.notes;
    notes.maxLength = data.notes_max;
    const select = view.form.elements.callback_agent;
    select.replaceChildren(...data.agents.map((a) => {
      const o = el("option", null, a.display_name || a.username);
      o.value = a.username;
      return o;
    }));
    if (!data.agents.length) {
      view.form.querySelector('input[name="callback_for"][value="other"]').disabled = true;
      select.hidden = true;
    }
    const zoneText = data.zone.replace(/^America\//, "").replace(/_/g, " ");
    field(view.root, "wrapup-zone").textContent = `· hora local del cliente (${zoneText})`;
    view.form.elements.callback_date.min = data.now.date;
    if (data.saved) fill(view, data.saved);
    else if (!view.form.elements.callback_date.value) view.form.elements.callback_date.value = data.now.date;
    drawCallback(view);
    drawCount(view);
  }

  function fill(view, saved) {
    const input = view.form.querySelector(`input[name="disposition"][value="${CSS.escape(saved.disposition)}"]`);
    if (input) input.checked = true;
    view.form.elements.notes.value = saved.notes || "";
    if (saved.callback) {
      view.form.elements.callback_date.value = saved.callback.date;
      view.form.elements.callback_time.value = saved.callback.time;
      const who = saved.callback.for === null ? "anyone" : saved.callback.for === view.me ? "me" : "other";
      view.form.querySelector(`input[name="callback_for"][value="${who}"]`).checked = true;
      if (who === "other") view.form.elements.callback_agent.value = saved.callback.for;
    }
    const label = (view.options.find((o) => o.id === saved.disposition) || {}).label;
    field(view.root, "wrapup-saved").textContent = savedText({ ...saved, label });
  }

  async function save(view) {
    const option = chosen(view);
    const error = field(view.root, "wrapup-error");
    const status = field(view.root, "wrapup-status");
    error.textContent = "";
    if (!option) {
      error.textContent = "Elija un resultado (teclas 1 a 9).";
      return;
    }
    const f = view.form.elements;
    const body = { disposition: option.id, notes: f.notes.value };
    if (option.effect === "callback") {
      body.callback_date = f.callback_date.value;
      body.callback_time = f.callback_time.value;
      body.callback_for = view.form.querySelector('input[name="callback_for"]:checked').value;
      if (body.callback_for === "other") body.callback_agent = f.callback_agent.value;
    }
    const button = view.form.querySelector(".wrapup-save");
    button.disabled = true;
    status.textContent = "Guardando…";
    try {
      const res = await api(view, "POST", body);
      if (res.status !== 200) {
        status.textContent = "";
        error.textContent = res.body.message || `No se pudo guardar (error ${res.status}); intente de nuevo.`;
        return;
      }
      const saved = res.body.saved;
      field(view.root, "wrapup-saved").textContent = savedText(saved);
      const dialer = res.body.dialer;
      status.textContent = `Guardado ${new Date().toLocaleTimeString("es-MX", { hour: "2-digit", minute: "2-digit" })}`
        + (dialer && dialer.applied ? ` · campaña ${dialer.campaign} actualizada` : "");
      if (dialer && !dialer.applied && dialer.message) error.textContent = dialer.message;
    } catch (err) {
      status.textContent = "";
      error.textContent = "Sin conexión con el servidor: el resultado no se guardó. Intente de nuevo.";
    } finally {
      button.disabled = false;
    }
  }

  function bind(root, callId, csrf, me) {
    const view = { root, callId, csrf, me, form: root.querySelector("form"), options: [], notesMax: 1000, loaded: false };
    view.form.addEventListener("submit", (event) => {
      event.preventDefault();
      save(view);
    });
    view.form.addEventListener("change", () => drawCallback(view));
    view.form.elements.notes.addEventListener("input", () => drawCount(view));
    // Keys inside the panel: 1–9 choose (not while typing notes or a date), Ctrl+Enter saves.
    // They stop here, so the guided call's own keys (objections 1–9) do not fire as well.
    root.addEventListener("keydown", (event) => {
      const t = event.target;
      const typing = t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement
        || (t instanceof HTMLInputElement && t.type !== "radio");
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        event.stopPropagation();
        save(view);
      } else if (!typing && !event.altKey && !event.ctrlKey && /^[1-9]$/.test(event.key)) {
        const option = view.options[Number(event.key) - 1];
        const input = option && view.form.querySelector(`input[name="disposition"][value="${CSS.escape(option.id)}"]`);
        if (input) {
          input.checked = true;
          input.focus();
          drawCallback(view);
        }
        event.preventDefault();
        event.stopPropagation();
      }
    });
    return view;
  }

  async function load(view) {
    view.loaded = true;
    const res = await api(view, "GET").catch(() => ({ status: 0, body: {} }));
    if (res.status === 200) build(view, res.body);
    else if (res.status === 403 || res.status === 404) {
      view.refused = true; // not a call this agent held (it stopped ringing): no result to give
      view.root.hidden = true;
    } else {
      view.loaded = false;
      field(view.root, "wrapup-error").textContent = res.body.message || "No se pudo cargar la lista de resultados; se reintentará.";
    }
  }

  let me = null;
  document.addEventListener("screenpop:message", (event) => {
    const msg = event.detail;
    if (msg && msg.type === "disposition") {
      // saved in this or another tab of the agent: every tab shows the same result
      const view = views.get(msg.call_id);
      if (view && view.loaded && view.options.length) fill(view, msg.saved);
    } else if (msg && msg.type === "hello") {
      me = msg.user && msg.user.username;
      views.forEach((view) => { if (!view.loaded && !view.refused && view.root.isConnected) load(view); });
    }
  });

  document.addEventListener("screenpop:call", (event) => {
    const { call_id: callId, pop, csrf } = event.detail || {};
    if (!callId || !pop) return;
    const article = document.querySelector(`article[data-call-id="${CSS.escape(callId)}"]`);
    const root = article && article.querySelector(".wrapup");
    if (!root) return;
    const how = mode(pop);
    root.hidden = how === null;
    shown = how === null ? null : callId;
    if (how === null) return;
    let view = views.get(callId);
    if (!view || view.root !== root) {
      view = bind(root, callId, csrf, me);
      views.set(callId, view);
    }
    view.me = view.me || me;
    if (view.refused) {
      root.hidden = true;
      shown = null;
      return;
    }
    if (!view.loaded) load(view);
    if (root.dataset.ended !== String(how === "ended")) {
      root.dataset.ended = String(how === "ended");
      if (how === "ended") root.open = true; // opens; the focus stays where the agent has it
    }
  });

  // Alt+R: to the result panel of the call on screen (the only time it takes the focus).
  document.addEventListener("keydown", (event) => {
    if (!event.altKey || event.ctrlKey || (event.key !== "r" && event.key !== "R")) return;
    const view = shown && views.get(shown);
    if (!view || view.root.hidden) return;
    event.preventDefault();
    view.root.open = true;
    const input = view.form.querySelector('input[name="disposition"]:checked') || view.form.querySelector('input[name="disposition"]');
    if (input) input.focus();
  });
})();
