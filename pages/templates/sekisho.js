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
  // Passkeys (WebAuthn): a form marked data-passkey is shown only where
  // the browser has WebAuthn. Its script asks the gateway for a challenge,
  // lets the browser sign it, and posts the answer with the form, so the
  // gateway's answer is an ordinary page.
  var webauthn = window.PublicKeyCredential && navigator.credentials;
  function toBytes(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) { out[i] = b.charCodeAt(i); }
    return out.buffer;
  }
  function toText(buf) {
    if (!buf) { return null; }
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) { s += String.fromCharCode(bytes[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function decodeOptions(pk) {
    pk.challenge = toBytes(pk.challenge);
    if (pk.user) { pk.user.id = toBytes(pk.user.id); }
    [pk.allowCredentials, pk.excludeCredentials].forEach(function (list) {
      (list || []).forEach(function (c) { c.id = toBytes(c.id); });
    });
    return pk;
  }
  function encodeCredential(cred) {
    var r = cred.response, response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      response.userHandle = toText(r.userHandle);
    }
    return JSON.stringify({
      id: cred.id, rawId: toText(cred.rawId), type: cred.type, response: response,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    });
  }
  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    if (!webauthn) { return; }
    var kind = form.getAttribute("data-passkey");
    var error = form.querySelector("[data-passkey-error]");
    var missing = document.querySelector("[data-passkey-missing]");
    var or = document.querySelector("[data-passkey-or]");
    if (missing) { missing.hidden = true; }
    if (or) { or.hidden = false; }
    form.hidden = false;
    var waiting = null;
    function challenge() {
      var body = new URLSearchParams();
      body.set("csrf", form.elements.csrf.value);
      return fetch(form.getAttribute("data-options"), { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); });
    }
    function answer(id, cred) {
      form.elements.challenge.value = id;
      form.elements.credential.value = encodeCredential(cred);
      form.submit();
    }
    function failed(e) {
      if (e && e.name === "AbortError") { return; }
      if (error) { error.hidden = false; }
    }
    function ask(conditional) {
      return challenge().then(function (c) {
        var publicKey = decodeOptions(c.options.publicKey);
        if (kind === "register") {
          return navigator.credentials.create({ publicKey: publicKey }).then(function (cred) { answer(c.challenge, cred); });
        }
        var request = { publicKey: publicKey };
        if (conditional) {
          waiting = new AbortController();
          request.mediation = "conditional";
          request.signal = waiting.signal;
        }
        var asked = navigator.credentials.get(request);
        // Said on the form, so a page's tests know the autofill request is
        // waiting before they hand the browser a key.
        if (conditional) { form.setAttribute("data-passkey-autofill", "waiting"); }
        return asked.then(function (cred) { if (cred) { answer(c.challenge, cred); } });
      });
    }
    form.querySelector("[data-passkey-start]").addEventListener("click", function () {
      if (waiting) { waiting.abort(); waiting = null; }
      if (error) { error.hidden = true; }
      ask(false).catch(failed);
    });
    // The login page's email field offers the user's passkeys as autofill,
    // except on a page answering a refused way in.
    if (kind === "login" && form.getAttribute("data-passkey-autofill") !== "off" &&
        PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        if (yes) { ask(true).catch(failed); }
      });
    }
  });
})();
