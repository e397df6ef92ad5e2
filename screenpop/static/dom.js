// The pages' one set of element helpers (loaded first by every page). Text goes in through
// textContent only, never innerHTML.
"use strict";

window.ScreenpopDom = (() => {
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function kbd(text) {
    return el("kbd", null, text);
  }

  // The element of a template copy marked data-f="name".
  function field(root, name) {
    return root.querySelector(`[data-f="${name}"]`);
  }

  // A fresh copy of <template id="...">.
  function clone(id) {
    return document.getElementById(id).content.cloneNode(true);
  }

  // A duration as the pages show it: 04:07, or 1:02:03 from an hour on.
  function clock(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const h = Math.floor(total / 3600);
    const mm = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
    const ss = String(total % 60).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  return { el, kbd, field, clone, clock };
})();
