/* userops console, CLV page: draws the charts from the JSON embedded in the page.
   Needs /static/vendor/echarts.min.js (vendored). */
(function () {
  "use strict";

  var charts = [];

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function yuan(fen) {
    return "¥" + (fen / 100).toLocaleString("en-US", { maximumFractionDigits: 0 });
  }

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function axes(categories) {
    var muted = cssVar("--muted", "#6b7280");
    var line = cssVar("--line", "#e5e7eb");
    return {
      animationDuration: 400,
      grid: { left: 16, right: 24, top: 32, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", confine: true },
      legend: { top: 0, textStyle: { color: muted } },
      xAxis: {
        type: "category",
        data: categories,
        axisLine: { lineStyle: { color: line } },
        axisLabel: { color: muted, hideOverlap: true },
      },
      yAxis: {
        type: "value",
        axisLabel: { color: muted },
        splitLine: { lineStyle: { color: line } },
      },
    };
  }

  function draw(id, option, locale) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) {
      return;
    }
    var chart = window.echarts.init(el, null, { renderer: "canvas", locale: locale });
    chart.setOption(option);
    charts.push(chart);
    el.setAttribute("data-rendered", "true");
  }

  function start() {
    var data = readJSON("clv-data");
    var labels = readJSON("clv-labels");
    if (!data || !labels) {
      return;
    }
    var accent = cssVar("--accent", "#4f46e5");
    var accent2 = cssVar("--accent-2", "#0ea5e9");

    var names = data.buckets.map(function (b) {
      return b.upper_fen === null ? "≥ " + yuan(b.lower_fen) : yuan(b.lower_fen) + "–" + yuan(b.upper_fen);
    });
    var dist = axes(names);
    dist.series = [{
      name: labels.customers,
      type: "bar",
      data: data.buckets.map(function (b) { return b.customers; }),
      itemStyle: { color: accent, borderRadius: [3, 3, 0, 0] },
      barMaxWidth: 36,
    }];
    draw("chart-clv-distribution", dist, labels.locale);

    var stages = data.risk.map(function (r) { return labels.stages[r.lifecycle] || r.lifecycle; });
    var risk = axes(stages);
    risk.series = ["high", "medium", "low"].map(function (level, i) {
      return {
        name: labels[level],
        type: "bar",
        stack: "risk",
        data: data.risk.map(function (r) { return r[level]; }),
        itemStyle: { color: ["#dc2626", "#f59e0b", "#16a34a"][i] },
        barMaxWidth: 36,
      };
    });
    draw("chart-churn-risk", risk, labels.locale);

    var d = data.diagnostics;
    if (!d || d.error) {
      return;
    }
    var freq = axes(d.by_frequency.map(function (r) { return r.frequency; }));
    freq.series = [
      { name: labels.actual, type: "bar", data: d.by_frequency.map(function (r) { return +r.actual.toFixed(3); }),
        itemStyle: { color: accent } },
      { name: labels.predicted, type: "bar", data: d.by_frequency.map(function (r) { return +r.predicted.toFixed(3); }),
        itemStyle: { color: accent2 } },
    ];
    draw("chart-by-frequency", freq, labels.locale);

    var track = axes(d.cumulative.map(function (p) { return p.end; }));
    var split = d.cumulative.findIndex(function (p) { return p.end >= d.calibration_end; });
    track.series = [
      { name: labels.actual, type: "line", showSymbol: false, data: d.cumulative.map(function (p) { return p.actual; }),
        lineStyle: { color: accent, width: 2 }, itemStyle: { color: accent },
        markLine: split < 0 ? undefined : { symbol: "none", label: { formatter: labels.calibration_end },
          lineStyle: { type: "dashed" }, data: [{ xAxis: d.cumulative[split].end }] } },
      { name: labels.predicted, type: "line", showSymbol: false, data: d.cumulative.map(function (p) { return +p.predicted.toFixed(1); }),
        lineStyle: { color: accent2, width: 2, type: "dashed" }, itemStyle: { color: accent2 } },
    ];
    draw("chart-tracking", track, labels.locale);

    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
