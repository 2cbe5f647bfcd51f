"use strict";
// i18n.js: the texts of every page in Chinese (the default) and English, the
// choice of language and the toggle that switches it. Elements name their
// texts with data-i18n (text content), data-i18n-alt, data-i18n-aria-label
// and data-i18n-title. Pages listen for the "i18n:change" event on document
// to redraw the texts they make themselves.
(() => {
  const STORAGE_KEY = "signupd.lang";
  const DEFAULT_LANG = "zh-CN";

  const messages = {
    "zh-CN": {
      "app.name": "signupd",
      "lang.toggle": "English",
      "common.loading": "加载中…",

      "register.title": "注册 - signupd",
      "register.heading": "注册账号",
      "register.submit": "注册",
      "register.haveAccount": "已有账号？",
      "register.toLogin": "立即登录",

      "login.title": "登录 - signupd",
      "login.heading": "登录",
      "login.submit": "登录",
      "login.noAccount": "还没有账号？",
      "login.toRegister": "立即注册",

      "index.title": "我的账号 - signupd",
      "index.heading": "我的账号",
      "index.name": "用户名",
      "index.mobile": "手机号",
      "index.logout": "退出登录",

      "field.mobile": "手机号",
      "field.imagecode": "图片验证码",
      "field.smscode": "短信验证码",
      "field.password": "密码",
      "field.password2": "确认密码",
      "field.passwordHint": "8-128 个字符",

      "captcha.refresh": "刷新图片验证码",
      "captcha.alt": "图片验证码",
      "captcha.hint": "看不清？点击图片换一张",

      "code.get": "获取验证码",
      "code.wait": "{n}秒后重发",
      "code.sent": "短信验证码已发送，请查收",

      "error.mobileRequired": "请填写手机号",
      "error.imagecodeRequired": "请填写图片验证码",
      "error.smscodeRequired": "请填写短信验证码",
      "error.passwordRequired": "请填写密码",
      "error.passwordLength": "密码长度须为 8-128 个字符",
      "error.passwordMismatch": "两次输入的密码不一致",
      "error.captchaLoad": "图片验证码加载失败，请点击图片重试",
      "error.network": "网络连接失败，请稍后重试",
      "error.server": "服务器出错，请稍后重试",
    },
    en: {
      "app.name": "signupd",
      "lang.toggle": "中文",
      "common.loading": "Loading…",

      "register.title": "Sign up - signupd",
      "register.heading": "Create an account",
      "register.submit": "Sign up",
      "register.haveAccount": "Already have an account?",
      "register.toLogin": "Log in",

      "login.title": "Log in - signupd",
      "login.heading": "Log in",
      "login.submit": "Log in",
      "login.noAccount": "No account yet?",
      "login.toRegister": "Sign up",

      "index.title": "My account - signupd",
      "index.heading": "My account",
      "index.name": "Name",
      "index.mobile": "Mobile number",
      "index.logout": "Log out",

      "field.mobile": "Mobile number",
      "field.imagecode": "Captcha",
      "field.smscode": "SMS code",
      "field.password": "Password",
      "field.password2": "Confirm password",
      "field.passwordHint": "8 to 128 characters",

      "captcha.refresh": "Refresh captcha",
      "captcha.alt": "Captcha image",
      "captcha.hint": "Hard to read? Click the image for a new one.",

      "code.get": "Get code",
      "code.wait": "Resend in {n} s",
      "code.sent": "We sent a code to your phone.",

      "error.mobileRequired": "Enter your mobile number.",
      "error.imagecodeRequired": "Enter the characters in the captcha image.",
      "error.smscodeRequired": "Enter the code from the SMS.",
      "error.passwordRequired": "Enter your password.",
      "error.passwordLength": "The password must be 8 to 128 characters long.",
      "error.passwordMismatch": "The passwords do not match.",
      "error.captchaLoad": "The captcha image did not load. Click it to try again.",
      "error.network": "Could not reach the server. Please try again.",
      "error.server": "Something went wrong on the server. Please try again later.",
    },
  };

  function has(obj, key) {
    return Object.prototype.hasOwnProperty.call(obj, key);
  }

  // storage is null when the browser refuses localStorage (private modes,
  // disabled cookies): the choice then lasts for the page only.
  const storage = (() => {
    try {
      return window.localStorage;
    } catch {
      return null;
    }
  })();

  function stored() {
    try {
      const v = storage && storage.getItem(STORAGE_KEY);
      return v && has(messages, v) ? v : "";
    } catch {
      return "";
    }
  }

  // fromNavigator picks whichever of English and Chinese the browser lists
  // first, Chinese when it lists neither.
  function fromNavigator() {
    const tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
    for (const tag of tags) {
      const primary = String(tag).toLowerCase().split("-")[0];
      if (primary === "en") return "en";
      if (primary === "zh") return "zh-CN";
    }
    return DEFAULT_LANG;
  }

  let current = stored() || fromNavigator();

  function t(key, params) {
    const text = messages[current][key] ?? messages[DEFAULT_LANG][key] ?? key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (m, name) => (has(params, name) ? String(params[name]) : m));
  }

  const attributes = [
    ["data-i18n-alt", "alt"],
    ["data-i18n-aria-label", "aria-label"],
    ["data-i18n-title", "title"],
  ];

  function apply() {
    document.documentElement.lang = current;
    for (const el of document.querySelectorAll("[data-i18n]")) {
      el.textContent = t(el.dataset.i18n);
    }
    for (const [data, attr] of attributes) {
      for (const el of document.querySelectorAll(`[${data}]`)) {
        el.setAttribute(attr, t(el.getAttribute(data)));
      }
    }
    // The toggle names the other language in that language, so it is
    // marked with that language for screen readers.
    const toggle = document.getElementById("lang-toggle");
    if (toggle) toggle.lang = other();
  }

  function other() {
    return current === "en" ? "zh-CN" : "en";
  }

  function setLang(lang) {
    if (!has(messages, lang)) return;
    current = lang;
    try {
      if (storage) storage.setItem(STORAGE_KEY, lang);
    } catch {
      // Storage full or refused: the choice lasts for this page only.
    }
    apply();
    document.dispatchEvent(new CustomEvent("i18n:change", { detail: { lang } }));
  }

  apply();
  const toggle = document.getElementById("lang-toggle");
  if (toggle) toggle.addEventListener("click", () => setLang(other()));

  window.I18n = Object.freeze({
    t,
    lang: () => current,
    setLang,
    messages,
  });
})();
