/* Kaohe's tiny stand-in for telegram-web-app.js (nothing is loaded from the internet).
 *
 * Inside Telegram, or when a test injects it, window.Telegram.WebApp is used as it is. Otherwise
 * the launch parameters are read from the URL hash as Telegram passes them
 * (#tgWebAppData=<initData>&tgWebAppThemeParams=<json>), which is also what the sandbox's
 * links carry, so the dashboard opens in a desktop browser too. The theme parameters become
 * the --tg-theme-* CSS variables the stylesheet uses, as Telegram's own script sets them.
 */
(function () {
  "use strict";
  var existing = window.Telegram && window.Telegram.WebApp;
  var app = existing;
  if (!app) {
    var hash = new URLSearchParams(window.location.hash.slice(1));
    var initData = hash.get("tgWebAppData") || "";
    try {
      if (initData) sessionStorage.setItem("kaohe.initData", initData);
      else initData = sessionStorage.getItem("kaohe.initData") || "";
    } catch (e) { /* storage may be off; the hash is enough */ }
    var theme = {};
    try { theme = JSON.parse(hash.get("tgWebAppThemeParams") || "{}"); } catch (e) { theme = {}; }
    var unsafe = {};
    new URLSearchParams(initData).forEach(function (value, key) {
      try { unsafe[key] = key === "user" ? JSON.parse(value) : value; } catch (e) { unsafe[key] = value; }
    });
    var post = function (eventType, eventData) {
      var data = JSON.stringify(eventData || {});
      try {
        if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent(eventType, data);
        else if (window.parent !== window) {
          window.parent.postMessage(JSON.stringify({ eventType: eventType, eventData: eventData || {} }), "*");
        }
      } catch (e) { /* not inside Telegram: nothing to tell */ }
    };
    var back = { isVisible: false, handlers: [],
      show: function () { back.isVisible = true; post("web_app_setup_back_button", { is_visible: true }); },
      hide: function () { back.isVisible = false; post("web_app_setup_back_button", { is_visible: false }); },
      onClick: function (fn) { back.handlers.push(fn); } };
    window.addEventListener("message", function (event) {
      try {
        var message = JSON.parse(event.data);
        if (message.eventType === "back_button_pressed") back.handlers.forEach(function (fn) { fn(); });
      } catch (e) { /* not ours */ }
    });
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    app = {
      initData: initData, initDataUnsafe: unsafe, themeParams: theme,
      colorScheme: theme.bg_color ? (isDark(theme.bg_color) ? "dark" : "light") : (dark ? "dark" : "light"),
      platform: "unknown", BackButton: back,
      ready: function () { post("web_app_ready"); },
      expand: function () { post("web_app_expand"); },
      close: function () { post("web_app_close"); }
    };
    window.Telegram = window.Telegram || {};
    window.Telegram.WebApp = app;
  }

  function isDark(color) {
    var m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color || "");
    if (!m) return false;
    var luma = 0.299 * parseInt(m[1], 16) + 0.587 * parseInt(m[2], 16) + 0.114 * parseInt(m[3], 16);
    return luma < 128;
  }

  var root = document.documentElement;
  var params = app.themeParams || {};
  Object.keys(params).forEach(function (key) {
    root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), params[key]);
  });
  root.setAttribute("data-scheme", app.colorScheme || "light");
})();
