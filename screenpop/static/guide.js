// The guided call of one pop: step bar, the next thing to say in large type, the step's fields
// (saved as the agent types, debounced; typed text is kept across reconnects and re-renders),
// objections on number keys, totals and the final checklist. Text only through textContent.
"use strict";

window.ScreenpopGuide = (() => {
  const SAVE_DELAY_MS = 600;
  const CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩";
  const WIDE_LABEL = 24; // characters a select in one grid column shows without cutting

  const { el, kbd } = window.ScreenpopDom;
  // Script lines come rendered by jinja2 with autoescape (HTML-safe markup); the page shows them
  // as plain text, decoded in an inert document (nothing in it runs or loads).
  const parser = new DOMParser();
  function plain(markup) {
    return parser.parseFromString(String(markup), "text/html").body.textContent;
  }

  function create({ root, callId, csrf, onChange }) {
    let script = null;
    let progress = { step: "saludo", answers: {}, version: -1 };
    let shownAnswer = null; // objection id whose answer is open
    let drawnKey = null; // what the field form was built for
    let wantedStep = null; // a step move not yet confirmed by the server wins over older answers
    let moves = 0;
    const drafts = new Map(); // field key -> value typed but not saved yet
    const timers = new Map();
    const errors = new Map();

    const url = `/api/calls/${encodeURIComponent(callId)}`;

    async function load() {
      try {
        const response = await fetch(`${url}/script`, { cache: "no-store" });
        if (!response.ok) throw new Error(String(response.status));
        apply(await response.json());
      } catch (err) {
        if (!script) root.replaceChildren(el("p", "muted", "No se pudo cargar el guion; se reintentará al reconectar."));
      }
    }

    function apply(payload) {
      if (!payload || !payload.script || payload.progress.version < progress.version) return;
      script = payload.script;
      progress = wantedStep ? { ...payload.progress, step: wantedStep } : payload.progress;
      for (const [key, value] of drafts) {
        if (sameValue(progress.answers[key], value)) drafts.delete(key);
      }
      draw();
      onChange(progress.answers, payload);
    }

    async function save(body) {
      const response = await fetch(`${url}/progress`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => ({}));
      if (response.status === 400 && data.error === "invalid_answer") {
        errors.set(data.field, data.message);
        draw();
        return false;
      }
      if (!response.ok) throw new Error(data.error || String(response.status));
      apply(data);
      return true;
    }

    function saveField(key) {
      clearTimeout(timers.get(key));
      timers.delete(key);
      if (!drafts.has(key)) return;
      const value = drafts.get(key);
      errors.delete(key);
      save({ answers: { [key]: value } }).catch(() => {
        /* kept in drafts; flushed again after a reconnect */
      });
    }

    function typed(key, value, immediately) {
      drafts.set(key, value);
      clearTimeout(timers.get(key));
      if (immediately) saveField(key);
      else timers.set(key, setTimeout(() => saveField(key), SAVE_DELAY_MS));
    }

    function sameValue(a, b) {
      return JSON.stringify(a ?? null) === JSON.stringify(b === "" ? null : b ?? null);
    }

    function stepIndex() {
      return Math.max(0, script.steps.findIndex((s) => s.id === progress.step));
    }

    function go(delta) {
      if (!script) return;
      const index = Math.min(script.steps.length - 1, Math.max(0, stepIndex() + delta));
      goTo(script.steps[index].id);
    }

    function goTo(id) {
      if (!script || id === progress.step) return;
      for (const key of [...drafts.keys()]) saveField(key);
      progress = { ...progress, step: id };
      wantedStep = id;
      const move = ++moves;
      shownAnswer = null;
      draw();
      const settle = () => {
        if (move === moves) wantedStep = null;
      };
      save({ step: id }).then(settle, settle);
    }

    function raise(objection) {
      shownAnswer = shownAnswer === objection.id ? null : objection.id;
      const raised = new Set(progress.answers.objections_raised || []);
      if (!raised.has(objection.id)) {
        raised.add(objection.id);
        typed("objections_raised", [...raised], true);
      }
      draw();
    }

    // ---- drawing --------------------------------------------------------------------------------
    function draw() {
      if (!script) return;
      const step = script.steps[stepIndex()];
      const formKey = JSON.stringify([step.id, step.locked, step.fields.map((f) => [f.key, f.choices])]);
      if (formKey !== drawnKey || !root.querySelector(".guide")) {
        drawnKey = formKey;
        root.replaceChildren(build(step));
      } else {
        refresh(step);
      }
    }

    function build(step) {
      const guide = el("div", "guide");
      guide.dataset.step = step.id;
      guide.append(stepBar(step));
      const head = el("div", "step-head");
      head.append(el("h3", "step-title", `Paso ${step.number} de ${script.steps.length} · ${step.title}`));
      const nav = el("span", "step-nav");
      const prev = el("button", "step-prev", "◀ Anterior");
      prev.type = "button";
      prev.append(kbd("←"));
      prev.addEventListener("click", () => go(-1));
      const next = el("button", "step-next", "Siguiente ▶");
      next.type = "button";
      next.append(kbd("→"));
      next.addEventListener("click", () => go(1));
      nav.append(prev, next);
      head.append(nav);
      guide.append(head);
      const done = el("p", "activation-done", "");
      done.setAttribute("role", "status");
      guide.append(done);
      guide.append(el("p", "lock-reason", ""));
      const say = el("div", "say");
      say.setAttribute("aria-live", "polite");
      guide.append(say);
      guide.append(el("ul", "hints"));
      const form = el("form", "fields");
      form.addEventListener("submit", (event) => event.preventDefault());
      step.fields.forEach((f) => form.append(fieldRow(f, step.locked)));
      guide.append(form);
      guide.append(el("ul", "items"));
      guide.append(objectionBar());
      guide.append(el("div", "objection-answer"));
      guide.append(el("div", "totals"));
      const check = el("details", "checklist");
      check.append(el("summary", null, "Verificación final"), el("ul"));
      check.open = step.id === "servicios" || step.id === "cierre";
      guide.append(check);
      refresh(step, guide);
      return guide;
    }

    function stepBar(current) {
      const bar = el("ol", "stepbar");
      script.steps.forEach((step, i) => {
        const item = el("li");
        const button = el("button", "step-chip");
        button.type = "button";
        const here = step.id === current.id;
        const done = i < stepIndex() && !step.locked;
        button.dataset.status = here ? "current" : step.locked ? "locked" : done ? "done" : "todo";
        button.append(el("span", "chip-n", CIRCLED[i] || i + 1), el("span", "chip-t", ` ${step.title}`),
          el("span", "chip-m", here ? " ●" : done ? " ✓" : ""));
        if (step.locked) button.title = step.lock_reason || "Paso bloqueado";
        button.setAttribute("aria-current", here ? "step" : "false");
        button.addEventListener("click", () => goTo(step.id));
        item.append(button);
        bar.append(item);
      });
      return bar;
    }

    function fieldRow(f, locked) {
      const row = el("div", `field kind-${f.kind}`);
      row.dataset.key = f.key;
      const id = `f-${callId}-${f.key}`.replace(/[^A-Za-z0-9_-]/g, "_");
      const label = el("label", "field-label", f.label);
      label.htmlFor = id;
      row.append(label);
      let input;
      if (f.kind === "list") {
        input = el("div", "checks");
        input.id = id;
        input.setAttribute("role", "group");
        f.choices.forEach((c) => {
          const box = el("label", "check");
          const cb = document.createElement("input");
          cb.type = "checkbox";
          cb.value = c.value;
          cb.disabled = locked;
          cb.addEventListener("change", () => {
            const values = [...input.querySelectorAll("input:checked")].map((x) => x.value);
            typed(f.key, values, true);
          });
          box.append(cb, document.createTextNode(` ${c.label}`));
          input.append(box);
        });
        if (!f.choices.length) input.append(el("span", "muted", "Sin opciones todavía."));
      } else if (f.kind === "choice" && f.choices.some((c) => c.label.length > WIDE_LABEL)) {
        // a closed select cuts long option labels: these choices are radios that wrap, on a row
        // of their own
        row.classList.add("wide");
        row.style.gridColumn = "1 / -1";
        input = el("div", "checks radios");
        input.setAttribute("role", "radiogroup");
        input.setAttribute("aria-label", f.label);
        f.choices.forEach((c) => {
          const box = el("label", "check");
          const radio = document.createElement("input");
          radio.type = "radio";
          radio.name = id;
          radio.value = c.value;
          radio.disabled = locked;
          radio.dataset.key = f.key;
          radio.addEventListener("change", () => {
            if (radio.checked) typed(f.key, c.value, true);
          });
          box.append(radio, document.createTextNode(` ${c.label}`));
          input.append(box);
        });
      } else if (f.kind === "choice" || f.kind === "bool") {
        input = document.createElement("select");
        const choices = f.kind === "bool" ? [{ value: "true", label: "Sí" }, { value: "false", label: "No" }] : f.choices;
        input.append(new Option("— elegir —", ""));
        choices.forEach((c) => input.append(new Option(c.label, c.value)));
        input.addEventListener("change", () => typed(f.key, parse(f, input.value), true));
      } else {
        input = document.createElement("input");
        input.type = { date: "date", email: "email", phone: "tel", url: "url" }[f.kind] || "text";
        input.autocomplete = "off";
        input.addEventListener("input", () => typed(f.key, input.value.trim() === "" ? null : input.value, false));
        input.addEventListener("change", () => saveField(f.key));
        input.addEventListener("blur", () => saveField(f.key));
      }
      input.id = id;
      input.classList.add("field-input");
      input.dataset.key = f.key;
      if ("disabled" in input) input.disabled = locked;
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !(input instanceof HTMLSelectElement && event.altKey)) {
          event.preventDefault();
          if (input instanceof HTMLSelectElement) typed(f.key, parse(f, input.value), true);
          else saveField(f.key);
        }
      });
      row.append(input, el("span", "field-status"), el("span", "field-error"));
      return row;
    }

    function parse(f, raw) {
      if (raw === "") return null;
      if (f.kind === "bool") return raw === "true";
      return raw;
    }

    function shown(value) {
      if (value === null || value === undefined) return "";
      return typeof value === "boolean" ? String(value) : value;
    }

    function refresh(step, guide = root.querySelector(".guide")) {
      guide.dataset.locked = String(step.locked);
      const bar = guide.querySelector(".stepbar");
      bar.replaceWith(stepBar(step));
      const activation = guide.querySelector(".activation-done");
      activation.textContent = script.activation && script.activation.done ? `✓ ${script.activation.text}` : "";
      activation.hidden = !activation.textContent;
      const lock = guide.querySelector(".lock-reason");
      lock.textContent = step.locked ? `Bloqueado: ${step.lock_reason || "complete los pasos anteriores."}` : "";
      lock.hidden = !step.locked;
      const say = guide.querySelector(".say");
      say.replaceChildren(...step.say.map((line) => el("p", null, plain(line))));
      guide.querySelector(".hints").replaceChildren(...(step.hints || []).map((h) => el("li", null, h)));
      for (const f of step.fields) {
        const row = guide.querySelector(`.field[data-key="${CSS.escape(f.key)}"]`);
        if (!row) continue;
        const input = row.querySelector(".field-input");
        const value = drafts.has(f.key) ? drafts.get(f.key) : f.value;
        if (f.kind === "list") {
          const chosen = new Set(value || []);
          input.querySelectorAll("input").forEach((cb) => {
            if (cb !== document.activeElement) cb.checked = chosen.has(cb.value);
          });
        } else if (input.classList.contains("radios")) {
          input.querySelectorAll("input").forEach((radio) => {
            radio.checked = radio.value === value;
          });
        } else if (input !== document.activeElement || !drafts.has(f.key)) {
          const text = String(shown(value));
          if (input.value !== text) input.value = text;
        }
        const status = row.querySelector(".field-status");
        const source = drafts.has(f.key) ? "draft" : f.source;
        status.textContent = source === "draft" ? "sin guardar…" : source === "captured" ? "✓ guardado"
          : source === "wisphub" ? "en WispHub" : f.present_in_wisphub ? "en WispHub" : f.present_in_wisphub === false ? "falta" : "";
        status.dataset.source = source || (f.present_in_wisphub ? "wisphub" : f.present_in_wisphub === false ? "missing" : "");
        row.querySelector(".field-error").textContent = errors.get(f.key) || "";
      }
      const items = guide.querySelector(".items");
      items.replaceChildren(...(step.items || []).map((item) => {
        const li = el("li", item.ok ? "ok" : "missing", `${item.ok ? "✓" : "✗"} ${item.label}`);
        if (item.note) li.append(el("span", "muted", ` · ${item.note}`));
        return li;
      }));
      const raised = new Set(progress.answers.objections_raised || []);
      guide.querySelectorAll(".objection").forEach((button) => {
        button.setAttribute("aria-pressed", String(raised.has(button.dataset.id)));
        button.classList.toggle("open", button.dataset.id === shownAnswer);
      });
      const answer = guide.querySelector(".objection-answer");
      const open = script.objections.find((o) => o.id === shownAnswer);
      answer.replaceChildren();
      answer.hidden = !open;
      if (open) answer.append(el("strong", null, `${open.label}: `), el("span", null, plain(open.answer)));
      drawTotals(guide.querySelector(".totals"));
      guide.querySelector(".checklist ul").replaceChildren(...script.checklist.map((c) => el("li", c.ok ? "ok" : "missing", `${c.ok ? "✓" : "✗"} ${c.label}`)));
    }

    function objectionBar() {
      const bar = el("div", "objections");
      bar.append(el("span", "objections-title", "Objeciones"));
      script.objections.forEach((o) => {
        const button = el("button", "objection", o.label);
        button.type = "button";
        button.dataset.id = o.id;
        if (o.key) button.append(kbd(o.key));
        button.addEventListener("click", () => raise(o));
        bar.append(button);
      });
      return bar;
    }

    // The lines shown add up to "Paga hoy": the chosen contract's lines, or before a contract
    // is chosen the parts both contracts share. An amount that is part of a line (the guarantee
    // held out of the installation) is shown under that line, not added as another one.
    function drawTotals(box) {
      const q = script.quote;
      box.replaceChildren();
      if (!q) return;
      const lines = el("dl", "quote");
      const shown = q.due_today ? q.due_today_lines : q.shared_lines;
      const parts = q.guarantee_held ? [q.guarantee_held] : [];
      for (const line of shown) {
        lines.append(el("dt", null, line.label), el("dd", null, line.text));
        for (const part of parts.filter((p) => p.part_of === line.id)) {
          const dt = el("dt", "part", `↳ ${part.label}`);
          const dd = el("dd", "part", part.text);
          dt.dataset.f = dd.dataset.f = part.id;
          lines.append(dt, dd);
        }
      }
      box.append(lines);
      const due = el("p", "due");
      due.dataset.f = "due-today";
      const by = q.due_today_by_contract || {};
      due.textContent = q.due_today ? `Paga hoy: ${q.due_today.text}`
        : by["12m"] && by.open ? `Paga hoy: ${by["12m"].text} a 12 meses o ${by.open.text} indefinido (elija el contrato)`
        : "Paga hoy: elija el contrato";
      box.append(due);
      if (q.monthly) box.append(el("p", "monthly", `Mensualidad: ${q.monthly.text}`));
      if (q.promotion) box.append(el("p", "promo", `Promoción: ${q.promotion.name} (${q.promotion.starts} a ${q.promotion.ends})`));
    }

    // Returns true when the key was for the guide.
    function key(event, typing, objectionKeys) {
      if (!script) return false;
      if ((event.key === "ArrowRight" || event.key === "ArrowLeft") && (event.altKey || !typing)) {
        go(event.key === "ArrowRight" ? 1 : -1);
        return true;
      }
      if (objectionKeys && !typing && !event.altKey && !event.ctrlKey && !event.metaKey) {
        const objection = script.objections.find((o) => o.key === event.key);
        if (objection) {
          raise(objection);
          return true;
        }
      }
      return false;
    }

    function resume() {
      for (const k of [...drafts.keys()]) saveField(k);
      load();
    }

    // What the write-back did (uploads, activation, services) changes the record and the
    // checklist: fetch the script again when one of this call's operations settles.
    const SETTLED = new Set(["done", "verified", "failed"]);
    document.addEventListener("screenpop:message", (event) => {
      const msg = event.detail;
      if (!root.isConnected || !msg || msg.type !== "operation" || msg.call_id !== callId) return;
      if (SETTLED.has(msg.state)) load();
    });

    load();
    return { apply, key, resume, reload: load, answers: () => progress.answers };
  }

  return { create };
})();
