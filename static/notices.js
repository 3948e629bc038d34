// The banner above the queue: sources that need an admin, X budgets, silent sources.
(function () {
  "use strict";
  const box = document.getElementById("source-notices");
  if (!box) return;
  async function load() {
    try {
      const response = await fetch("/notices.json", { credentials: "same-origin" });
      if (!response.ok) return;
      const items = await response.json();
      box.replaceChildren();
      for (const item of items) {
        const p = document.createElement("p");
        p.className = "notice " + item.level;
        p.textContent = item.text;  // text only: never HTML
        box.appendChild(p);
      }
      box.hidden = items.length === 0;
    } catch (err) {
      /* the queue works without the banner */
    }
  }
  load();
  setInterval(load, 60000);
})();
