// webapp/static/app.js under node, with a DOM just big enough for it and a fetch that answers
// from the script given as JSON: {"path": [{"status": 200, "body": {...}}, ...]}, one answer
// per call in order. Steps (argv[3], JSON) click what they name and report what the page
// shows; the reports are printed as JSON. For what the browser test cannot check without
// Debian's chromium (tests/webapp/test_page_script.py).
"use strict";
const fs = require("fs");
const vm = require("vm");

class Text {
  constructor(text) { this.textContent = text; this.parent = null; }
  remove() { if (this.parent) this.parent.removeChild(this); }
}

class Element {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.attrs = {};
    this.parent = null;
    this.listeners = {};
    this.hidden = false;
    this.disabled = false;
    this.className = "";
    this.classList = { toggle: () => {}, add: () => {}, remove: () => {} };
  }
  get textContent() { return this.children.map((c) => c.textContent).join(""); }
  set textContent(value) { this.replaceChildren(new Text(String(value))); }
  setAttribute(key, value) {
    this.attrs[key] = String(value);
    if (key === "class") this.className = String(value);
  }
  getAttribute(key) { return key in this.attrs ? this.attrs[key] : null; }
  addEventListener(type, listener) { (this.listeners[type] = this.listeners[type] || []).push(listener); }
  click() { if (!this.disabled) (this.listeners.click || []).forEach((f) => f()); }
  appendChild(child) { child.remove(); child.parent = this; this.children.push(child); return child; }
  insertBefore(child, before) {
    const at = this.children.indexOf(before);
    if (at < 0) throw new Error("insertBefore: not a child");
    child.remove();
    child.parent = this;
    this.children.splice(this.children.indexOf(before), 0, child);
    return child;
  }
  removeChild(child) { this.children = this.children.filter((c) => c !== child); child.parent = null; }
  replaceChildren(...children) {
    this.children.forEach((c) => { c.parent = null; });
    this.children = [];
    children.forEach((c) => this.appendChild(c));
  }
  remove() { if (this.parent) this.parent.removeChild(this); }
  descendants() {
    return this.children.filter((c) => c instanceof Element)
      .flatMap((c) => [c].concat(c.descendants()));
  }
  matches(selector) {  // tag, .class, [attr=value], and their combinations
    const m = /^([a-z0-9]*)(?:\.([\w-]+))?(?:\[([\w-]+)=([\w-]+)\])?$/.exec(selector);
    if (!m) throw new Error("selector not supported: " + selector);
    return (!m[1] || this.tagName === m[1].toUpperCase()) &&
      (!m[2] || this.className.split(" ").includes(m[2])) &&
      (!m[3] || this.getAttribute(m[3]) === m[4]);
  }
}

const ids = {};
const body = new Element("body");
for (const [tag, id] of [["button", "back"], ["h1", "title"], ["button", "to-chat"],
                         ["nav", "tabs"], ["main", "view"]]) {
  ids[id] = body.appendChild(new Element(tag));
  ids[id].setAttribute("id", id);
}

function select(selector) {
  const parts = selector.split(" ");
  let scope = body;
  if (parts[0].startsWith("#")) scope = ids[parts.shift().slice(1)];
  return scope.descendants().filter((el) => el.matches(parts.join(" ")));
}

const script = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const calls = [];
const context = {
  console,
  Promise,
  Error,
  Object,
  Math,
  Number,
  String,
  setTimeout,
  document: {
    readyState: "complete",
    documentElement: { lang: "" },
    title: "",
    getElementById: (id) => ids[id],
    createElement: (tag) => new Element(tag),
    createTextNode: (text) => new Text(text),
    querySelectorAll: select,
  },
  getComputedStyle: () => ({ getPropertyValue: () => "" }),
  Chart: function () { this.destroy = () => {}; },
  fetch: (path) => {
    calls.push(path);
    const answers = script[path] || [];
    const answer = answers.length > 1 ? answers.shift() : answers[0];
    if (!answer) return Promise.reject(new TypeError("Failed to fetch"));
    return Promise.resolve({ ok: answer.status < 400, status: answer.status,
      json: () => Promise.resolve(answer.body) });
  },
};
context.window = context;
context.Telegram = { WebApp: { initData: "signed", ready: () => {}, expand: () => {},
  close: () => {}, BackButton: { show: () => {}, hide: () => {}, onClick: () => {} } } };

function settle() { return new Promise((resolve) => setTimeout(resolve, 10)); }

function seen() {
  const view = ids.view;
  return {
    errors: select("#view p").filter((p) => p.className === "error").map((p) => p.textContent),
    more: select("#view button").filter((b) => b.getAttribute("data-testid") === "late-more")
      .map((b) => ({ disabled: b.disabled, last: view.children[view.children.length - 1] === b })),
    headings: select("#view h2").map((h) => h.textContent),
  };
}

// A promise the page lets fail unhandled is reported (as a browser's console would show it).
const unhandled = [];
process.on("unhandledRejection", (reason) => { unhandled.push(String(reason)); });

(async () => {
  vm.createContext(context);
  vm.runInContext(fs.readFileSync(process.argv[4], "utf8"), context, { filename: "app.js" });
  const reports = [];
  for (const step of JSON.parse(process.argv[3])) {
    await settle();
    if (step.startsWith("tab:")) {
      select("#tabs button").find((b) => b.getAttribute("data-kind") === step.slice(4)).click();
    } else if (step === "more") {
      select("#view button").find((b) => b.getAttribute("data-testid") === "late-more").click();
    }
    await settle();
    reports.push(Object.assign({ step: step }, seen()));
  }
  process.stdout.write(JSON.stringify({ reports: reports, calls: calls, unhandled: unhandled }));
})().catch((error) => { process.stderr.write(String(error.stack || error)); process.exit(1); });
