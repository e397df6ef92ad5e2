// Campaign pages: the record filter's count while the form is edited (/api/campaigns/count),
// and the do-not-call CSV import with a progress bar (upload, then the server's NDJSON lines
// while it stores the numbers) and its summary. Data goes into the page through textContent.
"use strict";

(() => {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function text(tag, value, className) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    node.textContent = value;
    return node;
  }

  // --- campaign form: how many records the filter picks -----------------------------------
  const form = document.getElementById("campaign-form");
  const countEl = document.getElementById("record-count");
  if (form && countEl) {
    let timer = null;
    let asked = 0;
    const filterFields = ["f_zone", "f_min_age", "f_max_age", "f_disposition", "f_never", "f_missing"];
    async function recount() {
      const params = new URLSearchParams();
      const data = new FormData(form);
      for (const name of filterFields) for (const value of data.getAll(name)) params.append(name, value);
      const mine = ++asked;
      countEl.textContent = "Contando…";
      try {
        const response = await fetch(`/api/campaigns/count?${params}`, { cache: "no-store" });
        const body = await response.json();
        if (mine !== asked) return;
        if (!response.ok) {
          countEl.textContent = body.errors ? Object.values(body.errors).join(" ") : (body.message || "No se pudo contar.");
          countEl.dataset.count = "";
          return;
        }
        countEl.dataset.count = String(body.count);
        countEl.textContent = `El filtro elige ${body.count} de ${body.pending} preinstalaciones pendientes.`;
      } catch (err) {
        if (mine === asked) countEl.textContent = "No se pudo contar; revise la conexión.";
      }
    }
    form.addEventListener("input", (event) => {
      if (!filterFields.includes(event.target.name)) return;
      clearTimeout(timer);
      timer = setTimeout(recount, 250);
    });
    form.addEventListener("change", (event) => {
      if (filterFields.includes(event.target.name)) { clearTimeout(timer); recount(); }
    });
    recount();
  }

  // --- do-not-call import ---------------------------------------------------------------------
  const importForm = document.getElementById("dnc-import-form");
  if (importForm) {
    const box = document.getElementById("import-progress");
    const bar = document.getElementById("import-bar");
    const stage = document.getElementById("import-stage");
    const summaryEl = document.getElementById("import-summary");
    function showSummary(s) {
      const list = document.createElement("ul");
      for (const [label, value] of [["Agregados", s.added], ["Ya estaban", s.already_there],
        ["Repetidos en el archivo", s.repeated_in_file], ["Registros de campañas bloqueados", s.leads_blocked],
        ["Filas con error", s.bad_rows_total]]) {
        const li = text("li", `${label}: `);
        li.append(text("strong", String(value)));
        list.append(li);
      }
      const nodes = [list];
      if (s.bad_rows.length) {
        const bad = document.createElement("ul");
        bad.className = "cmp-bad-rows";
        for (const row of s.bad_rows) bad.append(text("li", `Línea ${row.line}: «${row.value}» — ${row.reason}`));
        if (s.bad_rows_total > s.bad_rows.length) bad.append(text("li", `… y ${s.bad_rows_total - s.bad_rows.length} más`));
        nodes.push(bad);
      }
      summaryEl.replaceChildren(...nodes);
      summaryEl.hidden = false;
    }
    importForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const xhr = new XMLHttpRequest();
      let seen = 0;
      let buffer = "";
      box.hidden = false;
      bar.value = 0;
      stage.textContent = "Subiendo el archivo…";
      summaryEl.hidden = true;
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) bar.value = Math.round(50 * e.loaded / e.total);
      };
      xhr.upload.onload = () => { bar.value = 50; stage.textContent = "Revisando el archivo…"; };
      xhr.onprogress = () => {
        buffer += xhr.responseText.slice(seen);
        seen = xhr.responseText.length;
        const lines = buffer.split("\n");
        buffer = lines.pop();
        for (const line of lines) {
          if (!line.trim()) continue;
          let msg;
          try { msg = JSON.parse(line); } catch (err) { continue; }
          if (msg.stage === "store") {
            bar.value = msg.total ? 50 + Math.round(50 * msg.done / msg.total) : 100;
            stage.textContent = `Guardando números: ${msg.done} de ${msg.total}`;
          } else if (msg.stage === "error") {
            stage.textContent = msg.message;
          } else if (msg.stage === "done") {
            bar.value = 100;
            stage.textContent = "Importación terminada.";
            showSummary(msg.summary);
          }
        }
      };
      xhr.onload = () => {
        xhr.onprogress();
        if (xhr.status !== 200) {
          let message = "No se pudo importar el archivo.";
          try { message = JSON.parse(xhr.responseText).message || message; } catch (err) { /* not JSON */ }
          stage.textContent = message;
        }
      };
      xhr.onerror = () => { stage.textContent = "Se perdió la conexión durante la importación; intente de nuevo."; };
      xhr.open("POST", "/dnc/import");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Accept", "application/x-ndjson");
      xhr.send(new FormData(importForm));
    });
  }
})();
