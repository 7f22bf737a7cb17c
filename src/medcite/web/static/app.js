// medcite — progressive enhancement only: every page works without this file.
// Streams an answer from /api/v1/ask/stream (NDJSON: a status event, then the answer's parts as
// server-rendered, escaped HTML) into the ask page, then moves the address bar to the thread.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function setStatus(box, text) {
    var p = box.querySelector(".status");
    if (!p) {
      p = document.createElement("p");
      p.className = "status";
      p.setAttribute("role", "status");
      box.appendChild(p);
    }
    p.textContent = text;
  }

  function clearStatus(box) {
    var p = box.querySelector(".status");
    if (p) { p.remove(); }
  }

  function showError(box, message) {
    clearStatus(box);
    var p = document.createElement("p");
    p.className = "error-message";
    p.setAttribute("role", "alert");
    p.textContent = message;
    box.appendChild(p);
  }

  function handle(box, event, state) {
    if (event.event === "status") {
      setStatus(box, event.message);
    } else if (event.event === "part") {
      clearStatus(box);
      // Server-rendered fragments: every text in them was HTML-escaped on the server.
      box.insertAdjacentHTML("beforeend", event.html);
      if (event.part === "header" && event.data && event.data.question) {
        document.title = event.data.question + " · medcite";
      }
    } else if (event.event === "done") {
      state.done = true;
      box.setAttribute("data-thread", event.thread_id);
      if (event.url && window.history && window.history.pushState) {
        window.history.pushState({}, "", event.url);
      }
    } else if (event.event === "error") {
      state.done = true;
      showError(box, event.error);
    }
  }

  async function stream(form, box) {
    var data = new FormData(form);
    var body = JSON.stringify({ question: data.get("question") || "", audience: data.get("audience") || "clinician" });
    var res = await fetch("/api/v1/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/x-ndjson", "X-CSRF-Token": csrfToken() },
      body: body,
      credentials: "same-origin"
    });
    if (!res.ok) {
      var msg = "The question could not be answered (" + res.status + ").";
      try { msg = (await res.json()).error || msg; } catch (e) { /* keep the generic message */ }
      showError(box, msg);
      return;
    }
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    var state = { done: false };
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) { break; }
      buffer += decoder.decode(chunk.value, { stream: true });
      var lines = buffer.split("\n");
      buffer = lines.pop();
      lines.forEach(function (line) { if (line.trim()) { handle(box, JSON.parse(line), state); } });
    }
    if (buffer.trim()) { handle(box, JSON.parse(buffer), state); }
    if (!state.done) { showError(box, "The answer was cut off; please ask again."); }
  }

  function enhanceAskForm() {
    var form = document.getElementById("ask-form");
    var box = document.getElementById("answer-stream");
    if (!form || !box || !window.fetch || !window.TextDecoder) { return; }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var button = form.querySelector("button[type=submit]");
      box.innerHTML = "";
      box.classList.add("answer");
      setStatus(box, "Sending your question…");
      if (button) { button.disabled = true; }
      stream(form, box).catch(function () {
        showError(box, "The connection failed; please try again.");
      }).finally(function () {
        if (button) { button.disabled = false; }
      });
    });
  }

  function scrollToPassage() {
    var mark = document.getElementById("passage");
    if (mark && mark.scrollIntoView) { mark.scrollIntoView({ block: "center" }); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhanceAskForm();
    scrollToPassage();
  });
})();
