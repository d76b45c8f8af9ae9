// Sekisho's pages, enhanced: every page works without this script.
// It is inline and allowed by its hash in the Content-Security-Policy.
(function () {
  "use strict";
  var ja = document.documentElement.lang === "ja";
  // The manual's password visibility toggle.
  document.querySelectorAll(".secret > input[type=password]").forEach(function (input) {
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "reveal";
    toggle.textContent = ja ? "表示" : "Show";
    toggle.setAttribute("aria-label", ja ? "パスワードを表示" : "Show password");
    toggle.setAttribute("aria-pressed", "false");
    toggle.setAttribute("aria-controls", input.id);
    toggle.addEventListener("click", function () {
      var shown = input.type === "text";
      input.type = shown ? "password" : "text";
      toggle.textContent = shown ? (ja ? "表示" : "Show") : (ja ? "非表示" : "Hide");
      toggle.setAttribute("aria-pressed", String(!shown));
    });
    input.parentNode.appendChild(toggle);
  });
  // Copy and save buttons, shown only where they work.
  document.querySelectorAll(".enhanced[hidden]").forEach(function (el) {
    el.hidden = false;
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) {
      button.hidden = true;
      return;
    }
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
        var label = button.textContent;
        button.textContent = button.getAttribute("data-done");
        setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
  });
  document.querySelectorAll("[data-download]").forEach(function (button) {
    button.addEventListener("click", function () {
      var file = new Blob([button.getAttribute("data-text") + "\n"], { type: "text/plain" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(file);
      link.download = button.getAttribute("data-download");
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    });
  });
})();
