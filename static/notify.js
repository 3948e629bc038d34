// Optional browser notifications and a sound for critical arrivals and for alerts
// addressed to me. Both are off until the staff member switches them on in the header
// (the browser asks for notification permission only then, after that click); the
// choice is remembered in localStorage. console.js re-dispatches each live event as a
// "live-event" DOM event; for the kinds that may deserve a notice we ask the server
// (/live/notices/ID, per person) and show what it says: never the customer's words.
(function () {
  "use strict";
  var KEYS = { notify: "cm.notify", sound: "cm.sound" };
  var WORTH_ASKING = ["mention.created", "alert.sent"];
  var notifyButton = document.getElementById("notify-toggle");
  var soundButton = document.getElementById("sound-toggle");
  if (!notifyButton || !soundButton) return;
  var canNotify = "Notification" in window;
  var audio = null;
  var asked = {};

  function stored(key) { try { return window.localStorage.getItem(key) === "on"; } catch (e) { return false; } }
  function store(key, on) { try { window.localStorage.setItem(key, on ? "on" : "off"); } catch (e) { /* private mode */ } }
  function notifyOn() { return canNotify && stored(KEYS.notify) && Notification.permission === "granted"; }
  function soundOn() { return stored(KEYS.sound); }

  function show() {
    var n = notifyOn(), s = soundOn();
    notifyButton.setAttribute("aria-pressed", String(n));
    notifyButton.textContent = "Notifications " + (n ? "on" : "off");
    soundButton.setAttribute("aria-pressed", String(s));
    soundButton.textContent = "Sound " + (s ? "on" : "off");
  }

  // A short beep made here (WebAudio), nothing fetched. The "console-sound" DOM event
  // says it played, for whoever listens (the browser tests do).
  function beep(reason) {
    document.dispatchEvent(new CustomEvent("console-sound", { detail: { reason: reason } }));
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      audio = audio || new Context();
      var osc = audio.createOscillator(), gain = audio.createGain(), t = audio.currentTime;
      osc.type = "sine";
      osc.frequency.value = reason === "alert" ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.3);
    } catch (e) { /* no audio device: the notification still shows */ }
  }

  notifyButton.hidden = !canNotify;
  soundButton.hidden = false;
  show();
  notifyButton.addEventListener("click", function () {
    if (notifyOn()) { store(KEYS.notify, false); show(); return; }
    Promise.resolve(Notification.requestPermission()).then(function (permission) {
      store(KEYS.notify, permission === "granted");
      notifyButton.title = permission === "denied" ? "Notifications are blocked in this browser's site settings" : "";
      show();
    });
  });
  soundButton.addEventListener("click", function () {
    var on = !soundOn();
    store(KEYS.sound, on);
    if (on) beep("switched-on"); // hear what it sounds like (and unlock audio on this click)
    show();
  });

  function tell(id, notice) {
    if (!notice || !notice.notify) return;
    if (soundOn()) beep(notice.kind);
    if (!notifyOn()) return;
    var note = new Notification(notice.title, { body: notice.body, tag: "cm-" + id });
    note.onclick = function () { window.focus(); window.location.href = notice.url; };
  }

  document.addEventListener("live-event", function (ev) {
    var data = ev.detail || {};
    if (WORTH_ASKING.indexOf(data.kind) < 0 || asked[data.id]) return;
    if (!notifyOn() && !soundOn()) return;
    asked[data.id] = true;
    fetch("/live/notices/" + encodeURIComponent(data.id), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (notice) { tell(data.id, notice); })
      .catch(function (e) { console.warn(e); });
  });
})();
