"use strict";
// login.js: the log-in page. Only presence is checked here: the length rule
// belongs to sign-up, and the server answers a wrong password anyway.
(() => {
  const api = window.API;
  const $ = (id) => document.getElementById(id);

  const form = $("login-form");
  const mobile = $("mobile");
  const password = $("password");
  const errors = api.messageArea($("error"));

  function validate() {
    if (!mobile.value.trim()) return [{ key: "error.mobileRequired" }, mobile];
    if (!password.value) return [{ key: "error.passwordRequired" }, password];
    return null;
  }

  const run = api.busy($("login-submit"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run(async () => {
      errors.clear();
      const invalid = validate();
      if (invalid) return errors.show(...invalid);
      const res = await api.request("POST", "/api/v1.0/sessions", {
        mobile: mobile.value.trim(),
        password: password.value,
      });
      if (res.errno === "0") {
        window.location.assign("/index.html");
        return true;
      }
      errors.show({ text: res.errmsg });
      return false;
    });
  });
})();
