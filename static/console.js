// complaint-monitor console: ticking waiting times and live queue updates (SSE).
// No inline scripts anywhere (the CSP forbids them); everything the server sends is
// already escaped HTML, parsed with DOMParser, so no script in it can run.
(function () {
  "use strict";

  // The browser's time zone, for pages of staff who chose none (monitor/web/viewer_zone.py).
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    var had = (document.cookie.match(/(?:^|;\s*)tz=([^;]*)/) || [])[1];
    if (/^[A-Za-z0-9_+\/-]{1,64}$/.test(zone) && had !== zone) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax" +
        (location.protocol === "https:" ? "; Secure" : "");
    }
  } catch (e) { /* no Intl: times stay in UTC */ }

  var skew = 0; // server time minus browser time, in ms
  var nowAttr = document.querySelector("[data-now]");
  if (nowAttr) {
    var serverNow = Date.parse(nowAttr.getAttribute("data-now"));
    if (!isNaN(serverNow)) skew = serverNow - Date.now();
  }

  function duration(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60), sec = s % 60;
    function two(n) { return (n < 10 ? "0" : "") + n; }
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + two(m) + "m";
    return m + "m " + two(sec) + "s";
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("time.ticking").forEach(function (el) {
      var since = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(since)) el.textContent = duration((now - since) / 1000);
    });
  }
  setInterval(tick, 1000);

  var table = document.getElementById("queue");
  var casePage = document.getElementById("case");
  var refreshTimer = null;
  var refreshing = false;
  var again = false;

  function openReasons() {
    var open = {};
    document.querySelectorAll("#queue-rows tr[data-case-id] details[open]").forEach(function (d) {
      open[d.closest("tr").getAttribute("data-case-id")] = true;
    });
    return open;
  }

  function refreshQueue() {
    if (!table) return;
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(table.getAttribute("data-rows-url"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) throw new Error("queue refresh failed: " + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString("<table>" + html + "</table>", "text/html");
        var fresh = doc.getElementById("queue-rows");
        var old = document.getElementById("queue-rows");
        if (!fresh || !old) return;
        var open = openReasons();
        var picked = {}; // the bulk-assign selection survives a live refresh
        document.querySelectorAll("#queue-rows input[name=case_ids]:checked").forEach(function (b) {
          picked[b.value] = true;
        });
        fresh.querySelectorAll("tr[data-case-id]").forEach(function (tr) {
          if (open[tr.getAttribute("data-case-id")]) {
            var d = tr.querySelector("details");
            if (d) d.setAttribute("open", "");
          }
          var box = tr.querySelector("input[name=case_ids]");
          if (box && picked[box.value]) box.setAttribute("checked", "");
        });
        old.replaceWith(document.importNode(fresh, true));
        document.body.setAttribute("data-refreshed", String(Date.now()));
        tick();
      })
      .catch(function (e) { console.warn(e); })
      .then(function () {
        refreshing = false;
        if (again) { again = false; scheduleRefresh(); }
      });
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () { refreshTimer = null; refreshQueue(); }, 100);
  }

  var CLAIM_KINDS = ["case.claimed", "case.claim_taken_over", "case.released"];

  // The claim bar alone, from the server (a fragment of our own template), then the
  // composer hears whether someone else is replying now.
  function refreshClaimBar() {
    var bar = document.getElementById("claim-bar");
    if (!bar) return;
    var url = "/cases/" + casePage.getAttribute("data-case-id") + "/partials/claim";
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) throw new Error("claim bar: " + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("claim-bar");
        if (!fresh) return;
        bar.replaceWith(document.importNode(fresh, true));
        var other = fresh.querySelector("[data-held-by-other]");
        var who = other ? (other.querySelector(".replying") || other).textContent : "";
        document.dispatchEvent(new CustomEvent("claim-changed", { detail: { heldBy: who } }));
      })
      .catch(function (e) { console.warn(e); });
  }

  function noticeCaseChanged() {
    if (document.getElementById("case-changed")) return;
    var p = document.createElement("p");
    p.id = "case-changed";
    p.className = "notice";
    var a = document.createElement("a");
    a.href = window.location.pathname;
    a.textContent = "This case changed: show the latest";
    p.appendChild(a);
    casePage.insertBefore(p, casePage.firstChild);
  }

  // "Show all" on a long body: fetch the whole text (an escaped HTML fragment from the
  // server) and put it in place of the cut one, in a box that scrolls.
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button.show-all") : null;
    if (!button) return;
    var holder = button.closest(".long-text");
    button.disabled = true;
    button.textContent = "Loading…";
    fetch(button.getAttribute("data-more-url"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) throw new Error("could not load the text: " + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString("<div>" + html + "</div>", "text/html");
        var full = document.createElement("span");
        full.className = "long-text expanded";
        Array.prototype.slice.call(doc.body.firstChild.childNodes).forEach(function (n) {
          full.appendChild(document.importNode(n, true));
        });
        holder.replaceWith(full);
        full.scrollIntoView({ block: "nearest" });
      })
      .catch(function (e) {
        console.warn(e);
        button.disabled = false;
        button.textContent = "Show all (failed: try again)";
      });
  });

  // Who else is viewing this case: the page says it is open every few seconds (a
  // presence row in the database, so every serve process sees it) and is told who else
  // is; leaving the page says so at once.
  var viewers = document.getElementById("viewers");
  if (viewers) {
    var presenceUrl = "/cases/" + viewers.getAttribute("data-case-id") + "/presence";
    var presenceHeaders = { "X-CSRF-Token": viewers.getAttribute("data-csrf"), "Accept": "text/html" };
    var every = Number(viewers.getAttribute("data-every")) || 5000;
    var beat = function () {
      fetch(presenceUrl, { method: "POST", credentials: "same-origin", headers: presenceHeaders })
        .then(function (r) {
          if (r.redirected || !r.ok) throw new Error("presence: " + r.status);
          return r.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("viewers");
          var old = document.getElementById("viewers");
          if (fresh && old) old.replaceWith(document.importNode(fresh, true));
        })
        .catch(function (e) { console.warn(e); })
        .then(function () { setTimeout(beat, every); });
    };
    beat();
    window.addEventListener("pagehide", function () {
      fetch(presenceUrl + "/leave", {
        method: "POST", keepalive: true, credentials: "same-origin", headers: presenceHeaders,
      }).catch(function () {});
    });
  }

  if ((table || casePage) && window.EventSource) {
    var status = document.getElementById("live-status");
    var source = new EventSource("/live/events");
    source.addEventListener("hello", function () {
      if (status) status.className = "live on";
      scheduleRefresh(); // (re)connected: catch up on whatever we missed
    });
    // Every event kind refreshes the rows: mention.*, case.*, and also reply.sent,
    // reply.failed (the "reply failed" badge) and promise.* (open/overdue counts).
    source.addEventListener("case", function (ev) {
      var data = {};
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      document.dispatchEvent(new CustomEvent("live-event", { detail: data })); // static/notify.js
      if (table) scheduleRefresh();
      var here = casePage && String(data.case_id) === casePage.getAttribute("data-case-id");
      if (here && CLAIM_KINDS.indexOf(data.kind) >= 0) {
        refreshClaimBar(); // "Maria is replying", live
        return;
      }
      if (here && data.id > Number(casePage.getAttribute("data-last-event") || 0)) noticeCaseChanged();
    });
    source.onerror = function () { if (status) status.className = "live off"; };
  }
})();
