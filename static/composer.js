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
  var promiseBox = document.getElementById("reply-promises");
  var promiseList = document.getElementById("reply-promise-list");
  var ownerOptions = document.getElementById("promise-owner-options");
  var kindOptions = document.getElementById("promise-kind-options");
  var compOptions = document.getElementById("compensation-kind-options");
  var staffId = root.getAttribute("data-staff-id");
  var timezone = root.getAttribute("data-timezone") || "UTC";
  var timer = null, seq = 0, lastCheck = null, sending = false;
  // Staff edits to a suggested promise, kept across re-checks (keyed by the sentence).
  var edits = {};
  var shown = ""; // signature of the suggestions on screen
  var tracked = ""; // "2 promises now tracked." after a send
  var blockedShown = false; // the status line says the guard refused the last send

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

  // --- promises found in the draft: confirm, edit, or untick ---------------------------

  function signature(found) {
    return (found || []).map(function (p) { return p.kind + "|" + p.wording; }).join("\n");
  }

  function field(label, control) {
    var l = document.createElement("label");
    l.appendChild(document.createTextNode(label + " "));
    l.appendChild(control);
    return l;
  }

  function options(select, template, value) {
    if (template) select.appendChild(document.importNode(template.content, true));
    if (value !== undefined && value !== null) select.value = String(value);
  }

  function promiseItem(p) {
    var mine = edits[p.wording] || {};
    var li = document.createElement("li");
    li.className = "reply-promise";
    li.setAttribute("data-kind", p.kind);
    var head = document.createElement("label");
    var box = document.createElement("input");
    box.type = "checkbox";
    box.className = "promise-confirm";
    box.checked = mine.checked !== undefined ? mine.checked : true;
    head.appendChild(box);
    head.appendChild(document.createTextNode(" track this promise"));
    li.appendChild(head);
    var wording = document.createElement("input");
    wording.className = "promise-wording";
    wording.value = mine.wording || p.wording;
    wording.maxLength = 2000;
    li.appendChild(wording);
    var fields = document.createElement("div");
    fields.className = "promise-fields";
    var kind = document.createElement("select");
    kind.className = "promise-kind";
    options(kind, kindOptions, mine.kind || p.kind);
    var due = document.createElement("input");
    due.type = "datetime-local";
    due.className = "promise-due";
    due.value = mine.due || p.due_local;
    var owner = document.createElement("select");
    owner.className = "promise-owner";
    options(owner, ownerOptions, mine.owner || staffId);
    fields.appendChild(field("Kind", kind));
    fields.appendChild(field("Due (" + (p.timezone || timezone) + ")", due));
    fields.appendChild(field("Owner", owner));
    var target = document.createElement("input");
    target.type = "email";
    target.className = "promise-target";
    target.value = mine.target !== undefined ? mine.target : (p.target || "");
    target.placeholder = "customer's email";
    var targetLabel = field("Invite", target);
    fields.appendChild(targetLabel);
    var comp = document.createElement("select");
    comp.className = "promise-compensation";
    if (compOptions) options(comp, compOptions, mine.comp || "");
    var amount = document.createElement("input");
    amount.className = "promise-amount";
    amount.inputMode = "decimal";
    amount.size = 8;
    amount.value = mine.amount || "";
    var reason = document.createElement("input");
    reason.className = "promise-reason";
    reason.placeholder = "what it makes up for";
    reason.value = mine.reason || "";
    fields.appendChild(field("Compensation", comp));
    var amountLabel = field("Amount", amount);
    var reasonLabel = field("Reason", reason);
    fields.appendChild(amountLabel);
    fields.appendChild(reasonLabel);
    var note = document.createElement("span");
    note.className = p.due_guessed ? "guessed" : "phrase";
    note.textContent = p.due_guessed ? "no time in the text: usual delay assumed" : "“" + p.due_phrase + "”";
    fields.appendChild(note);
    li.appendChild(fields);
    function sync() {
      targetLabel.hidden = kind.value !== "slack_invite";
      amountLabel.hidden = reasonLabel.hidden = !comp.value;
      li.className = "reply-promise" + (box.checked ? "" : " off");
      li.setAttribute("data-kind", kind.value);
      edits[p.wording] = {
        checked: box.checked, wording: wording.value, kind: kind.value,
        due: due.value, owner: owner.value, target: target.value,
        comp: comp.value, amount: amount.value, reason: reason.value
      };
    }
    [box, wording, kind, due, owner, target, comp, amount, reason].forEach(function (el) {
      el.addEventListener("change", sync);
      el.addEventListener("input", sync);
    });
    li._promise = function () {
      if (!box.checked) return null;
      var out = { kind: kind.value, wording: wording.value, due_local: due.value,
                  timezone: p.timezone || timezone, owner_id: Number(owner.value) };
      if (kind.value === "slack_invite" && target.value.trim()) out.target = target.value.trim();
      if (comp.value) {
        out.compensation_kind = comp.value;
        if (amount.value.trim()) out.compensation_amount = amount.value.trim();
        out.compensation_reason = reason.value.trim();
      }
      return out;
    };
    sync();
    return li;
  }

  function showPromises(found) {
    if (!promiseList) return;
    clear(promiseList);
    (found || []).forEach(function (p) { promiseList.appendChild(promiseItem(p)); });
    promiseBox.hidden = !(found && found.length);
    shown = signature(found);
  }

  function confirmedPromises() {
    var out = [];
    if (!promiseList) return out;
    promiseList.querySelectorAll("li.reply-promise").forEach(function (li) {
      var p = li._promise ? li._promise() : null;
      if (p) out.push(p);
    });
    return out;
  }

  function clearBlocked() {
    if (!blockedShown) return;
    blockedShown = false;
    status.className = "reply-status";
    status.textContent = "";
  }

  function show(result, text) {
    lastCheck = result;
    if (!result.blocked) clearBlocked(); // the refusal was about an earlier draft
    personal.textContent = "personal " + result.personal + "/100" +
      (result.blocked ? " (reads like a template)" : "");
    personal.className = "personal" + (result.blocked ? " bad" : "");
    renderPreview(text, result.highlights);
    list(reasons, result.reasons);
    list(notes, result.notes);
    if (result.x_limit) {
      xCount.hidden = false;
      xCount.textContent = result.x_length + "/" + result.x_limit;
      xCount.className = "x-count" + (result.too_long ? " over" : "") +
        (result.has_url ? " costly" : "");
    } else {
      xCount.hidden = true;
    }
    moveDm.hidden = !(result.suggest_dm && channel.value === "x");
    if (override) override.hidden = !(isLead && result.blocked);
    if (result.promises) showPromises(result.promises);
  }

  function check() {
    var text = body.value;
    var mine = ++seq;
    if (!text.trim()) {
      clear(preview); list(reasons, []); list(notes, []); showPromises([]); clearBlocked();
      return Promise.resolve(null);
    }
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
          status.textContent = "Delivered (" + reply.channel + ", " + reply.external_id + ")." + tracked;
        } else if (reply.state === "failed") {
          status.className = "reply-status failed";
          status.textContent = "Not delivered: " + (reply.error || "failed") + "." + tracked;
        } else {
          status.textContent = (reply.state === "queued" ? "Queued for sending" : "Sending…") +
            " (attempt " + reply.attempts + ")." + tracked;
          if (tries < 600) setTimeout(function () { poll(replyId, tries + 1); }, 1000);
        }
      })
      .catch(function () { setTimeout(function () { poll(replyId, tries + 1); }, 2000); });
  }

  function send() {
    if (sending) return;
    if (timer) {
      // The text changed since the last check: check first, so every promise in what is
      // sent was on screen. If the check found other promises, staff review them first.
      clearTimeout(timer);
      timer = null;
      var before = shown;
      sendButton.disabled = true;
      check().then(function (result) {
        sendButton.disabled = false;
        if (result && signature(result.promises) !== before && (result.promises || []).length) {
          status.className = "reply-status";
          status.textContent = "Your reply makes promises: check them below, then send.";
          return;
        }
        send();
      }, function () { sendButton.disabled = false; });
      return;
    }
    sending = true;
    sendButton.disabled = true;
    var payload = { body: body.value, channel: channel.value, idempotency_key: key,
                    promises: confirmedPromises() };
    if (overrideReason && overrideReason.value.trim()) payload.override_reason = overrideReason.value;
    status.className = "reply-status";
    status.textContent = "Checking…";
    post("/cases/" + caseId + "/composer/send", payload).then(function (r) {
      sending = false;
      if (r.status === 202) {
        var made = (r.body.promise_ids || []).length;
        tracked = made ? " " + made + (made === 1 ? " promise" : " promises") + " now tracked." : "";
        status.textContent = "Queued for sending." + tracked;
        body.disabled = true;
        if (promiseBox) promiseBox.disabled = true;
        key = newKey();
        poll(r.body.id, 0);
        return;
      }
      sendButton.disabled = false;
      if (r.status === 422 && r.body.check) show(r.body.check, body.value);
      status.className = "reply-status failed";
      status.textContent = r.body.detail ? String(r.body.detail) : "Not sent (" + r.status + ").";
      blockedShown = r.status === 422 && !!r.body.check;
    }).catch(function () {
      sending = false;
      sendButton.disabled = false;
      status.textContent = "Network trouble: try again (it will not be sent twice).";
    });
  }

  // The composing lock: taken by the first keystroke, renewed while typing (at most
  // every LOCK_EVERY ms); if someone else is replying, the composer says who and stops.
  var LOCK_EVERY = 20000, lockedAt = 0, lockPending = false;
  function lockOut(who) {
    body.disabled = true;
    sendButton.disabled = true;
    status.className = "reply-status failed";
    status.textContent = (who || "Someone else is replying") + ": you cannot send now.";
  }
  function unlock() {
    if (!sending) { body.disabled = false; sendButton.disabled = false; }
    if (/cannot send now/.test(status.textContent)) status.textContent = "";
  }
  function keepLock() {
    var t = Date.now();
    if (lockPending || t - lockedAt < LOCK_EVERY) return;
    lockPending = true;
    post("/cases/" + caseId + "/composer/typing", {}).then(function (r) {
      lockPending = false;
      if (r.status === 409) { lockOut(r.body.detail); return; }
      if (r.status === 200) lockedAt = t;
    }).catch(function () { lockPending = false; });
  }
  document.addEventListener("claim-changed", function (ev) {
    if (ev.detail && ev.detail.heldBy) lockOut(ev.detail.heldBy); else unlock();
  });
  body.addEventListener("input", keepLock);

  if (promiseList) {
    // Editing a promise changes what is sent: a new key, so it is not taken for a retry.
    promiseList.addEventListener("change", function () { key = newKey(); });
  }
  body.addEventListener("input", function () { key = newKey(); schedule(); });
  channel.addEventListener("change", function () { key = newKey(); schedule(); });
  moveDm.addEventListener("click", function () {
    channel.value = "x_dm";
    key = newKey();
    check();
  });
  sendButton.addEventListener("click", send);
  if (body.value) schedule(); // a drafted incident update: judge it before it is edited
  // An incident's shared paragraph or its "ask for details" question, put in at the cursor.
  document.querySelectorAll("button.insert-text").forEach(function (b) {
    b.addEventListener("click", function () {
      var text = b.getAttribute("data-insert") || "";
      var at = body.selectionStart || body.value.length;
      var before = body.value.slice(0, at), after = body.value.slice(at);
      var glue = before && !/\n$/.test(before) ? "\n" : "";
      body.value = before + glue + text + (after && !/^\n/.test(after) ? "\n" : "") + after;
      body.focus();
      body.dispatchEvent(new Event("input"));
    });
  });
})();
