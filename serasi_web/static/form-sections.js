// The parts of a long form (<details class="form-section">, always open as the server renders
// them) fold away once done, so the report fits a phone: when the owner moves into another part,
// the part left folds if every required field in it is valid and none has an error, and its
// heading shows a one-line summary of what was entered. Nothing folds while the owner is in it,
// nor on load (a page with errors or values read from a document is to be read whole). A link to
// a field in a folded part (the error summary's) unfolds it.
(function () {
  "use strict";

  var SECTION = "details.form-section";
  var lastSection = null;

  function controls(section) {
    return Array.prototype.filter.call(section.querySelectorAll("input, select, textarea"), function (control) {
      return control.type !== "hidden" && !control.disabled;
    });
  }

  function isComplete(section) {
    if (section.querySelector(".has-error")) {
      return false;
    }
    return controls(section).every(function (control) {
      // aria-required: needed to submit although the browser is not told (the stay permit).
      if (control.getAttribute("aria-required") === "true" && !control.value) {
        return false;
      }
      return control.checkValidity();
    });
  }

  function shownValue(control) {
    if (control.type === "radio" || control.type === "checkbox") {
      if (!control.checked) {
        return "";
      }
      var label = control.closest("label");
      return label ? label.textContent.trim() : "";
    }
    if (control.tagName === "SELECT") {
      var option = control.options[control.selectedIndex];
      return option && control.value ? option.textContent.trim() : "";
    }
    return control.value.trim();
  }

  function summaryOf(section) {
    return controls(section).map(shownValue).filter(function (text) {
      return text !== "";
    }).join(" · ");
  }

  function fold(section) {
    var line = section.querySelector(".section-summary");
    if (line) {
      line.textContent = summaryOf(section);
    }
    section.open = false;
  }

  document.addEventListener("focusin", function (event) {
    var section = event.target.closest ? event.target.closest(SECTION) : null;
    if (!section) {
      return;  // a button or the capture part: the part left may still be going on
    }
    var left = lastSection;
    lastSection = section;
    if (left && left !== section && left.isConnected && left.open && isComplete(left)) {
      fold(left);
    }
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
    if (!link) {
      return;
    }
    var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    var section = target ? target.closest(SECTION) : null;
    if (section) {
      section.open = true;
    }
  });
})();
