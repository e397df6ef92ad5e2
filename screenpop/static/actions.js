// WispHub actions on the pop: activate, preview, documents (drag-and-drop, progress), data,
// services and the state of each operation. Follows the shown call through "screenpop:call".
(() => {
  "use strict";
  const MAX_BYTES = 10 * 1024 * 1024;
  const STATE_TEXT = { done: "hecho", verified: "hecho", pending: "pendiente", sending: "enviando…",
                       unknown: "comprobando…", failed: "falló" };
  const views = new Map();  // call id → {root, csrf, ops: Map, timer}

  const $ = (root, sel) => root.querySelector(sel);
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };

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
      headers: method === "POST" ? { "X-CSRF-Token": view.csrf } : {},
    }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => ({})) }));
  }

  function showError(view, text) { $(view.root, ".wh-error").textContent = text || ""; }

  function drawOp(view, op) {
    view.ops.set(op.op, op);
    let item = view.root.querySelector(`.wh-op[data-op="${CSS.escape(op.op)}"]`);
    if (!item) {
      item = el("li", "wh-op");
      item.dataset.op = op.op;
      $(view.root, ".wh-ops").append(item);
    }
    item.dataset.state = op.state;
    item.replaceChildren(el("span", "wh-label", op.label), el("span", "wh-chip", STATE_TEXT[op.state] || op.state));
    let detail = "";
    if (op.state === "done" || op.state === "verified") detail = op.reference || "";
    else if (op.state === "failed") detail = `${op.reason || ""}${op.hint ? " — " + op.hint : ""}`;
    else if (op.task_id) detail = `tarea ${op.task_id} en WispHub`;
    else if (op.queued) detail = `${op.reason || ""}${op.hint ? " — " + op.hint : ""}`;
    if (detail) item.append(el("span", "wh-detail", detail));
    if (op.state === "failed" || (op.queued && op.state === "pending")) {
      const retry = el("button", "wh-retry", "Reintentar");
      retry.type = "button";
      retry.addEventListener("click", async () => {
        retry.disabled = true;
        const res = await api(view, "POST", `operations/${encodeURIComponent(op.op)}/retry`);
        if (res.body.operation) drawOp(view, res.body.operation); else showError(view, res.body.message);
      });
      item.append(retry);
    }
    if (op.kind === "activation") {
      $(view.root, ".wh-activate").textContent = (op.state === "done" || op.state === "verified")
        ? "Preinstalación activada" : "Activar preinstalación";
    }
    schedulePoll(view);
  }

  function busy(view) {
    return [...view.ops.values()].some((op) => ["pending", "sending", "unknown"].includes(op.state));
  }

  function schedulePoll(view) {
    clearTimeout(view.timer);
    if (busy(view)) view.timer = setTimeout(() => refresh(view), 1500);
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
      button.disabled = button.classList.contains("wh-activate") ? !view.ready : false;
    }
  }

  async function preview(view) {
    const box = $(view.root, ".wh-preview-box");
    const res = await api(view, "POST", "activate?dry_run=1");
    if (!res.body.fields) { showError(view, res.body.message); return; }
    const list = $(view.root, ".wh-preview-fields");
    list.replaceChildren();
    Object.entries(res.body.fields).forEach(([k, v]) => list.append(el("dt", "", k), el("dd", "", v)));
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
    const view = { root, callId, csrf, ops: new Map(), timer: null, ready: false };
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
    const a = answers || {};
    view.ready = a.coverage === true && a.wants_to_continue === true;
    $(root, ".wh-activate").disabled = !view.ready;
    $(root, ".wh-preview").disabled = !view.ready;
    $(root, ".wh-why").hidden = view.ready;
  });

  // Pushed operation states, when the page forwards them (see docs/websocket.md).
  document.addEventListener("screenpop:message", (event) => {
    const msg = event.detail;
    if (!msg || msg.type !== "operation") return;
    const view = views.get(msg.call_id);
    if (view) drawOp(view, msg);
  });
})();
