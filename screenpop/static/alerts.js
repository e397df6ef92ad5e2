// Alerts for a pop the agent has not seen while this tab is hidden: a desktop notification
// (tag = call id, so several tabs of one browser show a single one), a generated ring tone and a
// flashing title. Permission is asked from a visible banner after sign-in (browsers only allow it
// from a click), which also unlocks audio.
"use strict";

window.ScreenpopAlerts = (() => {
  const RING_EVERY_MS = 3000;
  const FLASH_EVERY_MS = 1000;

  function create({ banner, onOpen }) {
    const notes = new Map(); // call_id -> Notification
    const baseTitle = document.title;
    let audio = null;
    let ringTimer = null;
    let flashTimer = null;
    let alerting = [];

    function supported() {
      return "Notification" in window;
    }

    function showBanner() {
      const text = banner.querySelector('[data-f="text"]');
      const button = banner.querySelector('[data-f="enable"]');
      if (!supported()) {
        banner.hidden = true;
        return;
      }
      const permission = Notification.permission;
      banner.hidden = permission === "granted";
      banner.dataset.permission = permission;
      if (permission === "denied") {
        text.textContent = "Los avisos de escritorio están bloqueados: permítalos para este sitio en la configuración del navegador, o mantenga esta pestaña visible.";
        button.hidden = true;
      }
    }

    function unlockAudio() {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      if (!audio) audio = new Context();
      if (audio.state === "suspended") audio.resume().catch(() => {});
    }

    // Two-tone ring (440 + 480 Hz, like a phone line), 1.2 s on.
    function ringOnce() {
      unlockAudio();
      if (!audio) return;
      const t = audio.currentTime;
      const gain = audio.createGain();
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.05);
      gain.gain.setValueAtTime(0.2, t + 1.1);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 1.2);
      gain.connect(audio.destination);
      for (const freq of [440, 480]) {
        const osc = audio.createOscillator();
        osc.frequency.value = freq;
        osc.connect(gain);
        osc.start(t);
        osc.stop(t + 1.25);
      }
    }

    function setRinging(on) {
      document.documentElement.dataset.ringing = on ? "on" : "off";
      if (on && !ringTimer) {
        ringOnce();
        ringTimer = setInterval(ringOnce, RING_EVERY_MS);
      } else if (!on && ringTimer) {
        clearInterval(ringTimer);
        ringTimer = null;
      }
    }

    function setFlashing(on) {
      if (on && !flashTimer) {
        let flip = false;
        flashTimer = setInterval(() => {
          flip = !flip;
          const first = alerting[0];
          document.title = flip && first ? `📞 ${first.title}` : baseTitle;
        }, FLASH_EVERY_MS);
      } else if (!on && flashTimer) {
        clearInterval(flashTimer);
        flashTimer = null;
        document.title = baseTitle;
      }
    }

    function notify(item) {
      if (notes.has(item.call_id) || !supported() || Notification.permission !== "granted") return;
      try {
        const note = new Notification(item.title, { body: item.body, tag: item.call_id, requireInteraction: true });
        note.onclick = () => {
          window.focus();
          note.close();
          onOpen(item.call_id);
        };
        notes.set(item.call_id, note);
      } catch (err) {
        /* some browsers only allow notifications from a service worker; ring + title remain */
      }
    }

    // `items`: the calls alerting now, [{call_id, title, body}].
    function update(items) {
      alerting = items;
      const live = new Set(items.map((item) => item.call_id));
      for (const [id, note] of notes) {
        if (!live.has(id)) {
          note.close();
          notes.delete(id);
        }
      }
      const hidden = document.visibilityState === "hidden";
      if (hidden) items.forEach(notify);
      setRinging(hidden && items.length > 0);
      setFlashing(hidden && items.length > 0);
    }

    banner.querySelector('[data-f="enable"]').addEventListener("click", async () => {
      unlockAudio();
      if (supported() && Notification.permission === "default") await Notification.requestPermission();
      showBanner();
    });
    document.addEventListener("pointerdown", unlockAudio, { once: true });
    document.addEventListener("keydown", unlockAudio, { once: true });
    showBanner();
    return { update };
  }

  return { create };
})();
