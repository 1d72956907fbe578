/* userops console, analytics page: draws the report's chart from the JSON embedded in the page,
   and saves any chart as PNG. Needs /static/vendor/echarts.min.js (vendored). */
(function () {
  "use strict";

  var charts = {};

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function draw(id, option, locale) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) {
      return;
    }
    var chart = window.echarts.init(el, null, { renderer: "canvas", locale: locale });
    chart.setOption(option);
    charts[id] = chart;
    el.setAttribute("data-rendered", "true");
  }

  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }

  /* Partial periods (not over yet) are never drawn like full ones: hatched bars and cells with
     a dashed border, dashed line segments, and a shaded markArea labelled "partial". */
  var HATCH = { symbol: "rect", symbolSize: 1, dashArrayX: [1, 0], dashArrayY: [2, 3], rotation: -Math.PI / 4, color: "rgba(255, 255, 255, 0.7)" };

  function partialItem(value, partial, color) {
    if (!partial) { return value; }
    return { value: value, itemStyle: { color: color, opacity: 0.55, decal: HATCH, borderType: "dashed", borderColor: "#374151", borderWidth: 1 } };
  }

  function splitLine(values, flags) {
    /* [solid, dashed]: the dashed series starts at the last full point so the line joins up */
    var solid = [], dashed = [];
    values.forEach(function (v, i) {
      solid.push(flags[i] ? null : v);
      var joins = !flags[i] && i + 1 < flags.length && flags[i + 1];
      dashed.push(flags[i] || joins ? v : null);
    });
    return [solid, dashed];
  }

  function partialArea(categories, flags, label) {
    var first = flags.indexOf(true);
    if (first < 0) { return undefined; }
    var last = flags.lastIndexOf(true);
    return { silent: true, itemStyle: { color: "rgba(107, 114, 128, 0.10)" }, label: { show: true, position: "insideTop", color: "#6b7280", formatter: label },
      data: [[{ xAxis: categories[first] }, { xAxis: categories[last] }]] };
  }

  function retention(r, labels) {
    var cohorts = r.cohorts;
    var width = cohorts.length;
    var data = [];
    cohorts.forEach(function (c, y) {
      var flags = c.partial_cells || [];
      for (var k = 1; k < c.rates.length; k++) {
        var value = [k - 1, y, Math.round(c.rates[k] * 1000) / 10];
        data.push(flags[k] ? { value: value, partial: true, itemStyle: { decal: HATCH, borderType: "dashed", borderColor: "#374151", borderWidth: 1, opacity: 0.7 } } : value);
      }
    });
    var xs = [];
    for (var k = 1; k < width; k++) { xs.push("+" + k); }
    return {
      tooltip: { position: "top", formatter: function (p) {
        var text = cohorts[p.value[1]].start + " " + xs[p.value[0]] + ": " + p.value[2] + "%";
        return p.data && p.data.partial ? text + " (" + labels.partial + ")" : text;
      } },
      grid: { left: 90, right: 20, top: 10, bottom: 60 },
      xAxis: { type: "category", data: xs, splitArea: { show: true } },
      yAxis: { type: "category", data: cohorts.map(function (c) { return c.start + " (" + c.size + ")"; }), inverse: true },
      visualMap: { min: 0, max: 100, calculable: true, orient: "horizontal", left: "center", bottom: 0, inRange: { color: ["#eef2ff", "#4f46e5"] } },
      series: [{ type: "heatmap", data: data, label: { show: width <= 16, formatter: function (p) { return p.value[2] + "%"; } } }],
    };
  }

  function funnel(r, labels) {
    var steps = r.steps;
    return {
      tooltip: { trigger: "axis" },
      grid: { left: 16, right: 24, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: steps.map(function (s) { return s.step; }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: labels.people, type: "bar", stack: "f", data: steps.map(function (s) { return s.people; }), itemStyle: { color: "#4f46e5" },
          label: { show: true, position: "insideTop", color: "#fff", formatter: function (p) { return pct(steps[p.dataIndex].conversion_from_first); } } },
        { name: "drop-off", type: "bar", stack: "f", data: steps.map(function (s) { return s.dropped; }), itemStyle: { color: "#fca5a5" } },
      ],
    };
  }

  function aarrr(r, labels) {
    var periods = r.periods;
    var xs = periods.map(function (p) { return p.start; });
    var flags = periods.map(function (p) { return !!p.partial; });
    var gmv = splitLine(periods.map(function (p) { return p.gmv_fen / 100; }), flags);
    var next = periods.map(function (p) { return p.retention_next_period === null ? null : Math.round(p.retention_next_period * 1000) / 10; });
    var nextFlags = periods.map(function (p) { return !!p.retention_next_period_partial; });
    var nextLines = splitLine(next, nextFlags);
    var week1 = periods.map(function (p) { return p.week1_retention === null ? null : Math.round(p.week1_retention * 1000) / 10; });
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 16, right: 24, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: xs },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value" }, { type: "value", max: 100, show: false }],
      series: [
        { name: labels.new, type: "bar", data: periods.map(function (p, i) { return partialItem(p.new_customers, flags[i], "#4f46e5"); }), itemStyle: { color: "#4f46e5" },
          markArea: partialArea(xs, flags, labels.partial) },
        { name: labels.gmv, type: "line", yAxisIndex: 1, data: gmv[0], itemStyle: { color: "#0ea5e9" } },
        { name: labels.gmv, type: "line", yAxisIndex: 1, data: gmv[1], itemStyle: { color: "#0ea5e9" }, lineStyle: { type: "dashed" }, symbol: "emptyCircle", tooltip: { show: false } },
        { name: labels.week1, type: "line", yAxisIndex: 2, data: week1, itemStyle: { color: "#f59e0b" }, connectNulls: false },
        { name: labels.next_period, type: "line", yAxisIndex: 2, data: nextLines[0], itemStyle: { color: "#10b981" } },
        { name: labels.next_period, type: "line", yAxisIndex: 2, data: nextLines[1], itemStyle: { color: "#10b981" }, lineStyle: { type: "dashed" }, symbol: "emptyCircle", tooltip: { show: false } },
      ],
    };
  }

  function channels(r, labels) {
    var rows = r.channels.filter(function (c) { return c.roi_90d !== null; });
    return {
      tooltip: { trigger: "axis" },
      grid: { left: 16, right: 24, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: rows.map(function (c) { return c.channel; }) },
      series: [
        { name: labels.roi, type: "bar", data: rows.map(function (c) {
          var color = c.roi_flag === "better" ? "#047857" : (c.roi_flag === "worse" ? "#b91c1c" : "#4f46e5");
          return { value: c.roi_90d, itemStyle: { color: color } };
        }) },
        { name: "95% CI", type: "custom", data: rows.map(function (c, i) { return [i, c.roi_90d_ci[0], c.roi_90d_ci[1]]; }),
          renderItem: function (params, api) {
            var lo = api.coord([api.value(1), api.value(0)]);
            var hi = api.coord([api.value(2), api.value(0)]);
            return { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: { stroke: "#111827", lineWidth: 2 } };
          } },
      ],
    };
  }

  function magicBars(b, labels) {
    return {
      grid: { left: 16, right: 16, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: ["< " + b.threshold, "≥ " + b.threshold] },
      yAxis: { type: "value", max: 1, axisLabel: { formatter: function (v) { return v * 100 + "%"; } } },
      series: [{ type: "bar", data: [b.retention_below, b.retention_above], itemStyle: { color: "#4f46e5" },
        label: { show: true, position: "top", formatter: function (p) { return pct(p.value); } } }],
    };
  }

  function magic(r, labels) {
    r.behaviours.slice(0, 6).forEach(function (b, i) { draw("magic-chart-" + i, magicBars(b, labels), labels.locale); });
    var rows = r.behaviours.slice(0, 12);
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 16, right: 24, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: rows.map(function (b) { return b.event + " ≥ " + b.threshold; }), axisLabel: { rotate: 30 } },
      yAxis: { type: "value", axisLabel: { formatter: function (v) { return v * 100 + "%"; } } },
      series: [
        { name: labels.above, type: "bar", data: rows.map(function (b) { return b.retention_above; }), itemStyle: { color: "#4f46e5" } },
        { name: labels.below, type: "bar", data: rows.map(function (b) { return b.retention_below; }), itemStyle: { color: "#cbd5e1" } },
      ],
    };
  }

  var BUILD = { retention: retention, funnel: funnel, aarrr: aarrr, channels: channels, magic: magic };

  function start() {
    var data = readJSON("analytics-data");
    var labels = readJSON("analytics-labels");
    if (data && labels && data.result && BUILD[data.tab]) {
      draw("main-chart", BUILD[data.tab](data.result, labels), labels.locale);
    }
    var button = document.getElementById("download-png");
    if (button) {
      button.addEventListener("click", function () {
        var chart = charts[button.getAttribute("data-chart")];
        if (!chart) { return; }
        var link = document.createElement("a");
        link.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
        link.download = (data ? data.tab : "chart") + ".png";
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
    }
    window.addEventListener("resize", function () {
      Object.keys(charts).forEach(function (k) { charts[k].resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
