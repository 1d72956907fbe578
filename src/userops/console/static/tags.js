/* userops console: the customer system page (/tags). Draws one ECharts chart per tag family
   and the lifecycle transitions (Sankey) from the JSON embedded in the page.
   Needs /static/vendor/echarts.min.js (vendored). */
(function () {
  "use strict";

  var charts = [];

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function draw(el, option, locale) {
    var chart = window.echarts.init(el, null, { renderer: "canvas", locale: locale });
    chart.setOption(option);
    charts.push(chart);
    el.setAttribute("data-rendered", "true");
  }

  function palette() {
    return [
      cssVar("--accent", "#4f46e5"), cssVar("--accent-2", "#0ea5e9"), "#10b981", "#f59e0b",
      "#ef4444", "#8b5cf6", "#14b8a6", "#f97316", "#64748b", "#ec4899", "#84cc16",
    ];
  }

  function familyChart(spec, data) {
    var muted = cssVar("--muted", "#6b7280");
    var line = cssVar("--line", "#e5e7eb");
    var labels = spec.items.map(function (i) { return i.label; });
    var values = spec.items.map(function (i) { return i.customers; });
    if (spec.kind === "pie") {
      return {
        color: palette(),
        tooltip: { trigger: "item", confine: true, formatter: "{b}: {c} ({d}%)" },
        legend: { bottom: 0, textStyle: { color: muted }, type: "scroll" },
        series: [{
          name: data.customers,
          type: "pie",
          radius: ["38%", "68%"],
          center: ["50%", "44%"],
          label: { show: false },
          data: spec.items.map(function (i) { return { name: i.label, value: i.customers }; }),
        }],
      };
    }
    var horizontal = labels.length > 8;
    var category = {
      type: "category",
      data: labels,
      axisLine: { lineStyle: { color: line } },
      axisLabel: { color: muted, hideOverlap: !horizontal, interval: 0 },
      inverse: horizontal,
    };
    var value = {
      type: "value",
      minInterval: 1,
      axisLabel: { color: muted },
      splitLine: { lineStyle: { color: line } },
    };
    return {
      grid: { left: 8, right: 24, top: 12, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", confine: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: [{
        name: data.customers,
        type: "bar",
        data: values,
        barMaxWidth: 22,
        itemStyle: { color: cssVar("--accent", "#4f46e5"), borderRadius: 3 },
      }],
    };
  }

  function sankey(data) {
    var nodes = {};
    var links = [];
    function node(side, label) {
      var key = side + ":" + label;
      if (!nodes[key]) {
        nodes[key] = { name: key, display: label, depth: side === "a" ? 0 : 1 };
      }
      return key;
    }
    data.moves.forEach(function (m) {
      links.push({
        source: node("a", m.from_label),
        target: node("b", m.to_label),
        value: m.customers,
      });
    });
    var list = Object.keys(nodes).map(function (k) { return nodes[k]; });
    var display = {};
    list.forEach(function (n) { display[n.name] = n.display; });
    return {
      color: palette(),
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: function (p) {
          if (p.dataType === "edge") {
            return display[p.data.source] + " → " + display[p.data.target] + ": " + p.data.value;
          }
          return display[p.name] + (p.value ? ": " + p.value : "");
        },
      },
      series: [{
        type: "sankey",
        left: 8,
        right: 90,
        top: 24,
        bottom: 8,
        nodeAlign: "justify",
        emphasis: { focus: "adjacency" },
        lineStyle: { color: "gradient", opacity: 0.45 },
        label: {
          color: cssVar("--ink", "#111827"),
          formatter: function (p) { return display[p.name]; },
        },
        data: list,
        links: links,
      }],
      graphic: [
        { type: "text", left: 8, top: 0, style: { text: data.previous, fill: cssVar("--muted", "#6b7280") } },
        { type: "text", right: 8, top: 0, style: { text: data.current, fill: cssVar("--muted", "#6b7280") } },
      ],
    };
  }

  function start() {
    var holder = document.getElementById("tags-data");
    if (!holder || !window.echarts) {
      return;
    }
    var data = JSON.parse(holder.textContent);
    data.charts.forEach(function (spec) {
      var el = document.getElementById(spec.id);
      if (el && spec.items.length) {
        draw(el, familyChart(spec, data), data.locale);
      }
    });
    var flow = document.getElementById("chart-transitions");
    if (flow && data.moves.length) {
      draw(flow, sankey(data), data.locale);
    }
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
