"use strict";
// index.js: the logged-in page. It shows who is logged in and logs out; a
// visitor who is not logged in is sent to the log-in page.
(() => {
  const api = window.API;
  const $ = (id) => document.getElementById(id);

  const NOT_LOGGED_IN = "4101";
  const card = $("account");
  const details = $("details");
  const loading = $("loading");
  const errors = api.messageArea($("error"));

  function done() {
    loading.hidden = true;
    card.removeAttribute("aria-busy");
  }

  async function load() {
    const res = await api.request("GET", "/api/v1.0/user");
    if (res.errno === NOT_LOGGED_IN) {
      window.location.replace("/login.html");
      return;
    }
    done();
    if (res.errno !== "0") {
      errors.show({ text: res.errmsg });
      return;
    }
    const user = res.data || {};
    $("user-name").textContent = user.name || "";
    $("user-mobile").textContent = user.mobile || "";
    details.hidden = false;
  }

  const run = api.busy($("logout"));
  $("logout").addEventListener("click", () => {
    run(async () => {
      errors.clear();
      const res = await api.request("DELETE", "/api/v1.0/session");
      // Already logged out is as good as logged out.
      if (res.errno === "0" || res.errno === NOT_LOGGED_IN) {
        window.location.replace("/login.html");
        return true;
      }
      errors.show({ text: res.errmsg });
      return false;
    });
  });

  // A page restored from the back-forward cache may show a user who has
  // logged out since.
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) load();
  });

  load();
})();
