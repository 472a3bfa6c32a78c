// What a person sees while htmx sends a form or follows a boosted link (JavaScript on; without
// it the browser does all of this itself):
// - while a form is being sent, its submit buttons are disabled and it is marked busy, so a
//   second tap sends nothing twice; they come back when the answer (or the failure) is in;
// - a network failure (offline, no answer in time) or an error answer to a form (400, 413, 429,
//   500, 503, ...) is told in plain words in an alert next to the button pressed, and nothing is
//   swapped: the form keeps everything typed;
// - an error answer to a link or a page (a boosted GET) is the error page: it is swapped in.
// The words come from the server in the reader's language (#request-messages in base.html): no
// English is written here. Loaded as a file because the Content-Security-Policy allows no inline
// script; htmx itself evaluates nothing.
(function () {
  "use strict";

  var ALERT_CLASS = "request-problem";

  function messages() {
    var holder = document.getElementById("request-messages");
    try {
      return JSON.parse(holder.getAttribute("data-messages")) || {};
    } catch (error) {
      return {};
    }
  }

  // The element that made the request (a form, a button, a link). Not detail.elt: htmx sets
  // that to the element an event is fired on, which for htmx:beforeSwap is the swap's target.
  function requester(detail) {
    return (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
  }

  function formOf(element) {
    if (!element || !element.closest) {
      return null;
    }
    return element.tagName === "FORM" ? element : element.closest("form");
  }

  // The button pressed: the submit event's submitter for a boosted form, or the button that
  // carries hx-post itself (the capture buttons).
  function buttonOf(detail) {
    var config = detail.requestConfig || {};
    var event = config.triggeringEvent;
    if (event && event.submitter) {
      return event.submitter;
    }
    var element = requester(detail);
    return element && element.tagName === "BUTTON" ? element : null;
  }

  function isPageRequest(detail) {
    var config = detail.requestConfig || {};
    return config.verb === "get" && detail.boosted && detail.target === document.body;
  }

  function clearAlerts() {
    var alerts = document.querySelectorAll("." + ALERT_CLASS);
    for (var i = 0; i < alerts.length; i++) {
      alerts[i].remove();
    }
  }

  function messageFor(status) {
    var words = messages();
    var text = words[String(status)];
    if (!text) {
      text = (words[status >= 500 ? "5xx" : "4xx"] || "").replace("{status}", String(status));
    }
    return text;
  }

  // The alert goes just above the block of the button pressed (where the person is looking),
  // or of the field whose own request failed, else at the top of the form, else of the page.
  function showAlert(detail, text) {
    clearAlerts();
    var alert = document.createElement("div");
    alert.className = "flash flash-error " + ALERT_CLASS;
    alert.setAttribute("role", "alert");
    alert.tabIndex = -1;
    var paragraph = document.createElement("p");
    paragraph.textContent = text;
    alert.appendChild(paragraph);
    var button = buttonOf(detail);
    var element = requester(detail);
    var form = formOf(button) || formOf(element);
    var anchor = null;
    if (button && form) {
      anchor = button.closest(".actions, .field, p") || button;
      if (!form.contains(anchor)) {
        anchor = button;
      }
    } else if (form && element !== form) {
      anchor = element.closest(".field") || form.firstElementChild;  // a field's own request
    } else if (form) {
      anchor = form.firstElementChild;
    }
    if (anchor && anchor.parentNode) {
      anchor.parentNode.insertBefore(alert, anchor);
    } else {
      var main = document.getElementById("main") || document.body;
      main.insertBefore(alert, main.firstChild);
    }
    alert.scrollIntoView({block: "nearest"});
    alert.focus({preventScroll: true});
  }

  // Only a sending of the form (a boosted submit, or a button that posts it) makes it busy. A
  // field's own request (the stay permit suggested when the visa index changes) does not: it
  // starts as the field loses focus, often on the very tap on "submit", which must not land
  // on a button just disabled.
  function sentForm(detail) {
    var element = requester(detail);
    if (element && element.tagName === "FORM") {
      return element;
    }
    if (element && element.tagName === "BUTTON" && element.type === "submit") {
      return formOf(element);
    }
    return null;
  }

  function setBusy(detail, busy) {
    var form = sentForm(detail);
    if (!form) {
      return;
    }
    if (busy) {
      form.setAttribute("aria-busy", "true");
    } else {
      form.removeAttribute("aria-busy");
    }
    var pressed = buttonOf(detail);
    var buttons = form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
    for (var i = 0; i < buttons.length; i++) {
      var button = buttons[i];
      if (busy) {
        // Only buttons enabled now: one the page disabled on purpose stays disabled after.
        if (!button.disabled) {
          button.disabled = true;
          button.setAttribute("data-disabled-while-sending", "");
        }
      } else if (button.hasAttribute("data-disabled-while-sending")) {
        button.disabled = false;
        button.removeAttribute("data-disabled-while-sending");
      }
    }
    if (pressed) {
      if (busy) {
        pressed.setAttribute("aria-busy", "true");
      } else {
        pressed.removeAttribute("aria-busy");
      }
    }
  }

  // Disabled after htmx has read the form's values (a disabled button's name and value would
  // not be sent: "submit" and "save as draft" share the form).
  document.addEventListener("htmx:beforeRequest", function (event) {
    clearAlerts();
    setBusy(event.detail, true);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    setBusy(event.detail, false);
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    var status = detail.xhr.status;
    if (status < 400) {
      return;
    }
    if (isPageRequest(detail) && detail.serverResponse) {
      // A link or page that answers an error page: show that page, as without JavaScript.
      detail.shouldSwap = true;
      detail.isError = false;
      return;
    }
    detail.shouldSwap = false;
    showAlert(detail, messageFor(status));
  });

  document.addEventListener("htmx:sendError", function (event) {
    var words = messages();
    showAlert(event.detail, navigator.onLine === false ? words.offline : words.unreachable);
  });

  document.addEventListener("htmx:timeout", function (event) {
    showAlert(event.detail, messages().timeout);
  });

  // Drafts kept in the browser, for a form with data-keep-draft (serasi_web/form_drafts.py gives
  // its attributes; form-drafts.js saves and puts back). Here, on every page, what must happen
  // even where no form is: a draft goes when the server has accepted its form (the page after
  // names it in data-drafts-done; "*" after logging out), when a day old, and when a form of
  // another user of this browser is shown (a key starts with its user's mark, before the ".").
  // form-drafts.js is fetched when it has work: a draft to put back, a form the server answered
  // (kept at once), or the first thing typed; a report form shown and left untouched costs nothing.
  var DRAFT = "serasi-draft:";
  var ownSource = document.currentScript ? document.currentScript.src : "";

  // Each draft as {name: "key:form_token", saved, fields}; unreadable: no date, so too old.
  window.serasiStoredDrafts = function () {
    return Object.keys(localStorage).filter(function (name) {
      return name.indexOf(DRAFT) === 0;
    }).map(function (name) {
      var draft = {};
      try {
        draft = JSON.parse(localStorage[name]);
      } catch (error) {
        // no date
      }
      draft.name = name.slice(DRAFT.length);
      return draft;
    });
  };

  // A form's key: from keep_draft(); for a bare data-keep-draft, of no user and the form's path.
  window.serasiDraftKey = function (form) {
    return form.getAttribute("data-keep-draft") || "." + (form.getAttribute("action") || location.pathname);
  };

  function loadDrafts(form) {
    if (!requested.drafts) {
      requested.drafts = true;
      var script = document.createElement("script");
      script.src = form.getAttribute("data-draft-script") || ownSource.replace("form-requests", "form-drafts");
      document.head.appendChild(script);
    }
  }

  function keepDrafts() {
    var holder = document.getElementById("request-messages");
    var done = JSON.parse(holder.getAttribute("data-drafts-done") || "[]");
    var forms = document.querySelectorAll("form[data-keep-draft]");
    var user = forms.length ? window.serasiDraftKey(forms[0]).split(".")[0] : "";
    var drafts = window.serasiStoredDrafts().filter(function (draft) {
      if (done.indexOf("*") + done.indexOf(draft.name) > -2 || !(Date.now() - draft.saved < 864e5)
          || (user && draft.name.indexOf(user + "."))) {
        localStorage.removeItem(DRAFT + draft.name);
        return false;
      }
      return true;
    }).map(function (draft) {
      return draft.name;
    }).join(" ");
    holder.removeAttribute("data-drafts-done");
    [].forEach.call(forms, function (form) {
      if (!form.hasAttribute("data-draft-restore") || drafts.indexOf(window.serasiDraftKey(form) + ":") >= 0) {
        loadDrafts(form);
      }
    });
  }

  function typed(event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-keep-draft") && !form.draftKey) {
      form.draftTyped = true;
      loadDrafts(form);
    }
  }
  document.addEventListener("input", typed);
  document.addEventListener("change", typed);

  // Scripts that only some pages need (the capture block, a form in parts), fetched once the
  // first such page is shown, on load or after an htmx swap; base.html lists them. The policy
  // allows them: same origin, no inline code.
  var requested = {};
  function loadScriptsOnDemand() {
    var meta = document.querySelector("meta[name=serasi-scripts-on-demand]");
    var wanted;
    try {
      wanted = JSON.parse(meta.getAttribute("content")) || {};
    } catch (error) {
      return;
    }
    Object.keys(wanted).forEach(function (selector) {
      var source = wanted[selector];
      if (requested[source] || !document.querySelector(selector)) {
        return;
      }
      requested[source] = true;
      var script = document.createElement("script");
      script.src = source;
      document.head.appendChild(script);
    });
  }
  function pageShown() {
    loadScriptsOnDemand();
    try {
      keepDrafts();
    } catch (error) {
      // storage refused: the forms work as without JavaScript
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", pageShown);
  } else {
    pageShown();
  }
  document.addEventListener("htmx:load", pageShown);
  // htmx puts the new address in the history in the same step as the swap, but runs the new
  // page's htmx:load only once settled (20 ms later): leaving in between (a quick tap, the back
  // button) would keep a draft the server has accepted, put back into the next guest's form.
  // The drafts the server names as accepted go at the swap, with the address.
  document.addEventListener("htmx:afterSwap", function () {
    var holder = document.getElementById("request-messages");
    if (holder && holder.hasAttribute("data-drafts-done")) {
      pageShown();
    }
  });
})();

// Folded into this file (it was form-sections.js, fetched on demand) because a separate answer
// cost the report form about 1 KB of headers alone (bench/page_weight.py).
//
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
