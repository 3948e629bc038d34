// Working all day in the console: keyboard shortcuts, filters that apply on change, the
// unread count in the tab title, new rows announced to screen readers, and a live/offline
// label. No text from the server is ever set as HTML here.
(function () {
  "use strict";
  var rowsSelector = "#queue-rows tr[data-case-id]";
  var current = -1;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll(rowsSelector)); }

  // keepFocus: mark the row without moving the focus (after a live refresh while the
  // user is typing in a toolbar field, say).
  function select(i, keepFocus) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (tr, k) {
      tr.classList.toggle("selected", k === current);
      if (k === current) tr.setAttribute("aria-selected", "true"); else tr.removeAttribute("aria-selected");
    });
    var link = all[current].querySelector("td.words a");
    if (link && !keepFocus) link.focus();
  }

  function typing(ev) {
    var t = ev.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  function toggleHelp(show) {
    var help = document.getElementById("shortcut-help");
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
    if (!help.hidden) help.focus();
  }

  function focusFirst(ids) {
    for (var i = 0; i < ids.length; i++) {
      var el = document.getElementById(ids[i]);
      if (el && !el.disabled) { el.focus(); return true; }
    }
    return false;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { toggleHelp(false); return; }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev)) return;
    var all = rows();
    if (ev.key === "/") { if (focusFirst(["top-search-q"])) ev.preventDefault(); }
    else if (ev.key === "?") { toggleHelp(); ev.preventDefault(); }
    else if (ev.key === "j" && all.length) { select(current + 1); ev.preventDefault(); }
    else if (ev.key === "k" && all.length) { select(current < 0 ? 0 : current - 1); ev.preventDefault(); }
    else if (ev.key === "Enter" && current >= 0 && all[current]) {
      var link = all[current].querySelector("td.words a");
      if (link) { window.location.href = link.getAttribute("href"); ev.preventDefault(); }
    }
    else if (ev.key === "x" && all.length) {
      // The selected row (j/k), else the row holding the focus.
      var row = current >= 0 && all[current] ? all[current] : (document.activeElement && document.activeElement.closest ? document.activeElement.closest(rowsSelector) : null);
      var box = row ? row.querySelector("input.bulk-pick") : null;
      if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); ev.preventDefault(); }
    }
    else if (ev.key === "r") { if (focusFirst(["reply-body"])) ev.preventDefault(); }
    else if (ev.key === "a") { if (focusFirst(["bulk-assignee", "claim-button", "take-over-button"])) ev.preventDefault(); }
  });

  // Filters apply as soon as one changes (the button stays for no-script use).
  document.querySelectorAll("form.filters").forEach(function (form) {
    form.addEventListener("change", function (ev) {
      if (ev.target && ev.target.tagName === "SELECT" || (ev.target && ev.target.type === "checkbox")) form.submit();
    });
  });

  // Bulk selection: the header's select-all box (shown only with script: without it the
  // rows' own boxes still work) and a count above the toolbar. The live refresh keeps
  // the ticked boxes (console.js); the observer below re-syncs these after it.
  var pickAll = document.getElementById("pick-all");
  var pickCount = document.getElementById("bulk-count");
  var pickIdle = pickCount ? pickCount.textContent : "";
  function picks() { return Array.prototype.slice.call(document.querySelectorAll("#queue-rows input.bulk-pick")); }
  function syncPicks() {
    var boxes = picks(), on = boxes.filter(function (b) { return b.checked; }).length;
    if (pickAll) {
      pickAll.checked = boxes.length > 0 && on === boxes.length;
      pickAll.indeterminate = on > 0 && on < boxes.length;
    }
    if (pickCount) pickCount.textContent = on ? on + (on === 1 ? " case selected" : " cases selected") : pickIdle;
  }
  if (pickAll) {
    pickAll.hidden = false;
    pickAll.addEventListener("change", function () {
      var on = pickAll.checked;
      picks().forEach(function (b) { b.checked = on; });
      syncPicks();
    });
  }
  document.addEventListener("change", function (ev) {
    if (ev.target && ev.target.classList && ev.target.classList.contains("bulk-pick")) syncPicks();
  });
  syncPicks();

  // Unread: cases that arrived while the tab was in the background, counted in the title.
  var baseTitle = document.title;
  var seen = {};
  rows().forEach(function (tr) { seen[tr.getAttribute("data-case-id")] = true; });
  var unread = 0;
  function showUnread() { document.title = (unread ? "(" + unread + ") " : "") + baseTitle; }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { unread = 0; showUnread(); }
  });
  var tbodyParent = document.getElementById("queue");
  var announce = document.getElementById("queue-announce");
  if (tbodyParent) {
    new MutationObserver(function () {
      var fresh = 0;
      rows().forEach(function (tr) {
        var id = tr.getAttribute("data-case-id");
        if (!seen[id]) { seen[id] = true; fresh += 1; tr.classList.add("new-row"); }
      });
      var focused = document.activeElement;
      if (current >= 0) select(current, focused && focused !== document.body && !tbodyParent.contains(focused));
      syncPicks();
      if (!fresh) return;
      if (document.hidden) { unread += fresh; showUnread(); }
      if (announce) announce.textContent = fresh + (fresh === 1 ? " new case" : " new cases") + " in the queue";
    }).observe(tbodyParent, { childList: true });
  }

  // The live indicator says in words whether updates arrive (EventSource reconnects).
  var live = document.getElementById("live-status");
  var label = live ? live.querySelector(".live-label") : null;
  function showLive() {
    if (live.classList.contains("on")) label.textContent = "live";
    else if (live.classList.contains("off")) label.textContent = "offline, reconnecting…";
  }
  // Only the queue and the case page keep a live stream open (static/console.js).
  if (live && label && (document.getElementById("queue") || document.getElementById("case"))) {
    label.textContent = "connecting…";
    showLive();
    new MutationObserver(showLive).observe(live, { attributes: true, attributeFilter: ["class"] });
  }
})();
