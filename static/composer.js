// The reply composer: the template-likeness guard live as staff type (debounced), the X
// character counter, highlights, send with an idempotency key, delivery status.
// Text from the server is only ever set with textContent (never innerHTML).
(function () {
  "use strict";
  var root = document.getElementById("reply-composer");
  if (!root || !root.hasAttribute("data-case-id")) return;
  var caseId = root.getAttribute("data-case-id");
  var csrf = root.getAttribute("data-csrf");
  var isLead = root.getAttribute("data-lead") === "true";
  var body = document.getElementById("reply-body");
  var channel = document.getElementById("reply-channel");
  var preview = document.getElementById("reply-preview");
  var reasons = document.getElementById("reply-reasons");
  var notes = document.getElementById("reply-notes");
  var personal = document.getElementById("reply-personal");
  var xCount = document.getElementById("reply-x-count");
  var moveDm = document.getElementById("reply-move-dm");
  var override = document.getElementById("reply-override");
  var overrideReason = document.getElementById("reply-override-reason");
  var sendButton = document.getElementById("reply-send");
  var status = document.getElementById("reply-status");
  var timer = null, seq = 0, lastCheck = null, sending = false;

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return "k-" + Date.now() + "-" + Math.random().toString(36).slice(2);
  }
  var key = newKey(); // one per reply: a double click or a retry sends once

  function post(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        return { status: r.status, body: j };
      });
    });
  }

  function clear(el) { while (el && el.firstChild) el.removeChild(el.firstChild); }

  function list(el, items) {
    clear(el);
    (items || []).forEach(function (t) {
      var li = document.createElement("li");
      li.textContent = t;
      el.appendChild(li);
    });
  }

  function renderPreview(text, highlights) {
    clear(preview);
    var pos = 0;
    (highlights || []).slice().sort(function (a, b) { return a.start - b.start; })
      .forEach(function (h) {
        if (h.start < pos) return; // overlapping: the first wins
        if (h.start > pos) preview.appendChild(document.createTextNode(text.slice(pos, h.start)));
        var mark = document.createElement("mark");
        mark.className = "hl-" + h.kind;
        mark.title = h.message;
        mark.setAttribute("data-kind", h.kind);
        mark.textContent = text.slice(h.start, h.end);
        preview.appendChild(mark);
        pos = h.end;
      });
    if (pos < text.length) preview.appendChild(document.createTextNode(text.slice(pos)));
  }

  function show(result, text) {
    lastCheck = result;
    personal.textContent = "personal " + result.personal + "/100" +
      (result.blocked ? " (reads like a template)" : "");
    personal.className = "personal" + (result.blocked ? " bad" : "");
    renderPreview(text, result.highlights);
    list(reasons, result.reasons);
    list(notes, result.notes);
    if (result.x_limit) {
      xCount.hidden = false;
      xCount.textContent = result.x_length + "/" + result.x_limit;
      xCount.className = "x-count" + (result.too_long ? " over" : "");
    } else {
      xCount.hidden = true;
    }
    moveDm.hidden = !(result.suggest_dm && channel.value === "x");
    if (override) override.hidden = !(isLead && result.blocked);
  }

  function check() {
    var text = body.value;
    var mine = ++seq;
    if (!text.trim()) { clear(preview); list(reasons, []); list(notes, []); return Promise.resolve(null); }
    return post("/cases/" + caseId + "/composer/check", { text: text, channel: channel.value })
      .then(function (r) {
        if (mine !== seq || r.status !== 200) return null; // a newer check is on its way
        show(r.body, text);
        return r.body;
      });
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, 400);
  }

  function poll(replyId, tries) {
    fetch("/composer/replies/" + replyId, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (reply) {
        if (reply.state === "sent") {
          status.className = "reply-status sent";
          status.textContent = "Delivered (" + reply.channel + ", " + reply.external_id + ").";
        } else if (reply.state === "failed") {
          status.className = "reply-status failed";
          status.textContent = "Not delivered: " + (reply.error || "failed") + ".";
        } else {
          status.textContent = "Sending… (" + reply.state + ", attempt " + reply.attempts + ")";
          if (tries < 600) setTimeout(function () { poll(replyId, tries + 1); }, 1000);
        }
      })
      .catch(function () { setTimeout(function () { poll(replyId, tries + 1); }, 2000); });
  }

  function send() {
    if (sending) return;
    sending = true;
    sendButton.disabled = true;
    var payload = { body: body.value, channel: channel.value, idempotency_key: key };
    if (overrideReason && overrideReason.value.trim()) payload.override_reason = overrideReason.value;
    status.className = "reply-status";
    status.textContent = "Checking…";
    post("/cases/" + caseId + "/composer/send", payload).then(function (r) {
      sending = false;
      if (r.status === 202) {
        status.textContent = "Queued for sending.";
        body.disabled = true;
        key = newKey();
        poll(r.body.id, 0);
        return;
      }
      sendButton.disabled = false;
      if (r.status === 422 && r.body.check) show(r.body.check, body.value);
      status.className = "reply-status failed";
      status.textContent = r.body.detail ? String(r.body.detail) : "Not sent (" + r.status + ").";
    }).catch(function () {
      sending = false;
      sendButton.disabled = false;
      status.textContent = "Network trouble: try again (it will not be sent twice).";
    });
  }

  body.addEventListener("input", function () { key = newKey(); schedule(); });
  channel.addEventListener("change", function () { key = newKey(); schedule(); });
  moveDm.addEventListener("click", function () {
    channel.value = "x_dm";
    key = newKey();
    check();
  });
  sendButton.addEventListener("click", send);
})();
