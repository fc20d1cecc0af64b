// Live parts of the console: an element with data-live="URL" is refreshed from a server-sent event
// stream at URL (each event's data is the element's new HTML, rendered by the server). A form with
// data-swap="#id" posts by fetch() and puts the answer's HTML into that element. Review buttons and
// forms with data-api post JSON to the REST API with the console's session cookie (the API does the
// work and the audit; the page only shows its answer). No build step.
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
  function postJSON(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", body: JSON.stringify(body),
                        headers: { "Content-Type": "application/json" } })
      .then(function (r) {
        return r.json().then(function (j) { return { ok: r.ok, status: r.status, body: j }; },
                             function () { return { ok: r.ok, status: r.status, body: {} }; });
      });
  }
  function say(el, res, text) {
    el.dataset.status = String(res.status);
    el.className = res.ok ? "ok" : "bad";
    el.textContent = res.ok ? text : (res.body.detail || res.body.title || ("HTTP " + res.status));
  }
  function pairs(text) {  // "KEY=VALUE" lines → {KEY: VALUE}; whole numbers become numbers
    var out = {};
    (text || "").split(/\n|;/).forEach(function (line) {
      var i = line.indexOf("=");
      if (i < 1) return;
      var k = line.slice(0, i).trim(), v = line.slice(i + 1).trim();
      out[k] = /^\d{1,15}$/.test(v) ? Number(v) : v;
    });
    return out;
  }
  function strings(obj) { Object.keys(obj).forEach(function (k) { obj[k] = String(obj[k]); }); return obj; }
  function review(button) {
    button.addEventListener("click", function () {
      var box = document.getElementById("review-actions");
      var result = document.getElementById("review-result");
      var body = JSON.parse(box.dataset.filters || "{}");
      Object.keys(body).forEach(function (k) { if (!body[k]) delete body[k]; });
      if (button.dataset.mode === "selected") {
        body.refs = Array.prototype.map.call(document.querySelectorAll("#review input.pick:checked"),
                                             function (c) { return c.value; });
        if (!body.refs.length) { result.textContent = result.dataset.none; return; }
      } else if (button.dataset.mode === "sample") {
        body.sample = Number(document.getElementById("sample-size").value || "1");
      } else { body.all = true; }
      if (button.dataset.review === "reject") {
        body.reason = document.getElementById("reject-reason").value.trim();
        if (!body.reason) { result.textContent = result.dataset.needReason; return; }
      }
      postJSON("/v1/review/" + button.dataset.review, body).then(function (res) {
        var done = res.ok ? res.body.decided : [];
        say(result, res, button.textContent + " — " + result.dataset.done + ": " + done.join(", "));
        result.dataset.decided = done.join(" ");
        done.forEach(function (ref) {
          var row = document.querySelector('#review tr[data-ref="' + ref + '"]');
          if (!row) return;
          row.classList.add("decided");
          row.dataset.decision = button.dataset.review;
          row.querySelector("input.pick").disabled = true;
        });
      });
    });
  }
  function apiForm(form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = form.elements, url = form.dataset.api, body, result;
      if (form.dataset.kind === "pause") {
        body = { reason: f.reason.value || null };
        body[f.scope.value] = f.value.value.trim();
        result = document.getElementById("pause-result");
      } else {
        result = document.getElementById("account-result");
        body = { credentials: strings(pairs(f.credentials.value)), test: f.test.checked };
        if (form.dataset.kind === "connect") {
          body.marketplace = f.marketplace.value;
          body.settings = pairs(f.settings.value);
        } else { url = url.replace("{marketplace}", f.marketplace.value); }
      }
      postJSON(url, body).then(function (res) {
        say(result, res, "OK");
        if (res.ok) window.location.reload();
      });
    });
  }
  function resume(button) {
    button.addEventListener("click", function () {
      var body = {};
      if (button.dataset.kind) body.kind = button.dataset.kind; else body.partner = button.dataset.partner;
      postJSON("/v1/jobs/resume", body).then(function (res) {
        say(document.getElementById("pause-result"), res, "OK");
        if (res.ok) window.location.reload();
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(live);
    document.querySelectorAll("form[data-swap]").forEach(swap);
    document.querySelectorAll("button[data-review]").forEach(review);
    document.querySelectorAll("form.api-form").forEach(apiForm);
    document.querySelectorAll("#pauses button.resume").forEach(resume);
  });
})();
