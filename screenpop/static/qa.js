// QA desk: jump the player to an item's minute, and fill an item's minute from the player.
"use strict";
(function () {
  function clock(seconds) {
    const total = Math.floor(seconds);
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }
  document.addEventListener("click", function (event) {
    const player = document.getElementById("player");
    const seek = event.target.closest(".qa-seek");
    if (seek && player) {
      player.currentTime = Number(seek.dataset.seconds);
      player.play().catch(function () { /* the browser may refuse autoplay: the position is set */ });
      return;
    }
    const now = event.target.closest(".qa-now");
    if (now && player) {
      const field = document.querySelector('[name="' + now.dataset.target + '"]');
      if (field) field.value = clock(player.currentTime);
    }
  });
})();
