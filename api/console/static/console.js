// Anxin console: the live board follows the API's alarm stream (server-sent events, resumed
// by the browser with Last-Event-ID) and asks htmx to fetch the board again on each event;
// a new or more severe alarm also sounds a tone (WebAudio, once the user has turned sound on,
// as browsers allow audio only after a click). The resolve form opens in a dialog.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  var audio = null;

  function beep(severity) {
    var live = document.getElementById("live");
    if (live) live.dataset.sounds = String(Number(live.dataset.sounds || 0) + 1);
    if (!audio || audio.state !== "running") return;
    var pitch = severity >= 4 ? 988 : 784;
    var repeats = severity >= 4 ? 3 : 2;
    for (var i = 0; i < repeats; i++) {
      var start = audio.currentTime + i * 0.3;
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = pitch;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.3, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.22);
      osc.connect(gain).connect(audio.destination);
      osc.start(start);
      osc.stop(start + 0.25);
    }
  }

  function setStatus(state) {
    var badge = document.getElementById("live-status");
    if (!badge) return;
    badge.dataset.state = state;
    badge.textContent = badge.dataset["text" + state.charAt(0).toUpperCase() + state.slice(1)];
  }

  function followStream(live) {
    var source = new EventSource(live.dataset.stream);
    source.onopen = function () { setStatus("live"); };
    source.onerror = function () { setStatus("lost"); };
    source.addEventListener("alarm", function (message) {
      var event = JSON.parse(message.data);
      if (event.action === "raised" || event.action === "severity_raised") {
        beep(event.alarm.severity);
      }
      htmx.trigger(live, "anxin:alarm");
    });
  }

  function soundToggle() {
    var button = document.getElementById("sound-toggle");
    if (!button) return;
    button.addEventListener("click", function () {
      if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
      var on = button.getAttribute("aria-pressed") !== "true";
      if (on) audio.resume(); else audio.suspend();
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? button.dataset.textOn : button.dataset.textOff;
    });
  }

  function resolveDialog() {
    var dialog = document.getElementById("resolve-dialog");
    if (!dialog) return;
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail.target.id === "resolve-body") dialog.showModal();
    });
    document.body.addEventListener("htmx:afterRequest", function (e) {
      if (dialog.contains(e.detail.elt) && e.detail.successful) dialog.close();
    });
    dialog.addEventListener("click", function (e) {
      if (e.target.hasAttribute("data-close-dialog")) dialog.close();
    });
  }

  ready(function () {
    var live = document.getElementById("live");
    if (live && window.EventSource) followStream(live);
    soundToggle();
    resolveDialog();
  });
})();
