/* userops console: segments. The visual rule builder (/segments/new, /segments/<name>) and the
   size sparklines of the list (/segments). Vanilla JS, no framework.

   The builder keeps a tree in memory:
     group:     {g: "all" | "any", not: bool, children: [node, ...]}
     condition: {type, field, op, value, within_days, days, custom, where: [{property, op, value}],
                 not: bool}
   and writes the rule JSON (docs/segments.md) into #rule-input (saved with the form) and
   #preview-rule, then fires "rule-changed" on #preview-form; htmx posts it to /segments/preview
   after 400 ms without changes and swaps the count and sample into #preview. */
(function () {
  "use strict";

  var OPS = {
    string: ["eq", "ne", "in", "not_in", "contains", "is_null", "not_null"],
    list: ["contains", "is_null", "not_null"],
    number: ["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", "is_null", "not_null"],
    timestamp: ["gte", "gt", "lte", "lt", "between", "is_null", "not_null"],
    date: ["eq", "gte", "gt", "lte", "lt", "between", "is_null", "not_null"],
    boolean: ["eq", "ne", "is_null", "not_null"],
    tag: ["eq", "ne", "in", "not_in", "contains", "is_null", "not_null"],
    count: ["gte", "gt", "eq", "ne", "lte", "lt", "between"],
    where: ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains"],
  };
  var FIELD_TYPES = ["tag", "attr", "rfm", "score"];
  var NO_VALUE = ["is_null", "not_null"];
  var CUSTOM = "__custom";

  var registry = null;
  var L = null;
  var root = null;
  var errorPath = "";

  // ---- small helpers -----------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) {
        return;
      }
      if (key === "text") {
        node.textContent = value;
      } else if (key.slice(0, 2) === "on") {
        node.addEventListener(key.slice(2), value);
      } else if (key === "value") {
        node.value = value;
      } else if (key === "checked") {
        node.checked = true;
      } else {
        node.setAttribute(key, value === true ? "" : value);
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function select(cls, options, current, onchange, label) {
    var box = el("select", { class: cls, "aria-label": label, onchange: onchange });
    options.forEach(function (o) {
      box.appendChild(el("option", { value: o.value, text: o.label }));
    });
    if (current !== undefined && current !== null) {
      box.value = String(current);
    }
    return box;
  }

  function joinPath(path, part) {
    return path ? path + "." + part : part;
  }

  function fieldsOf(type) {
    if (type === "orders") {
      return registry.orders;
    }
    return registry[type] || [];
  }

  function fieldSpec(cond) {
    var found = null;
    fieldsOf(cond.type).forEach(function (f) {
      if (f.name === cond.field) {
        found = f;
      }
    });
    return found;
  }

  function kindOf(cond) {
    if (cond.type === "tag") {
      return "tag";
    }
    if (cond.type === "orders" || cond.type === "events" || cond.type === "bought") {
      return "count";
    }
    if (cond.type === "attr" && cond.field === CUSTOM) {
      return "string";
    }
    var spec = fieldSpec(cond);
    return spec ? spec.kind : "string";
  }

  function opsOf(cond) {
    return OPS[kindOf(cond)] || OPS.string;
  }

  // ---- rule JSON <-> tree ------------------------------------------------------------------

  function fromRule(raw, negate) {
    negate = !!negate;
    if (raw && typeof raw === "object" && !Array.isArray(raw)) {
      if ("not" in raw) {
        return fromRule(raw.not, !negate);
      }
      if (Array.isArray(raw.all) || Array.isArray(raw.any)) {
        var g = Array.isArray(raw.all) ? "all" : "any";
        return { g: g, not: negate, children: raw[g].map(function (c) { return fromRule(c); }) };
      }
      var types = ["tag", "attr", "rfm", "score", "orders", "events", "inactive", "reachable",
        "segment", "bought"];
      for (var i = 0; i < types.length; i += 1) {
        var type = types[i];
        if (type in raw) {
          var cond = {
            type: type, field: raw[type], op: raw.op, value: raw.value, not: negate,
            within_days: raw.within_days, days: raw.days, where: raw.where || [],
          };
          if (type === "attr" && String(cond.field).indexOf("attributes.") === 0) {
            cond.custom = String(cond.field).slice("attributes.".length);
            cond.field = CUSTOM;
          }
          if (type === "events" || type === "bought") {
            cond.op = cond.op || "gte";
            cond.value = cond.value === undefined ? 1 : cond.value;
          }
          if (type === "inactive" && cond.field !== "order") {
            cond.event = cond.field;
            cond.field = "event";
          }
          return cond;
        }
      }
    }
    throw new Error("unsupported rule node");
  }

  function number(text) {
    if (typeof text === "number") {
      return text;
    }
    var trimmed = String(text === undefined || text === null ? "" : text).trim();
    if (trimmed !== "" && !isNaN(Number(trimmed))) {
      return Number(trimmed);
    }
    return trimmed;
  }

  function typed(value, kind) {
    if (kind === "number" || kind === "count") {
      return number(value);
    }
    if (kind === "boolean") {
      return value === true || value === "true";
    }
    return value === undefined || value === null ? "" : String(value);
  }

  function valueOf(cond) {
    var kind = kindOf(cond);
    var op = cond.op;
    var value = cond.value;
    if (op === "in" || op === "not_in") {
      var items = Array.isArray(value) ? value : String(value || "").split(/[,，]/);
      return items
        .map(function (v) { return typeof v === "string" ? v.trim() : v; })
        .filter(function (v) { return v !== ""; })
        .map(function (v) { return typed(v, kind); });
    }
    if (op === "between") {
      var pair = Array.isArray(value) ? value : ["", ""];
      return [typed(pair[0], kind), typed(pair[1], kind)];
    }
    return typed(Array.isArray(value) ? value[0] : value, kind);
  }

  function toRule(node) {
    var out;
    if (node.g) {
      out = {};
      out[node.g] = node.children.map(toRule);
    } else {
      out = {};
      var field = node.field;
      if (node.type === "attr" && field === CUSTOM) {
        field = "attributes." + (node.custom || "");
      }
      if (node.type === "inactive") {
        out.inactive = node.field === "event" ? node.event || "" : "order";
        out.days = number(node.days);
      } else if (node.type === "reachable" || node.type === "segment") {
        out[node.type] = field;
      } else {
        out[node.type] = field;
        out.op = node.op;
        if (NO_VALUE.indexOf(node.op) < 0) {
          out.value = valueOf(node);
        }
        if ((node.type === "orders" || node.type === "events" || node.type === "bought")
            && node.within_days !== undefined
            && node.within_days !== null && String(node.within_days).trim() !== "") {
          out.within_days = number(node.within_days);
        }
        if (node.type === "events" && node.where.length) {
          out.where = node.where.map(function (w) {
            var item = { property: w.property, op: w.op };
            if (w.op === "in" || w.op === "not_in") {
              item.value = String(w.value || "").split(/[,，]/).map(function (v) {
                return number(v);
              }).filter(function (v) { return v !== ""; });
            } else {
              item.value = number(w.value);
            }
            return item;
          });
        }
      }
    }
    return node.not ? { not: out } : out;
  }

  // ---- defaults ----------------------------------------------------------------------------

  function firstField(type) {
    var fields = fieldsOf(type);
    return fields.length ? fields[0].name : "";
  }

  function defaultValue(cond) {
    if (cond.type === "tag") {
      var spec = fieldSpec(cond);
      return spec && spec.values.length ? spec.values[0].value : "";
    }
    if (kindOf(cond) === "boolean") {
      return true;
    }
    if (kindOf(cond) === "count") {
      return 1;
    }
    return "";
  }

  function resetField(cond) {
    var ops = opsOf(cond);
    if (ops.indexOf(cond.op) < 0) {
      cond.op = ops[0];
    }
    cond.value = defaultValue(cond);
  }

  function newCondition(type) {
    var cond = { type: type || "tag", field: "", op: "", value: "", not: false, where: [] };
    setType(cond, cond.type);
    return cond;
  }

  function setType(cond, type) {
    cond.type = type;
    cond.where = [];
    cond.within_days = undefined;
    cond.custom = undefined;
    if (type === "events") {
      cond.field = "";
      cond.op = "gte";
      cond.value = 1;
      return;
    }
    if (type === "inactive") {
      cond.field = "order";
      cond.days = 30;
      return;
    }
    if (type === "tag") {
      cond.field = "lifecycle";
    } else {
      cond.field = firstField(type);
    }
    cond.op = "";
    resetField(cond);
  }

  // ---- rendering ---------------------------------------------------------------------------

  function render() {
    var holder = document.getElementById("builder");
    holder.textContent = "";
    holder.appendChild(renderGroup(root, null, "", 0));
    changed();
  }

  function negateBox(node, path) {
    return el("label", { class: "negate" }, [
      el("input", {
        type: "checkbox",
        class: "b-not",
        checked: node.not,
        onchange: function (e) { node.not = e.target.checked; render(); },
      }),
      " " + L.negate,
    ]);
  }

  function renderGroup(group, parent, path, depth) {
    var own = group.not ? joinPath(path, "not") : path;
    var box = el("div", { class: "b-group depth-" + (depth % 3), "data-path": own });
    var head = el("div", { class: "b-group-head" }, [
      select("b-kind", [
        { value: "all", label: L.group_all },
        { value: "any", label: L.group_any },
      ], group.g, function (e) { group.g = e.target.value; render(); }, L.type),
      negateBox(group, own),
    ]);
    if (parent) {
      head.appendChild(el("button", {
        type: "button",
        class: "b-remove link-button",
        text: L.remove,
        onclick: function () {
          parent.children.splice(parent.children.indexOf(group), 1);
          render();
        },
      }));
    }
    box.appendChild(head);
    var list = el("div", { class: "b-children" });
    if (!group.children.length) {
      list.appendChild(el("p", { class: "hint b-empty", text: L.empty_group }));
    }
    group.children.forEach(function (child, i) {
      var childPath = joinPath(own, group.g + "[" + i + "]");
      list.appendChild(child.g
        ? renderGroup(child, group, childPath, depth + 1)
        : renderCondition(child, group, childPath));
    });
    box.appendChild(list);
    box.appendChild(el("div", { class: "b-group-foot" }, [
      el("button", {
        type: "button",
        class: "b-add-condition",
        text: "+ " + L.add_condition,
        onclick: function () { group.children.push(newCondition("tag")); render(); },
      }),
      el("button", {
        type: "button",
        class: "b-add-group",
        text: "+ " + L.add_group,
        onclick: function () {
          group.children.push({ g: group.g === "all" ? "any" : "all", not: false,
            children: [newCondition("tag")] });
          render();
        },
      }),
    ]));
    return box;
  }

  function typeOptions() {
    return Object.keys(L.types).map(function (k) { return { value: k, label: L.types[k] }; });
  }

  function renderCondition(cond, parent, path) {
    var own = cond.not ? joinPath(path, "not") : path;
    var row = el("div", { class: "b-cond", "data-path": own });
    row.appendChild(negateBox(cond, own));
    row.appendChild(select("c-type", typeOptions(), cond.type, function (e) {
      setType(cond, e.target.value);
      render();
    }, L.type));

    if (cond.type === "events") {
      row.appendChild(el("input", {
        class: "c-event", type: "text", value: cond.field, placeholder: L.event_name,
        "aria-label": L.event_name,
        oninput: function (e) { cond.field = e.target.value; changed(); },
      }));
    } else if (cond.type === "inactive") {
      row.appendChild(select("c-field", [
        { value: "order", label: L.inactive_order },
        { value: "event", label: L.inactive_event },
      ], cond.field, function (e) { cond.field = e.target.value; render(); }, L.field));
      if (cond.field === "event") {
        row.appendChild(el("input", {
          class: "c-event", type: "text", value: cond.event || "", placeholder: L.event_name,
          "aria-label": L.event_name,
          oninput: function (e) { cond.event = e.target.value; changed(); },
        }));
      }
      row.appendChild(el("label", { class: "c-days" }, [
        L.days + " ",
        el("input", {
          type: "number", min: "1", class: "c-days-input", value: cond.days,
          oninput: function (e) { cond.days = e.target.value; changed(); },
        }),
      ]));
    } else {
      var fields = fieldsOf(cond.type).map(function (f) { return { value: f.name, label: f.label }; });
      if (cond.type === "attr") {
        fields.push({ value: CUSTOM, label: L.custom_attribute });
      }
      if ((cond.type === "segment" || cond.type === "bought") && !fields.length) {
        fields.push({ value: "", label: "—" });
      }
      if (cond.type === "bought" && cond.field && !fieldSpec(cond)) {
        fields.push({ value: cond.field, label: cond.field }); // a node no longer in the tree
      }
      row.appendChild(select("c-field", fields, cond.field, function (e) {
        cond.field = e.target.value;
        resetField(cond);
        render();
      }, L.field));
      if (cond.type === "attr" && cond.field === CUSTOM) {
        row.appendChild(el("input", {
          class: "c-custom", type: "text", value: cond.custom || "", placeholder: L.custom_key,
          "aria-label": L.custom_key,
          oninput: function (e) { cond.custom = e.target.value; changed(); },
        }));
      }
    }

    if (cond.type !== "inactive" && cond.type !== "reachable" && cond.type !== "segment") {
      row.appendChild(select("c-op", opsOf(cond).map(function (op) {
        return { value: op, label: registry.operators[op] || op };
      }), cond.op, function (e) {
        var before = cond.op;
        cond.op = e.target.value;
        if ((before === "in" || before === "not_in") !== (cond.op === "in" || cond.op === "not_in")
            || (before === "between") !== (cond.op === "between")) {
          cond.value = cond.op === "between" ? ["", ""] : defaultValue(cond);
        }
        render();
      }, L.operator));
      if (NO_VALUE.indexOf(cond.op) < 0) {
        row.appendChild(valueInput(cond));
      }
    }
    if (cond.type === "orders" || cond.type === "events" || cond.type === "bought") {
      row.appendChild(el("label", { class: "c-within" }, [
        L.within_days + " ",
        el("input", {
          type: "number", min: "1", class: "c-within-input",
          value: cond.within_days === undefined ? "" : cond.within_days,
          oninput: function (e) { cond.within_days = e.target.value; changed(); },
        }),
      ]));
    }
    row.appendChild(el("button", {
      type: "button",
      class: "b-remove link-button",
      text: L.remove,
      onclick: function () {
        parent.children.splice(parent.children.indexOf(cond), 1);
        render();
      },
    }));
    if (cond.type === "events") {
      row.appendChild(renderWhere(cond, own));
    }
    return row;
  }

  function valueInput(cond) {
    var kind = kindOf(cond);
    var op = cond.op;
    var spec = fieldSpec(cond);
    var known = cond.type === "tag" && spec && spec.values.length ? spec.values : null;
    if (known && (op === "eq" || op === "ne")) {
      var options = known.map(function (v) {
        return { value: v.value, label: v.label + " (" + v.customers + ")" };
      });
      return select("c-value", options, cond.value, function (e) {
        cond.value = e.target.value;
        changed();
      }, L.value);
    }
    if (known && (op === "in" || op === "not_in")) {
      var chosen = Array.isArray(cond.value) ? cond.value.slice() : [];
      var box = el("span", { class: "c-value c-multi", role: "group", "aria-label": L.value });
      known.forEach(function (v) {
        box.appendChild(el("label", { class: "c-check" }, [
          el("input", {
            type: "checkbox", value: v.value, checked: chosen.indexOf(v.value) >= 0,
            onchange: function (e) {
              var at = chosen.indexOf(v.value);
              if (e.target.checked && at < 0) {
                chosen.push(v.value);
              } else if (!e.target.checked && at >= 0) {
                chosen.splice(at, 1);
              }
              cond.value = chosen.slice();
              changed();
            },
          }),
          " " + v.label,
        ]));
      });
      cond.value = chosen;
      return box;
    }
    if (kind === "boolean") {
      return select("c-value", [
        { value: "true", label: L["true"] },
        { value: "false", label: L["false"] },
      ], String(cond.value === true || cond.value === "true"), function (e) {
        cond.value = e.target.value === "true";
        changed();
      }, L.value);
    }
    var inputType = kind === "number" || kind === "count" ? "number"
      : kind === "timestamp" || kind === "date" ? "date" : "text";
    if (op === "between") {
      var pair = Array.isArray(cond.value) ? cond.value : ["", ""];
      cond.value = pair;
      return el("span", { class: "c-value c-between" }, [
        el("input", {
          type: inputType, class: "c-low", value: pair[0], "aria-label": L.value,
          oninput: function (e) { pair[0] = e.target.value; changed(); },
        }),
        " " + L.and_low + " ",
        el("input", {
          type: inputType, class: "c-high", value: pair[1], "aria-label": L.value,
          oninput: function (e) { pair[1] = e.target.value; changed(); },
        }),
      ]);
    }
    if (op === "in" || op === "not_in") {
      return el("input", {
        type: "text", class: "c-value", placeholder: L.values_hint, "aria-label": L.value,
        value: Array.isArray(cond.value) ? cond.value.join(", ") : cond.value,
        oninput: function (e) { cond.value = e.target.value; changed(); },
      });
    }
    return el("input", {
      type: inputType, class: "c-value", "aria-label": L.value,
      value: cond.value === undefined || cond.value === null ? "" : cond.value,
      oninput: function (e) { cond.value = e.target.value; changed(); },
    });
  }

  function renderWhere(cond, path) {
    var box = el("div", { class: "c-where" });
    cond.where.forEach(function (w, i) {
      box.appendChild(el("div", { class: "c-filter", "data-path": joinPath(path, "where[" + i + "]") }, [
        el("input", {
          type: "text", class: "w-property", value: w.property, placeholder: L.property,
          "aria-label": L.property,
          oninput: function (e) { w.property = e.target.value; changed(); },
        }),
        select("w-op", OPS.where.map(function (op) {
          return { value: op, label: registry.operators[op] || op };
        }), w.op, function (e) { w.op = e.target.value; changed(); }, L.operator),
        el("input", {
          type: "text", class: "w-value", value: Array.isArray(w.value) ? w.value.join(", ") : w.value,
          "aria-label": L.value,
          oninput: function (e) { w.value = e.target.value; changed(); },
        }),
        el("button", {
          type: "button", class: "b-remove link-button", text: L.remove,
          onclick: function () { cond.where.splice(i, 1); render(); },
        }),
      ]));
    });
    box.appendChild(el("button", {
      type: "button", class: "c-add-filter", text: "+ " + L.add_filter,
      onclick: function () {
        cond.where.push({ property: "", op: "eq", value: "" });
        render();
      },
    }));
    return box;
  }

  // ---- keeping the form, the JSON view and the preview in step -----------------------------

  function markError() {
    var marked = document.querySelectorAll("#builder .has-error");
    Array.prototype.forEach.call(marked, function (node) { node.classList.remove("has-error"); });
    if (!errorPath) {
      return;
    }
    var best = null;
    var nodes = document.querySelectorAll("#builder [data-path]");
    Array.prototype.forEach.call(nodes, function (node) {
      var path = node.getAttribute("data-path");
      if (path === errorPath || (path && errorPath.indexOf(path + ".") === 0)) {
        if (!best || path.length > best.getAttribute("data-path").length) {
          best = node;
        }
      }
    });
    if (best) {
      best.classList.add("has-error");
    }
  }

  function changed() {
    var text = JSON.stringify(toRule(root));
    document.getElementById("rule-input").value = text;
    var area = document.getElementById("rule-json");
    if (area && document.activeElement !== area) {
      area.value = JSON.stringify(toRule(root), null, 2);
    }
    var previewRule = document.getElementById("preview-rule");
    if (previewRule.value === text && document.getElementById("preview").getAttribute("data-done")) {
      return;
    }
    previewRule.value = text;
    if (!root.children.length) {
      var target = document.getElementById("preview");
      target.textContent = "";
      target.appendChild(el("p", { class: "muted", text: L.empty_group }));
      return;
    }
    if (window.htmx) {
      window.htmx.trigger(document.getElementById("preview-form"), "rule-changed");
    }
  }

  function load(raw) {
    var node = fromRule(raw);
    if (!node.g) {
      node = { g: "all", not: false, children: [node] };
    }
    return node;
  }

  function startBuilder() {
    registry = JSON.parse(document.getElementById("builder-registry").textContent);
    L = JSON.parse(document.getElementById("builder-labels").textContent);
    var holder = document.getElementById("builder");
    errorPath = holder.getAttribute("data-error-path") || "";
    try {
      root = load(JSON.parse(document.getElementById("rule-input").value || "{}"));
    } catch (err) {
      root = { g: "all", not: false, children: [] };
      document.getElementById("json-toggle").open = true;
    }
    document.getElementById("apply-json").addEventListener("click", function () {
      var message = document.getElementById("json-error");
      message.textContent = "";
      try {
        root = load(JSON.parse(document.getElementById("rule-json").value));
      } catch (err) {
        message.textContent = String(err.message || err);
        return;
      }
      render();
    });
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail && e.detail.target && e.detail.target.id === "preview") {
        var failed = e.detail.target.querySelector("[data-error-path]");
        errorPath = failed ? failed.getAttribute("data-error-path") : "";
        e.detail.target.setAttribute("data-done", "1");
        markError();
      }
    });
    render();
    markError();
  }

  // ---- the list: sparklines and delete confirmation ----------------------------------------

  function startList() {
    Array.prototype.forEach.call(document.querySelectorAll(".delete-form"), function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          e.preventDefault();
        }
      });
    });
    if (!window.echarts) {
      return;
    }
    var color = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim()
      || "#4f46e5";
    Array.prototype.forEach.call(document.querySelectorAll(".spark-data"), function (holder) {
      var target = document.getElementById(holder.getAttribute("data-target"));
      var points = JSON.parse(holder.textContent);
      var chart = window.echarts.init(target, null, { renderer: "canvas" });
      chart.setOption({
        animation: false,
        grid: { left: 2, right: 2, top: 4, bottom: 4 },
        tooltip: { trigger: "axis", confine: true },
        xAxis: { type: "category", show: false, data: points.map(function (p) { return p[0].slice(0, 10); }) },
        yAxis: { type: "value", show: false, scale: true },
        series: [{
          type: "line", data: points.map(function (p) { return p[1]; }), showSymbol: false,
          lineStyle: { color: color, width: 1.5 }, areaStyle: { color: color, opacity: 0.12 },
        }],
      });
      target.setAttribute("data-rendered", "true");
    });
  }

  function start() {
    if (document.getElementById("builder")) {
      startBuilder();
    }
    if (document.getElementById("segment-list")) {
      startList();
    }
  }

  // After htmx has processed the page (it also starts on DOMContentLoaded, and loads first).
  if (document.readyState === "complete") {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
