// WispHub actions on the pop: activate, preview, documents (drag-and-drop, progress), data,
// services and the state of each operation. Follows the shown call through "screenpop:call";
// operation states arrive as pushed `operation` messages (docs/websocket.md), read once from the
// operations route when a call is first shown and after a reconnect — never polled.
(() => {
  "use strict";
  const MAX_BYTES = 10 * 1024 * 1024;
  const STATE_TEXT = { done: "hecho", verified: "hecho", pending: "pendiente", sending: "enviando…",
                       unknown: "comprobando…", failed: "falló", manual: "hágalo en WispHub" };
  const views = new Map();  // call id → {root, csrf, ops: Map, ready}

  const $ = (root, sel) => root.querySelector(sel);
  const { el } = window.ScreenpopDom;

  async function sniff(file) {
    const b = new Uint8Array(await file.slice(0, 16).arrayBuffer());
    const ascii = (from, to) => String.fromCharCode(...b.slice(from, to));
    if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image";
    if (b[0] === 0x89 && ascii(1, 4) === "PNG") return "image";
    if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image";
    if (ascii(4, 8) === "ftyp") return "heic";
    if (ascii(0, 5) === "%PDF-") return "pdf";
    return null;
  }

  function api(view, method, path, body) {
    return fetch(`/api/calls/${encodeURIComponent(view.callId)}/${path}`, {
      method, body, credentials: "same-origin",
      headers: method !== "POST" ? {} : typeof body === "string"
        ? { "X-CSRF-Token": view.csrf, "Content-Type": "application/json" } : { "X-CSRF-Token": view.csrf },
    }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => ({})) }));
  }

  function showError(view, text) { $(view.root, ".wh-error").textContent = text || ""; }

  function button(text, cls, onClick) {
    const node = el("button", cls, text);
    node.type = "button";
    node.addEventListener("click", async () => {
      node.disabled = true;
      try { await onClick(); } finally { node.disabled = false; }
    });
    return node;
  }

  async function opAction(view, op, path, body) {
    const res = await api(view, "POST", `operations/${encodeURIComponent(op.op)}/${path}`,
                          body === undefined ? undefined : JSON.stringify(body));
    if (res.body.operation) drawOp(view, res.body.operation); else showError(view, res.body.message);
  }

  function drawOp(view, op) {
    const known = view.ops.get(op.op);
    if (known && known.updated_at > op.updated_at) return;  // an older state arriving late
    view.ops.set(op.op, op);
    let item = view.root.querySelector(`.wh-op[data-op="${CSS.escape(op.op)}"]`);
    if (!item) {
      item = el("li", "wh-op");
      item.dataset.op = op.op;
      $(view.root, ".wh-ops").append(item);
    }
    item.dataset.state = op.state;
    item.dataset.needsPerson = op.needs_person ? "1" : "";
    item.replaceChildren(el("span", "wh-label", op.label), el("span", "wh-chip", STATE_TEXT[op.state] || op.state));
    let detail = "";
    if (op.state === "done" || op.state === "verified") detail = op.reference || "";
    else if (op.state === "sending") detail = "WispHub lo está procesando…";
    else if (op.reason || op.hint) detail = `${op.reason || ""}${op.hint ? " — " + op.hint : ""}`;
    if (detail) item.append(el("span", "wh-detail", detail));
    if (op.needs_person) {
      item.append(button("Ya está en WispHub", "wh-resolve", () => opAction(view, op, "resolve", { done: true })));
    }
    if (op.retryable) {
      item.append(button("Reintentar", "wh-retry", () => opAction(view, op, "retry")));
    }
    if (op.kind === "activation") drawActivate(view);
  }

  function activated(view) {
    const op = view.ops.get("activation");
    return !!op && (op.state === "done" || op.state === "verified");
  }

  // What the agent still has to capture before WispHub can take the activation.
  function stillNeeded(answers) {
    const needed = [];
    if (answers.coverage !== true) needed.push("confirmar la cobertura");
    if (answers.wants_to_continue !== true) needed.push("que el cliente desee continuar");
    if (!answers.plan_id) needed.push("el plan");
    if (!answers.install_date) needed.push("la fecha de instalación");
    return needed;
  }

  function spanishList(items) {
    return items.length === 1 ? items[0] : `${items.slice(0, -1).join(", ")} y ${items[items.length - 1]}`;
  }

  function drawActivate(view) {
    const activate = $(view.root, ".wh-activate");
    if (activated(view)) {
      activate.textContent = "Preinstalación activada";
      activate.disabled = true;
    } else {
      activate.textContent = view.needed.length ? `Para activar falta ${spanishList(view.needed)}` : "Activar preinstalación";
      activate.disabled = !view.ready;
    }
    $(view.root, ".wh-preview").disabled = !view.ready;
  }

  async function refresh(view) {
    const res = await api(view, "GET", "operations");
    (res.body.operations || []).forEach((op) => drawOp(view, op));
  }

  async function run(view, button, path) {
    button.disabled = true;
    showError(view, "");
    try {
      const res = await api(view, "POST", path);
      if (res.body.operation) drawOp(view, res.body.operation);
      (res.body.operations || []).forEach((op) => drawOp(view, op));
      if (res.body.message) showError(view, res.body.message + (res.body.hint ? " " + res.body.hint : ""));
    } catch (err) {
      showError(view, "Sin conexión con el servidor; intente de nuevo.");
    } finally {
      if (button.classList.contains("wh-activate")) drawActivate(view); else button.disabled = false;
    }
  }

  async function preview(view) {
    const box = $(view.root, ".wh-preview-box");
    const res = await api(view, "POST", "activate?dry_run=1");
    if (!res.body.fields) { showError(view, res.body.message + (res.body.hint ? " " + res.body.hint : "")); return; }
    showError(view, "");
    const list = $(view.root, ".wh-preview-fields");
    list.replaceChildren();
    res.body.fields.forEach((row) => {
      const term = el("dt", row.changed ? "wh-changed" : "", row.label);
      const value = el("dd", row.changed ? "wh-changed" : "", row.value);
      list.append(term, value);
    });
    box.hidden = false;
  }

  async function upload(view, file) {
    const kind = $(view.root, ".wh-kind").value;
    const row = el("li", "wh-upload");
    const bar = el("progress");
    bar.max = 100; bar.value = 0;
    const size = file.size >= 1048576 ? `${(file.size / 1048576).toFixed(1)} MB` : `${Math.ceil(file.size / 1024)} KB`;
    const info = el("div", "", `${file.name} · ${size}`);
    const what = await sniff(file);
    let thumb = el("span", "wh-thumb", what === "pdf" ? "PDF" : what === "heic" ? "HEIC" : "?");
    if (what === "image") {  // a data: URL, which the page's CSP allows for images
      thumb = Object.assign(el("img"), { alt: "" });
      const reader = new FileReader();
      reader.onload = () => { thumb.src = reader.result; };
      reader.readAsDataURL(file);
    }
    info.append(bar);
    row.append(thumb, info);
    $(view.root, ".wh-uploads").append(row);
    if (!what) { info.append(el("p", "wh-error", "Solo imágenes (JPG, PNG, WebP, HEIC) y PDF.")); bar.remove(); return; }
    if (file.size > MAX_BYTES) { info.append(el("p", "wh-error", "Pesa más de 10 MB.")); bar.remove(); return; }
    const form = new FormData();
    form.append("kind", kind);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/calls/${encodeURIComponent(view.callId)}/documents`);
    xhr.setRequestHeader("X-CSRF-Token", view.csrf);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100); };
    xhr.onload = () => {
      bar.value = 100;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if (body.operation) drawOp(view, body.operation);
      else info.append(el("p", "wh-error", body.message || `Error ${xhr.status}`));
    };
    xhr.onerror = () => info.append(el("p", "wh-error", "Se cortó la conexión; intente de nuevo."));
    xhr.send(form);
  }

  function bind(root, callId, csrf) {
    const view = { root, callId, csrf, ops: new Map(), ready: false, needed: [] };
    $(root, ".wh-activate").addEventListener("click", (e) => run(view, e.currentTarget, "activate"));
    $(root, ".wh-preview").addEventListener("click", () => preview(view));
    $(root, ".wh-data").addEventListener("click", (e) => run(view, e.currentTarget, "data"));
    $(root, ".wh-services").addEventListener("click", (e) => run(view, e.currentTarget, "services"));
    const drop = $(root, ".wh-drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.dataset.over = "1"; });
    drop.addEventListener("dragleave", () => { drop.dataset.over = ""; });
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.dataset.over = "";
      [...e.dataTransfer.files].forEach((f) => upload(view, f));
    });
    $(root, ".wh-file").addEventListener("change", (e) => {
      [...e.target.files].forEach((f) => upload(view, f));
      e.target.value = "";
    });
    refresh(view);
    return view;
  }

  document.addEventListener("screenpop:call", (event) => {
    const { call_id: callId, answers, csrf } = event.detail || {};
    if (!callId) return;
    const article = document.querySelector(`article[data-call-id="${CSS.escape(callId)}"]`);
    const root = article && article.querySelector(".wh-actions");
    if (!root) return;
    let view = views.get(callId);
    if (!view || view.root !== root) {
      view = bind(root, callId, csrf);
      views.set(callId, view);
    }
    view.csrf = csrf || view.csrf;
    view.needed = stillNeeded(answers || {});
    view.ready = view.needed.length === 0;
    drawActivate(view);
  });

  // Pushed messages the page forwards (docs/websocket.md): operation states for every tab of
  // the agent; after a reconnect ("hello") what may have been missed is read once.
  document.addEventListener("screenpop:message", (event) => {
    const msg = event.detail;
    if (!msg) return;
    if (msg.type === "operation") {
      const view = views.get(msg.call_id);
      if (view) drawOp(view, msg);
    } else if (msg.type === "hello") {
      views.forEach((view) => { if (view.root.isConnected) refresh(view); });
    }
  });
})();
