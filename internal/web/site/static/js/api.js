"use strict";
// api.js: calls to the iHome-compatible JSON API and the helpers the pages
// share (captcha ids, the message areas, busy buttons). Needs i18n.js.
(() => {
  const { t, lang } = window.I18n;

  // Methods that change state carry the CSRF token.
  const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

  // cookie returns the raw value of the named cookie, "" if there is none.
  // It is not URL-decoded: the server compares the header with the cookie as
  // it received it.
  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
      return part.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    }
    return "";
  }

  function failure(key) {
    return { errno: "", errmsg: t(key) };
  }

  // request calls the API and always resolves to an answer with string errno
  // and errmsg: a network failure or a reply that is not the API's JSON
  // becomes an answer whose errno is "" and whose errmsg says so. The CSRF
  // token is read at each call because the server rotates it at login.
  async function request(method, path, body) {
    const headers = { Accept: "application/json", "Accept-Language": lang() };
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (!SAFE_METHODS.has(method)) {
      const token = cookie("csrf_token");
      if (token) headers["X-CSRFToken"] = token;
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      return failure("error.network");
    }
    let answer;
    try {
      answer = await res.json();
    } catch {
      return failure("error.server");
    }
    if (!answer || typeof answer !== "object" || answer.errno === undefined || answer.errno === null) {
      return failure("error.server");
    }
    const errno = String(answer.errno);
    const errmsg = answer.errmsg ? String(answer.errmsg) : errno === "0" ? "" : t("error.server");
    return { errno, errmsg, data: answer.data };
  }

  // newID makes a captcha id. crypto.randomUUID exists only in secure
  // contexts, and the pages may be served over plain http on a LAN host, so
  // a version 4 UUID is built from getRandomValues when it is missing.
  function newID() {
    const c = window.crypto;
    if (typeof c.randomUUID === "function") return c.randomUUID();
    const b = c.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function captchaURL(id) {
    return `/api/v1.0/image_codes/${encodeURIComponent(id)}`;
  }

  function addToken(el, attr, token) {
    const tokens = (el.getAttribute(attr) || "").split(/\s+/).filter(Boolean);
    if (!tokens.includes(token)) tokens.push(token);
    el.setAttribute(attr, tokens.join(" "));
  }

  function removeToken(el, attr, token) {
    const tokens = (el.getAttribute(attr) || "").split(/\s+/).filter((x) => x && x !== token);
    if (tokens.length) el.setAttribute(attr, tokens.join(" "));
    else el.removeAttribute(attr);
  }

  // messageArea drives a live region (#error, #notice). A message is either
  // {key, params}, redrawn when the language changes, or {text}, a server's
  // errmsg kept as it came. show(message, input) also marks input invalid,
  // points its aria-describedby at the area and focuses it.
  function messageArea(el) {
    let current = null;
    let marked = null;
    let pending = 0;

    function text(message) {
      return message.key ? t(message.key, message.params) : message.text;
    }

    // setText empties the region before repeating the same message, or
    // screen readers would not announce it again.
    function setText(s) {
      clearTimeout(pending);
      if (s && el.textContent === s) {
        el.textContent = "";
        pending = setTimeout(() => {
          el.textContent = s;
        }, 100);
        return;
      }
      el.textContent = s;
    }

    function unmark() {
      if (!marked) return;
      marked.removeAttribute("aria-invalid");
      removeToken(marked, "aria-describedby", el.id);
      marked = null;
    }

    function show(message, input) {
      unmark();
      current = message;
      setText(text(message));
      if (input) {
        input.setAttribute("aria-invalid", "true");
        addToken(input, "aria-describedby", el.id);
        marked = input;
        input.focus();
      }
    }

    function clear() {
      unmark();
      current = null;
      setText("");
    }

    document.addEventListener("i18n:change", () => {
      if (current && current.key) setText(text(current));
    });

    return { show, clear, key: () => (current && current.key) || "" };
  }

  // busy returns a runner that runs fn with button marked busy and ignores
  // further runs (clicks, submits) while fn runs. The button is not disabled,
  // which would take the keyboard focus away from it. When fn resolves to
  // true the page is leaving, and the button stays busy.
  function busy(button) {
    let running = false;
    return async (fn) => {
      if (running) return;
      running = true;
      button.setAttribute("aria-disabled", "true");
      if (button.form) button.form.setAttribute("aria-busy", "true");
      let leaving = false;
      try {
        leaving = (await fn()) === true;
      } finally {
        if (!leaving) {
          running = false;
          button.removeAttribute("aria-disabled");
          if (button.form) button.form.removeAttribute("aria-busy");
        }
      }
    };
  }

  window.API = Object.freeze({ request, cookie, newID, captchaURL, messageArea, busy });
})();
