// Admin > Connections, device flow: ask the desk every 3 s whether the code was entered.
// The desk itself asks the provider no more often than the provider allows.
(function () {
  "use strict";
  const box = document.getElementById("device-flow");
  if (!box) return;
  const status = document.getElementById("flow-status");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  async function poll() {
    let answer;
    try {
      const response = await fetch(box.dataset.poll, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ csrf_token: csrf }),
        credentials: "same-origin",
      });
      answer = await response.json();
    } catch (err) {
      status.textContent = "Cannot reach the desk; trying again…";
      setTimeout(poll, 3000);
      return;
    }
    if (answer.state === "connected") {
      status.textContent = answer.message;
      window.location = "/admin/connections?" + new URLSearchParams({ done: answer.message });
    } else if (answer.state === "failed") {
      status.textContent = "Not connected: " + answer.message;
      box.classList.add("failed");
    } else {
      if (answer.message) status.textContent = answer.message;
      setTimeout(poll, 3000);
    }
  }
  setTimeout(poll, 3000);
})();
