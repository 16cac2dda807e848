/* calc: the little behaviour the page needs. Same-origin, no inline handlers (CSP).
   Everything works without it except the print and copy shortcuts. */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    // After a failed submit, take keyboard and screen-reader users to the list of problems;
    // after a successful one, to the result heading.
    var target = document.getElementById("error-summary") || document.getElementById("result-title");
    if (target) { target.focus(); }

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
            function () { done("Summary copied."); },
            function () { done("Select the text and copy it with Ctrl+C."); }
          );
        } else {
          done("The text is selected: copy it with Ctrl+C.");
        }
      });
    });
  });
})();
