/*
 * n8n chat relay — one tag to put the chat on any site:
 *
 *   <script src="https://chat.example.com/embed.js" defer
 *           data-position="end" data-open="false" data-primary-color="#c8244f"
 *           data-language="en" data-title="Support" data-sound="off"></script>
 *
 * Adds the chat bubble (the relay's page with ?mode=window, in an iframe
 * that grows when the chat opens) and window.n8nChat:
 *   open(), close(), toggle(), send(text), setMetadata({...}),
 *   identify(token), forgetMe(),
 *   on('open'|'close'|'message'|'unread'|'ready'|'tokenExpired'|'tokenInvalid', fn),
 *   off(name, fn)
 * Verified identity: data-user-token="<JWT>" on this tag, or
 * n8nChat.identify(token), hands the chat a token your backend signed for
 * the logged-in visitor. It goes to the chat's iframe by postMessage (never
 * in a URL) and to the relay in a WebSocket frame. When it expires the
 * chat fires 'tokenExpired' (messages wait); call identify() with a new one.
 * n8nChat.forgetMe() deletes every conversation of this visitor in this
 * browser and asks the relay to forget their sessions (a GDPR request).
 * Messages between this page and the chat are checked both ways: this
 * script only listens to the relay's origin in its own iframe, and the
 * chat only takes commands from (and sends answers to) this page's origin.
 * The chat keeps its state (session id, conversation with the messages
 * not yet sent, language, theme) in THIS page's localStorage, under keys
 * starting "n8nChat@<relay origin>|": an iframe on another site has no
 * storage that every browser keeps (third-party storage blocked) or keeps
 * for this site alone (partitioned by the top-level site only). So this
 * page's own scripts can read the session id and the queued texts — as
 * they could read anything the visitor types on this page anyway.
 * Plain JS, no dependencies; nothing is loaded from anywhere else.
 */
(function () {
  "use strict";
  if (window.n8nChat) return;
  var script = document.currentScript;
  if (!script || !script.src) return;
  var relay = new URL(script.src, location.href).origin;
  var data = script.dataset;
  // start/end follow this page's writing direction; left/right are physical.
  var rtl = getComputedStyle(document.documentElement).direction === "rtl";
  var pos = data.position || "end";
  var left = pos === "left" || (pos === "start" && !rtl) || (pos === "end" && rtl);
  var params = new URLSearchParams({ mode: "window", host: location.origin });
  if (left) params.set("position", "left");
  if (data.open === "true") params.set("open", "1");
  if (data.primaryColor) params.set("color", data.primaryColor);
  if (data.language) params.set("lang", data.language);
  if (data.title) params.set("title", data.title);
  if (data.sound === "on") params.set("sound", "1");

  var CLOSED = { width: "96px", height: "96px" };
  var frame = document.createElement("iframe");
  frame.src = relay + "/?" + params.toString();
  frame.title = data.title || "Chat";
  frame.setAttribute("data-n8n-chat", "");
  // The microphone for voice messages (`--allow-voice`): the browser still
  // asks the visitor, naming the chat's origin.
  frame.allow = "clipboard-write; microphone";
  var s = frame.style;
  s.position = "fixed";
  s.bottom = "0";
  s[left ? "left" : "right"] = "0";
  s.border = "0";
  s.background = "transparent";
  s.colorScheme = "normal";
  s.zIndex = "2147483000";
  s.width = CLOSED.width;
  s.height = CLOSED.height;

  // The visitor's identity token (data-user-token, then identify()).
  var userToken = data.userToken || null;
  var listeners = {};
  var ready = false;
  var queue = [];
  var isOpen = false;
  // The chat's state, in this page's storage (see above).
  // The same keys as the page's `host_keeps`: these, and a parked
  // conversation's lines ("n8nChat.conversation.<id>").
  var KEYS = ["n8nChat.sessionId", "n8nChat.conversation", "n8nChat.language", "n8nChat.theme",
    "n8nChat.conversations", "n8nChat.focusAnswers"];
  var PARKED = "n8nChat.conversation.";
  function kept(key) {
    return KEYS.indexOf(key) >= 0 ||
      (key.indexOf(PARKED) === 0 && /^[A-Za-z0-9-]{1,64}$/.test(key.slice(PARKED.length)));
  }
  var prefix = "n8nChat@" + relay + "|";
  function store() {
    try { var ls = window.localStorage; ls.getItem(prefix); return ls; } catch (e) { return null; }
  }
  function load() {
    var ls = store();
    var state = null;
    if (ls) {
      state = {};
      for (var i = 0; i < ls.length; i++) {
        var full = ls.key(i);
        if (full && full.indexOf(prefix) === 0 && kept(full.slice(prefix.length))) {
          state[full.slice(prefix.length)] = ls.getItem(full);
        }
      }
    }
    frame.contentWindow.postMessage({ type: "n8n-chat-state", state: state, token: userToken }, relay);
  }
  function save(key, value) {
    var ls = store();
    if (!ls || typeof key !== "string" || !kept(key)) return;
    try {
      if (typeof value === "string") ls.setItem(prefix + key, value);
      else ls.removeItem(prefix + key);
    } catch (e) { /* over quota: the chat trims before it asks */ }
  }

  function emit(name, value) {
    (listeners[name] || []).slice().forEach(function (fn) {
      try { fn(value); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }
  function command(message) {
    message.type = "n8n-chat-command";
    if (!ready) { queue.push(message); return; }
    frame.contentWindow.postMessage(message, relay);
  }
  function size(open) {
    var narrow = window.innerWidth < 480;
    s.width = open ? (narrow ? "100vw" : "min(440px, 100vw)") : CLOSED.width;
    s.height = open ? (narrow ? "100dvh" : "min(720px, 100dvh)") : CLOSED.height;
  }

  window.addEventListener("message", function (e) {
    if (e.origin !== relay || e.source !== frame.contentWindow) return;
    var m = e.data;
    if (!m || m.type !== "n8n-chat") return;
    switch (m.event) {
      case "load":
        load();
        break;
      case "store":
        save(String(m.key), m.value);
        break;
      case "ready":
        ready = true;
        queue.splice(0).forEach(command);
        emit("ready");
        break;
      case "open":
      case "close":
        isOpen = !!m.open;
        size(isOpen);
        emit(m.event);
        break;
      case "message":
        emit("message", { id: String(m.id), text: String(m.text) });
        break;
      case "unread":
        emit("unread", Number(m.count) || 0);
        break;
      case "tokenExpired":
      case "tokenInvalid":
        emit(m.event, { message: String(m.message || "") });
        break;
    }
  });

  window.n8nChat = {
    open: function () { command({ command: "open" }); },
    close: function () { command({ command: "close" }); },
    toggle: function () { command({ command: "toggle" }); },
    send: function (text) { command({ command: "send", text: String(text) }); },
    setMetadata: function (metadata) { command({ command: "setMetadata", metadata: metadata }); },
    identify: function (token) {
      userToken = String(token);
      // Before the chat asked for its state, the token goes with it.
      command({ command: "identify", token: userToken });
    },
    forgetMe: function () { command({ command: "forgetMe" }); },
    isOpen: function () { return isOpen; },
    on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); return this; },
    off: function (name, fn) {
      listeners[name] = (listeners[name] || []).filter(function (f) { return f !== fn; });
      return this;
    },
  };

  function mount() { document.body.appendChild(frame); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
