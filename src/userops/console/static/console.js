/* userops console: draws the overview charts from the JSON embedded in the page.
   Needs /static/vendor/echarts.min.js (vendored, see vendor/VERSIONS.md). */
(function () {
  "use strict";

  var charts = [];

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function yuan(fen) {
    return "¥" + (fen / 100).toLocaleString("en-US", {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    });
  }

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function base(days) {
    var muted = cssVar("--muted", "#6b7280");
    var line = cssVar("--line", "#e5e7eb");
    return {
      animationDuration: 400,
      grid: { left: 16, right: 24, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", confine: true },
      xAxis: {
        type: "category",
        data: days,
        axisTick: { alignWithLabel: true },
        axisLine: { lineStyle: { color: line } },
        axisLabel: { color: muted, hideOverlap: true },
      },
      yAxis: {
        type: "value",
        minInterval: 1,
        axisLabel: { color: muted },
        splitLine: { lineStyle: { color: line } },
      },
    };
  }

  /* A day that is not over (partial) is drawn hatched (bars) or dashed (line), never like a
     full day, with a shaded, labelled area. */
  var HATCH = { symbol: "rect", symbolSize: 1, dashArrayX: [1, 0], dashArrayY: [2, 3], rotation: -Math.PI / 4, color: "rgba(255, 255, 255, 0.7)" };

  function partialArea(days, flags, label) {
    var first = flags.indexOf(true);
    if (first < 0) { return undefined; }
    return { silent: true, itemStyle: { color: "rgba(107, 114, 128, 0.10)" }, label: { show: true, position: "insideTop", formatter: label },
      data: [[{ xAxis: days[first] }, { xAxis: days[flags.lastIndexOf(true)] }]] };
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

  function drawOverview() {
    var data = readJSON("overview-data");
    var labels = readJSON("overview-labels");
    if (!data || !labels) {
      return;
    }
    var accent = cssVar("--accent", "#4f46e5");
    var accent2 = cssVar("--accent-2", "#0ea5e9");

    var flags = data.partial || data.days.map(function () { return false; });
    var signups = base(data.days);
    signups.series = [{
      name: labels.new_customers,
      type: "bar",
      data: data.new_customers.map(function (n, i) {
        return flags[i] ? { value: n, itemStyle: { opacity: 0.55, decal: HATCH, borderType: "dashed", borderColor: "#374151", borderWidth: 1 } } : n;
      }),
      itemStyle: { color: accent, borderRadius: [3, 3, 0, 0] },
      barMaxWidth: 18,
      markArea: partialArea(data.days, flags, labels.partial),
    }];
    draw("chart-new-customers", signups, labels.locale);

    var gmv = base(data.days);
    gmv.yAxis.minInterval = 0;
    gmv.yAxis.axisLabel.formatter = function (value) { return "¥" + value.toLocaleString("en-US"); };
    gmv.tooltip.valueFormatter = function (value) { return yuan(Math.round(value * 100)); };
    var values = data.gmv_fen.map(function (fen) { return fen / 100; });
    var solid = values.map(function (v, i) { return flags[i] ? null : v; });
    var dashed = values.map(function (v, i) { return flags[i] || (i + 1 < flags.length && flags[i + 1]) ? v : null; });
    gmv.series = [{
      name: labels.gmv,
      type: "line",
      showSymbol: false,
      data: solid,
      lineStyle: { color: accent2, width: 2 },
      itemStyle: { color: accent2 },
      areaStyle: { color: accent2, opacity: 0.12 },
      markArea: partialArea(data.days, flags, labels.partial),
    }, {
      name: labels.gmv + " (" + labels.partial + ")",
      type: "line",
      showSymbol: true,
      symbol: "emptyCircle",
      data: dashed,
      lineStyle: { color: accent2, width: 2, type: "dashed" },
      itemStyle: { color: accent2 },
    }];
    draw("chart-gmv", gmv, labels.locale);
  }

  function start() {
    drawOverview();
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
