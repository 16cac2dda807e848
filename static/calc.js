/* calc: the little behaviour the page needs. Same-origin, no inline handlers (CSP).
   Everything works without it except the print and copy shortcuts, the unit system
   and the check of dates before submitting (the server checks every date too). */
(function () {
  "use strict";

  // ---------- unit system ----------
  // Only the choice ("si" or "us") is kept in this browser, never a patient value.
  var UNIT_SYSTEM_KEY = "calc.unitSystem";
  var MIXED_UNITS = "The units below are mixed: check the unit beside each field.";

  // The page's words come from the server in the page's language (data-msg-* on the form
  // or the button); English here only if an attribute is missing.
  function words(el, name, english) {
    var value = el && el.getAttribute("data-msg-" + name);
    return value || english;
  }

  function storedUnitSystem() {
    try {
      var value = window.localStorage.getItem(UNIT_SYSTEM_KEY);
      return value === "si" || value === "us" ? value : null;
    } catch (e) {
      return null; // storage blocked: the form keeps its defaults
    }
  }

  function storeUnitSystem(value) {
    try { window.localStorage.setItem(UNIT_SYSTEM_KEY, value); } catch (e) { /* not kept */ }
  }

  function setUpUnitSystem(form) {
    var box = document.getElementById("unit-system");
    if (!box) { return; }
    var radios = Array.prototype.slice.call(box.querySelectorAll("input[name=unit_system]"));
    var status = document.getElementById("unit-system-status");
    var systemSelects = Array.prototype.slice.call(form.querySelectorAll("select[data-unit-si]"));
    var followers = Array.prototype.slice.call(form.querySelectorAll("select[data-follows]"));
    // A follow-up unit changed by hand (or entered with its value) no longer follows.
    var pinned = {};

    function currentSystem() {
      var found = null;
      ["si", "us"].forEach(function (system) {
        var all = systemSelects.every(function (s) {
          return s.value === s.getAttribute("data-unit-" + system);
        });
        if (all) { found = system; }
      });
      return found;
    }

    function showCurrent() {
      var system = currentSystem();
      radios.forEach(function (r) { r.checked = r.value === system; });
      var message = system ? "" : words(form, "mixed", MIXED_UNITS);
      if (status && status.textContent !== message) { status.textContent = message; }
    }

    function apply(system) {
      systemSelects.forEach(function (s) {
        s.value = s.getAttribute("data-unit-" + system);
        delete pinned[s.id];
      });
      showCurrent();
    }

    radios.forEach(function (radio) {
      radio.addEventListener("change", function () {
        if (!radio.checked) { return; }
        apply(radio.value);
        storeUnitSystem(radio.value);
      });
    });

    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.hasAttribute("data-follows")) {
          pinned[select.id] = true;
        }
        followers.forEach(function (f) {
          if (f.getAttribute("data-follows") === select.id && !pinned[f.id]) {
            f.value = select.value;
          }
        });
        showCurrent();
      });
    });

    if (form.getAttribute("data-filled") === "true") {
      // Re-posted, refused or opened from a file: the units stay as entered, and a
      // follow-up unit that came with its value keeps it.
      followers.forEach(function (f) {
        var value = document.getElementById(f.id.replace(/_unit$/, ""));
        if (value && value.value.trim()) { pinned[f.id] = true; }
      });
    } else {
      var stored = storedUnitSystem();
      if (stored) { apply(stored); }
    }
    showCurrent();
    box.hidden = false;
  }

  // ---------- dates ----------
  var DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

  function isCalendarDate(text) {
    var m = DATE_PATTERN.exec(text);
    if (!m) { return false; }
    var y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
    var day = new Date(Date.UTC(y, mo - 1, d));
    return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
  }

  function element(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text) { el.textContent = text; }
    return el;
  }

  function describedBy(input, id, on) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (x) {
      return x && x !== id;
    });
    if (on) { ids.push(id); }
    input.setAttribute("aria-describedby", ids.join(" "));
  }

  // The same markup as the server's messages (templates/_fields.html).
  function showDateError(input, message) {
    var field = input.closest(".field");
    var id = input.id + "-error";
    var p = document.getElementById(id);
    if (!p) {
      p = element("p", { "class": "error-message", id: id });
      var hint = document.getElementById(input.id + "-hint");
      field.insertBefore(p, hint ? hint.nextSibling : field.firstChild);
    }
    p.textContent = "";
    p.appendChild(element("span", { "class": "error-tag" },
      words(input.form, "error", "Error:")));
    p.appendChild(document.createTextNode(" " + message));
    p.setAttribute("data-client", "true");
    if (!field.classList.contains("field-error")) {
      field.classList.add("field-error");
      field.setAttribute("data-client", "true");
    }
    input.setAttribute("aria-invalid", "true");
    describedBy(input, id, true);
    var section = input.closest("details");
    if (section) { section.open = true; }
  }

  function clearDateError(input) {
    var p = document.getElementById(input.id + "-error");
    if (!p || p.getAttribute("data-client") !== "true") { return; } // the server's stays
    p.parentNode.removeChild(p);
    var field = input.closest(".field");
    if (field.getAttribute("data-client") === "true") {
      field.classList.remove("field-error");
      field.removeAttribute("data-client");
    }
    input.setAttribute("aria-invalid", "false");
    describedBy(input, input.id + "-error", false);
  }

  function showSummary(form, problems) {
    var old = document.getElementById("error-summary");
    if (old) { old.parentNode.removeChild(old); }
    var summary = element("div", {
      "class": "error-summary",
      role: "alert",
      "aria-labelledby": "error-summary-title",
      tabindex: "-1",
      id: "error-summary"
    });
    var n = problems.length;
    var title = n === 1
      ? words(form, "dates-one", "There is a problem with {n} date")
      : words(form, "dates-other", "There is a problem with {n} dates");
    summary.appendChild(element("h2", { id: "error-summary-title" },
      title.replace("{n}", String(n))));
    var list = element("ul", {});
    problems.forEach(function (problem) {
      var item = element("li", {});
      item.appendChild(element("a", { href: "#" + problem.input.id }, problem.message));
      list.appendChild(item);
    });
    summary.appendChild(list);
    var anchor = document.getElementById("unit-system") || form;
    anchor.parentNode.insertBefore(summary, anchor);
    summary.focus();
  }

  function setUpDateCheck(form) {
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[data-date]"));
    if (!inputs.length) { return; }
    form.addEventListener("submit", function (event) {
      var problems = [];
      inputs.forEach(function (input) {
        clearDateError(input);
        var value = input.value.trim();
        if (value && !isCalendarDate(value)) {
          var message = words(form, "date",
            "{label} must be a real calendar date written YYYY-MM-DD, e.g. 2026-03-05.")
            .replace("{label}", input.getAttribute("data-date"));
          showDateError(input, message);
          problems.push({ input: input, message: message });
        }
      });
      if (problems.length) {
        event.preventDefault();
        showSummary(form, problems);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    // After a failed submit, take keyboard and screen-reader users to the list of problems;
    // after a successful one, to the result heading.
    var target = document.getElementById("error-summary") || document.getElementById("result-title");
    if (target) { target.focus(); }

    document.querySelectorAll("form.assessment-form").forEach(function (form) {
      setUpUnitSystem(form);
      setUpDateCheck(form);
    });

    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });

    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var box = document.getElementById(button.getAttribute("data-copy"));
        var status = document.getElementById("copy-status");
        if (!box) { return; }
        var done = function (message) { if (status) { status.textContent = message; } };
        box.select();
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(box.value).then(
            function () { done(words(button, "copied", "Summary copied.")); },
            function () {
              done(words(button, "copy-failed", "Select the text and copy it with Ctrl+C."));
            }
          );
        } else {
          done(words(button, "selected", "The text is selected: copy it with Ctrl+C."));
        }
      });
    });
  });
})();
