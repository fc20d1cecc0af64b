// Live parts of the console: an element with data-live="URL" is refreshed from a server-sent event
// stream at URL (each event's data is the element's new HTML, rendered by the server). A form with
// data-swap="#id" posts by fetch() and puts the answer's HTML into that element. No build step.
(function () {
  function live(el) {
    var badge = document.getElementById(el.dataset.badge || "live-badge");
    var source = new EventSource(el.dataset.live);
    source.onmessage = function (e) {
      el.innerHTML = e.data;
      el.dataset.updates = String(Number(el.dataset.updates || "0") + 1);
      if (badge) badge.classList.remove("off");
    };
    source.onerror = function () { if (badge) badge.classList.add("off"); };
  }
  function swap(form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var target = document.querySelector(form.dataset.swap);
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                           headers: { "HX-Request": "true" } })
        .then(function (r) { return r.text(); })
        .then(function (html) { target.innerHTML = html; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(live);
    document.querySelectorAll("form[data-swap]").forEach(swap);
  });
})();
