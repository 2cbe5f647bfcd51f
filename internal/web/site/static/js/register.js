"use strict";
// register.js: the sign-up page. The captcha guards the SMS code request and
// is single use, so every answer to that request brings a fresh captcha.
(() => {
  const { t } = window.I18n;
  const api = window.API;
  const $ = (id) => document.getElementById(id);

  const form = $("register-form");
  const mobile = $("mobile");
  const imagecode = $("imagecode");
  const img = $("imagecode-img");
  const refresh = $("imagecode-refresh");
  const getCode = $("get-code");
  const smscode = $("smscode");
  const password = $("password");
  const password2 = $("password2");
  const submit = $("register-submit");
  const errors = api.messageArea($("error"));
  const notice = api.messageArea($("notice"));

  const RESEND_SECONDS = 60;
  let captchaID = "";
  let resendAt = 0; // Date.now() after which a new code may be asked for; 0: no countdown
  let timer = 0;
  let sending = false;

  function loadCaptcha() {
    captchaID = api.newID();
    img.src = api.captchaURL(captchaID);
    imagecode.value = "";
  }

  img.addEventListener("error", () => errors.show({ key: "error.captchaLoad" }));
  img.addEventListener("load", () => {
    if (errors.key() === "error.captchaLoad") errors.clear();
  });
  refresh.addEventListener("click", loadCaptcha);

  function drawGetCode() {
    const left = Math.ceil((resendAt - Date.now()) / 1000);
    if (resendAt && left > 0) {
      getCode.textContent = t("code.wait", { n: left });
      return;
    }
    clearInterval(timer);
    resendAt = 0;
    getCode.disabled = false;
    getCode.textContent = t("code.get");
  }

  // startCountdown counts from the clock rather than from ticks, which
  // browsers slow down in background tabs.
  function startCountdown(seconds) {
    resendAt = Date.now() + seconds * 1000;
    getCode.disabled = true;
    drawGetCode();
    clearInterval(timer);
    timer = setInterval(drawGetCode, 250);
  }

  async function sendCode() {
    if (sending || resendAt) return;
    errors.clear();
    notice.clear();
    const phone = mobile.value.trim();
    const answer = imagecode.value.trim();
    if (!phone) return errors.show({ key: "error.mobileRequired" }, mobile);
    if (!answer) return errors.show({ key: "error.imagecodeRequired" }, imagecode);

    sending = true;
    getCode.setAttribute("aria-disabled", "true");
    const query = new URLSearchParams({ image_code: answer, image_code_id: captchaID });
    const res = await api.request("GET", `/api/v1.0/sms_codes/${encodeURIComponent(phone)}?${query}`);
    sending = false;
    getCode.removeAttribute("aria-disabled");
    loadCaptcha();
    if (res.errno === "0") {
      notice.show({ key: "code.sent" });
      smscode.focus();
      startCountdown(RESEND_SECONDS);
      return;
    }
    // The captcha was used up: the user types the new one next. A "4201"
    // (too soon) errmsg says how long to wait.
    errors.show({ text: res.errmsg });
    imagecode.focus();
  }

  getCode.addEventListener("click", sendCode);

  // Enter in the captcha field asks for the code rather than submitting the
  // whole form, which would only say the SMS code is missing.
  imagecode.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.isComposing) return;
    e.preventDefault();
    sendCode();
  });

  function validate() {
    const n = [...password.value.normalize("NFKC")].length;
    if (!mobile.value.trim()) return [{ key: "error.mobileRequired" }, mobile];
    if (!smscode.value.trim()) return [{ key: "error.smscodeRequired" }, smscode];
    if (n < 8 || n > 128) return [{ key: "error.passwordLength" }, password];
    if (password.value !== password2.value) return [{ key: "error.passwordMismatch" }, password2];
    return null;
  }

  const run = api.busy(submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run(async () => {
      errors.clear();
      const invalid = validate();
      if (invalid) return errors.show(...invalid);
      const res = await api.request("POST", "/api/v1.0/users", {
        mobile: mobile.value.trim(),
        sms_code: smscode.value.trim(),
        password: password.value,
        password2: password2.value,
      });
      if (res.errno === "0") {
        window.location.assign("/index.html");
        return true;
      }
      notice.clear();
      errors.show({ text: res.errmsg });
      return false;
    });
  });

  document.addEventListener("i18n:change", drawGetCode);

  // A page restored from the back-forward cache shows a captcha that may
  // have been used already.
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) loadCaptcha();
  });

  loadCaptcha();
})();
