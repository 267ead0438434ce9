/* Kaohe's dashboard: 总览 → a unit → a person, 待审批, 未按期汇报. Every number comes from
 * the API as an exact string; nothing is computed here but the histogram's bins. */
(function () {
  "use strict";
  var tg = window.Telegram.WebApp;
  var S = {};           // the page's words, from /api/me in the viewer's language
  var me = null;
  var stack = [];       // the views opened, for 返回
  var charts = [];
  var view = document.getElementById("view");

  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") el.textContent = attrs[key];
      else if (key === "onclick") el.addEventListener("click", attrs[key]);
      else el.setAttribute(key, attrs[key]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return el;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === null || values[key] === undefined ? "—" : String(values[key]);
    });
  }

  function api(path) {
    return fetch(path, { headers: { Authorization: "tma " + tg.initData } }).then(function (r) {
      // A proxy's 502 page or a plain-text error is not JSON: say the page's own words, not
      // the parser's ("Unexpected token '<'"); before /api/me they are the page's language.
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) {
          var e = new Error(body.message || S.error || "加载失败，请稍后重试。");
          e.status = r.status;
          throw e;
        }
        return body;
      });
    });
  }

  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  // -- navigation ---------------------------------------------------------------------------

  function open(kind, id, replace) {
    if (replace) stack = [];
    stack.push({ kind: kind, id: id });
    render();
  }

  function back() { if (stack.length > 1) { stack.pop(); render(); } }

  function render() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var current = stack[stack.length - 1];
    var backButton = document.getElementById("back");
    backButton.hidden = stack.length < 2;
    if (tg.BackButton) { if (stack.length > 1) tg.BackButton.show(); else tg.BackButton.hide(); }
    document.querySelectorAll("#tabs button").forEach(function (b) {
      b.classList.toggle("active", b.getAttribute("data-kind") === stack[0].kind);
    });
    view.replaceChildren(h("p", { class: "hint", text: S.loading }));
    var pages = { overview: overview, unit: unit, person: person, pending: pending, late: late };
    pages[current.kind](current.id).catch(function (error) {
      view.replaceChildren(h("p", { class: "error", "data-testid": "error",
        text: error.message || S.error }));
    });
  }

  function tabs() {
    var nav = document.getElementById("tabs");
    var names = me.role === "cadre" ? [["person", S.my_score]] :
      [["overview", S.overview], ["pending", S.pending], ["late", S.late], ["person", S.my_score]];
    names.forEach(function (pair) {
      nav.appendChild(h("button", { type: "button", "data-kind": pair[0], text: pair[1],
        onclick: function () { open(pair[0], pair[0] === "person" ? me.cadre_id : null, true); } }));
    });
  }

  // -- charts -------------------------------------------------------------------------------

  function guidePlugin(lines, vertical) {
    // The 90/70/60 lines (优秀, 称职, 基本称职) drawn over the chart.
    return { id: "guides", afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx, area = chart.chartArea;
      var scale = vertical ? chart.scales.x : chart.scales.y;
      ctx.save();
      ctx.setLineDash([4, 4]);
      ctx.lineWidth = 1;
      ctx.font = "11px sans-serif";
      [["excellent", "#2e9e4f"], ["competent", "#e0a800"], ["basic", "#d9433a"]].forEach(function (pair, i) {
        var value = Number(lines[pair[0]]);
        var at = scale.getPixelForValue(value);
        ctx.strokeStyle = pair[1];
        ctx.fillStyle = pair[1];
        ctx.beginPath();
        if (vertical) {
          if (at < area.left || at > area.right) return;
          ctx.moveTo(at, area.top); ctx.lineTo(at, area.bottom); ctx.stroke();
          ctx.fillText(S["line_" + pair[0]] + " " + value, at + 3, area.top + 12 + 14 * i);  // staggered: 60 and 70 sit close
        } else {
          if (at < area.top || at > area.bottom) return;
          ctx.moveTo(area.left, at); ctx.lineTo(area.right, at); ctx.stroke();
          ctx.fillText(S["line_" + pair[0]] + " " + value, area.left + 4, at - 3);
        }
      });
      ctx.restore();
    } };
  }

  function histogram(canvas, totals, lines) {
    var values = totals.map(Number);
    var low = Math.min(Number(lines.basic) - 5, Math.floor(Math.min.apply(null, values.concat([100])) / 2) * 2);
    // Totals may pass 100 (growth profile, innovation, co-operation): the axis follows them.
    var high = Math.max(100, Math.ceil(Math.max.apply(null, values) / 2) * 2 + 2);
    var bins = [];
    for (var x = low; x < high; x += 2) bins.push({ x: x + 1, y: 0 });
    values.forEach(function (v) {
      var i = Math.min(bins.length - 1, Math.max(0, Math.floor((v - low) / 2)));
      bins[i].y += 1;
    });
    charts.push(new Chart(canvas, {
      type: "bar",
      data: { datasets: [{ label: S.people, data: bins, backgroundColor: cssVar("--button"),
        barPercentage: 1, categoryPercentage: 1 }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { x: { type: "linear", min: low, max: high, ticks: { color: cssVar("--hint") } },
                  y: { beginAtZero: true, ticks: { precision: 0, color: cssVar("--hint") } } } },
      plugins: [guidePlugin(lines, true)]
    }));
  }

  function trend(canvas, weekly, lines) {
    charts.push(new Chart(canvas, {
      type: "line",
      data: { labels: weekly.map(function (w) { return w.day.slice(5); }),
        datasets: [{ label: S.total, data: weekly.map(function (w) { return Number(w.total); }),
          borderColor: cssVar("--button"), backgroundColor: cssVar("--button"), tension: 0.2 }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { y: { suggestedMin: Number(lines.basic) - 5, suggestedMax: 100,
                       ticks: { color: cssVar("--hint") } },
                  x: { ticks: { color: cssVar("--hint") } } } },
      plugins: [guidePlugin(lines, false)]
    }));
  }

  // -- pages --------------------------------------------------------------------------------

  function quotaText(q) {
    return fill(S.quota_line, { pool: q.pool, difficulty: q.difficulty, ratio: Math.round(Number(q.ratio) * 1000) / 10 + "%",
      slots: q.slots, members: q.members, line: q.excellent_line || S.no_excellent_yet });
  }

  // 红黄绿 (models/warnings.py): a dot in the worst key-task colour, and the open tasks per colour.
  var COLOURS = ["red", "yellow", "green"];

  function lightDot(light, attrs) {
    var dot = h("span", Object.assign({ class: "light" }, attrs || {}));
    if (light) paintLight(dot, light);
    return dot;
  }

  function paintLight(dot, light) {
    dot.className = "light light-" + light.colour;
    dot.setAttribute("data-light", light.colour);
    dot.title = S["light_" + light.colour];
  }

  function lightCounts(light) {
    return COLOURS.map(function (c) { return S["light_" + c] + " " + light.counts[c]; }).join(" ");
  }

  function arrow(trendName) {
    var mark = { up: "↑", down: "↓", flat: "→" }[trendName];
    return mark ? h("span", { class: trendName, "data-trend": trendName, text: mark }) : null;
  }

  function overview() {
    return api("/api/overview").then(function (data) {
      document.getElementById("title").textContent = S.title + " · " + data.period.name;
      if (!data.units.length) { view.replaceChildren(h("p", { class: "hint", text: S.empty })); return; }
      var list = h("ul", { class: "list", "data-testid": "units" });
      data.units.forEach(function (u, i) {
        var late = h("span", { class: "late", "data-unit": String(u.id), text: "…" });
        list.appendChild(h("li", { class: "tap", "data-testid": "unit-row", "data-unit": String(u.id),
            onclick: function () { open("unit", u.id); } },
          h("div", { class: "row" },
            h("span", { class: "rank", text: String(i + 1) }),
            lightDot(null, { "data-testid": "unit-light", "data-unit": String(u.id) }),
            h("span", { class: "grow", "data-testid": "unit-name", text: u.name }),
            // The unit's own score when it is assessed, else its members' mean, marked so.
            u.score ? h("span", { class: "total", "data-testid": "unit-score", text: u.score })
              : h("span", { class: "parts", text: u.mean ? S.mean + " " + u.mean : "—" })),
          h("div", { class: "parts" }, S.members + " " + u.members + " · " + S.not_reported + " ", late,
            " · ", h("span", { class: "light-counts", "data-unit": String(u.id), text: "…" }),
            " · " + quotaText(u.quota))));
      });
      // When the figures below were worked out (kept by a job beside the bot); empty: just now.
      var updated = h("p", { class: "hint", "data-testid": "figures-updated", text: "" });
      view.replaceChildren(updated, list);
      // The lights take a look at every open task: they follow the list too.
      api("/api/lights").then(function (body) {
        if (body.computed_at) updated.textContent = S.updated_at + " " + body.computed_at;
        document.querySelectorAll("[data-testid=unit-light]").forEach(function (el) {
          var light = body.lights[el.getAttribute("data-unit")];
          if (light) paintLight(el, light);
        });
        document.querySelectorAll("span.light-counts").forEach(function (el) {
          var light = body.lights[el.getAttribute("data-unit")];
          el.textContent = light ? lightCounts(light) : "";
        });
      }).catch(function () { /* the list stays useful without them */ });
      // Who has not reported takes longer to work out: it follows the list.
      api("/api/late-counts").then(function (body) {
        document.querySelectorAll("span.late").forEach(function (el) {
          el.textContent = String(body.counts[el.getAttribute("data-unit")] || 0);
        });
      }).catch(function () { /* the list stays useful without it */ });
    });
  }

  function unit(id) {
    return api("/api/unit/" + id).then(function (data) {
      document.getElementById("title").textContent = data.unit.name;
      var head = h("div", { class: "card" },
        h("div", { class: "row" }, lightDot(data.light, { "data-testid": "unit-light" }),
          h("span", { class: "grow", "data-testid": "unit-title", text: data.unit.name }),
          data.score ? h("span", { class: "big", text: data.score }) : null),
        h("div", { class: "parts", "data-testid": "unit-light-counts", text: lightCounts(data.light) }),
        h("div", { class: "parts", text: S.quota + ": " + quotaText(data.quota) }));
      var canvas = h("canvas", { "data-testid": "distribution" });
      var members = h("ul", { class: "list", "data-testid": "members" });
      data.members.forEach(function (m) {
        members.appendChild(h("li", { class: "tap", "data-testid": "member-row", "data-cadre": String(m.cadre_id),
            onclick: function () { open("person", m.cadre_id); } },
          h("div", { class: "row" },
            h("span", { class: "rank", text: String(m.rank) }),
            lightDot(m.light, { "data-testid": "member-light" }),
            h("span", { class: "grow", "data-testid": "member-name", text: m.name }),
            arrow(m.trend),
            h("span", { class: "total", "data-testid": "member-total", text: m.total })),
          h("div", { class: "parts", text: S.parts + ": " + [m.base, m.key, m.innovation, m.collaboration].join(" / ") })));
      });
      var parts = [head, h("h2", { text: S.distribution }), h("div", { class: "chart" }, canvas),
        h("h2", { text: S.members + " " + data.members.length }), members];
      if (data.children.length) {
        var below = h("ul", { class: "list" });
        data.children.forEach(function (c) {
          below.appendChild(h("li", { class: "tap", onclick: function () { open("unit", c.id); }, text: c.name }));
        });
        parts.push(h("h2", { text: S.units_below }), below);
      }
      view.replaceChildren.apply(view, parts);
      if (data.members.length) histogram(canvas, data.members.map(function (m) { return m.total; }), data.lines);
    });
  }

  function person(id) {
    return api("/api/person/" + id).then(function (data) {
      document.getElementById("title").textContent = data.cadre.name;
      var s = data.score;
      if (!s) {
        view.replaceChildren(h("p", { "data-testid": "person-name", text: data.cadre.name }),
          h("p", { class: "hint", text: S.no_score }));
        return;
      }
      var change = data.change === null ? null :
        h("span", { class: Number(data.change) > 0 ? "up" : Number(data.change) < 0 ? "down" : "flat",
          text: S.change + " " + (Number(data.change) > 0 ? "+" : "") + data.change });
      var head = h("div", { class: "card" },
        h("div", { class: "row" }, h("span", { class: "grow", "data-testid": "person-name", text: data.cadre.name }),
          h("span", { class: "big", "data-testid": "person-total", text: s.total })),
        h("div", { class: "parts" }, data.unit.name + " · " + fill(S.rank_unit, { rank: s.rank_in_unit }) +
          " · " + fill(S.rank_post, { rank: s.rank_in_post }) + " ", change),
        h("div", { class: "parts", text: S.base + " " + s.base + "（" + S.key + " " + s.key + "） · " +
          S.innovation + " " + s.innovation + " · " + S.collaboration + " " + s.collaboration }));
      var canvas = h("canvas", { "data-testid": "trend" });
      var tasks = h("ul", { class: "list", "data-testid": "tasks" });
      data.tasks.forEach(function (t) {
        tasks.appendChild(h("li", { "data-testid": "task-row" },
          h("div", { class: "row" }, h("span", { class: "grow", text: t.title }),
            h("span", { class: "total", "data-testid": "task-points", text: t.points })),
          h("div", { class: "parts", text: [S.weight + " " + t.weight, S.progress + " " + t.progress + "%",
            S.grade + " " + (t.grade || "—"), S.difficulty + " " + t.difficulty,
            S.boost + " " + (t.boost || "—")].join(" · ") })));
      });
      view.replaceChildren(head, h("h2", { text: S.trend_chart }), h("div", { class: "chart" }, canvas),
        h("h2", { text: S.tasks }), tasks);
      trend(canvas, data.weekly, data.lines);
    });
  }

  function pending() {
    return api("/api/pending").then(function (data) {
      document.getElementById("title").textContent = S.pending;
      if (!data.items.length) { view.replaceChildren(h("p", { class: "hint", text: S.empty })); return; }
      var list = h("ul", { class: "list", "data-testid": "pending" });
      data.items.forEach(function (w) {
        list.appendChild(h("li", {}, h("div", { class: "row" }, h("span", { class: "grow", text: w.task }),
          h("span", { class: "hint", text: w.submitted_on || "" })),
          h("div", { class: "parts", text: w.reporter + (w.occurrence ? " · " + w.occurrence : "") })));
      });
      view.replaceChildren(list);
    });
  }

  function late() {
    // A page at a time (a city's late people are thousands): "more" asks for the next.
    return api("/api/late").then(function (data) {
      document.getElementById("title").textContent = S.late;
      if (!data.units.length && data.next === null) {
        view.replaceChildren(h("p", { class: "hint", text: S.empty }));
        return;
      }
      view.replaceChildren();
      showLate(data);
    });
  }

  function showLate(data) {
    data.units.forEach(function (entry) {
      view.appendChild(h("h2", { text: entry.unit.name + " · " + entry.people.length }));
      var list = h("ul", { class: "list", "data-testid": "late" });
      entry.people.forEach(function (p) {
        list.appendChild(h("li", { class: "tap", onclick: function () { open("person", p.cadre_id); } },
          h("div", { text: p.name }), h("div", { class: "parts", text: p.tasks.join("；") })));
      });
      view.appendChild(list);
    });
    if (data.next === null) return;
    var more = h("button", { class: "more", "data-testid": "late-more", text: S.more });
    var failed = null;
    more.addEventListener("click", function () {
      more.disabled = true;
      if (failed) failed.remove();
      api("/api/late?start=" + data.next).then(function (next) {
        more.remove();
        showLate(next);
      }, function (error) {
        // Said as every other failure is, above the button, which is pressed again to retry.
        failed = h("p", { class: "error", "data-testid": "error", text: error.message || S.error });
        view.insertBefore(failed, more);
        more.disabled = false;
      });
    });
    view.appendChild(more);
  }

  // -- start --------------------------------------------------------------------------------

  function start() {
    tg.ready();
    if (tg.expand) tg.expand();
    if (tg.BackButton && tg.BackButton.onClick) tg.BackButton.onClick(back);
    api("/api/me").then(function (body) {
      me = body;
      S = body.strings;
      document.documentElement.lang = body.locale === "en" ? "en" : "zh-CN";
      document.title = S.title;
      var backButton = document.getElementById("back");
      backButton.textContent = S.back;
      backButton.addEventListener("click", back);
      var toChat = document.getElementById("to-chat");
      toChat.textContent = S.back_to_chat;
      toChat.hidden = false;
      toChat.addEventListener("click", function () { tg.close(); });
      tabs();
      if (me.role === "cadre") open("person", me.cadre_id, true); else open("overview", null, true);
    }).catch(function (error) {
      view.replaceChildren(h("p", { class: "error", "data-testid": "error", text: error.message }));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
