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

  // Drafts kept in the browser (a form with data-keep-draft; serasi_web/form_drafts.py gives the
  // attributes): what is typed is saved in localStorage at every change, so a reload or a crash
  // loses nothing, and put back when the form is shown fresh, with a note and a way to discard
  // it. Saved per form and per form_token (a new report in another tab is another draft; the tab
  // that reloads finds its own through sessionStorage). Never saved: files, passwords, hidden
  // fields (the CSRF token). Deleted once the server has accepted the form (the next page lists
  // it in data-drafts-done), after logging out (it lists "*"), when a day old, and when a page
  // of another user of this browser opens a form. Without storage (blocked) nothing is kept.
  var DRAFT = "serasi-draft:";
  var TAB = "serasi-draft-tab:";
  var DAY = 864e5;
  var NOT_KEPT = /^(hidden|file|password|submit|button|reset|image)$/;
  var drafts = null;
  try {
    drafts = window.localStorage;
    drafts.getItem(DRAFT);
  } catch (error) {
    drafts = null;
  }

  function tokenOf(form) {
    return form.elements.form_token ? form.elements.form_token.value : "";
  }

  function draftName(form) {
    return DRAFT + form.draftKey + ":" + tokenOf(form);
  }

  function readDraft(name) {
    try {
      return JSON.parse(drafts.getItem(name));
    } catch (error) {
      return null;
    }
  }

  function eachDraft(callback) {
    for (var i = drafts.length - 1; i >= 0; i--) {
      var name = drafts.key(i);
      if (name && name.indexOf(DRAFT) === 0) {
        callback(name, name.slice(DRAFT.length, name.lastIndexOf(":")));
      }
    }
  }

  function keptControls(form) {
    return Array.prototype.filter.call(form.elements, function (control) {
      return control.name && !NOT_KEPT.test(control.type);
    });
  }

  function saveDraft(form) {
    var fields = {};
    keptControls(form).forEach(function (control) {
      var values = fields[control.name] = fields[control.name] || [];
      if (control.tagName === "SELECT") {
        Array.prototype.forEach.call(control.selectedOptions, function (option) {
          values.push(option.value);
        });
      } else if (!/^(checkbox|radio)$/.test(control.type) || control.checked) {
        values.push(control.value);
      }
    });
    try {
      drafts.setItem(draftName(form), JSON.stringify({saved: Date.now(), owner: form.draftOwner, fields: fields}));
      sessionStorage.setItem(TAB + form.draftKey, tokenOf(form));
    } catch (error) {
      // Storage full or refused: the form works as without JavaScript.
    }
  }

  function restoreDraft(form, fields) {
    var seen = {};
    keptControls(form).forEach(function (control) {
      var values = fields[control.name];
      if (!values) {
        return;
      }
      if (/^(checkbox|radio)$/.test(control.type)) {
        control.checked = values.indexOf(control.value) >= 0;
      } else if (control.tagName === "SELECT") {
        Array.prototype.forEach.call(control.options, function (option) {
          option.selected = values.indexOf(option.value) >= 0;
        });
      } else {
        var index = seen[control.name] || 0;
        seen[control.name] = index + 1;
        if (index < values.length) {
          control.value = values[index];
        }
      }
    });
  }

  // Above the form's last submit button, in small text: what came back, and a button to discard it.
  function showRestored(form) {
    var words = messages();
    var note = document.createElement("p");
    note.className = "hint draft-restored";
    note.setAttribute("role", "status");
    note.textContent = words.draft_restored + " ";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "link";
    discard.textContent = words.draft_discard;
    discard.addEventListener("click", function () {
      drafts.removeItem(draftName(form));
      form.reset();  // back to what the server sent
      note.remove();
    });
    note.appendChild(discard);
    var buttons = form.querySelectorAll("button[type=submit]:not([aria-hidden]), button:not([type]):not([aria-hidden])");
    var last = buttons[buttons.length - 1];
    var anchor = last ? last.closest(".actions") || last : null;
    form.insertBefore(note, anchor && anchor.parentNode === form ? anchor : null);
  }

  function keepDraft(form) {
    if (form.draftKey !== undefined) {
      return;
    }
    form.draftKey = form.getAttribute("data-keep-draft") || form.getAttribute("action") || location.pathname;
    form.draftOwner = form.getAttribute("data-draft-owner") || "";
    if (!form.hasAttribute("data-draft-restore")) {
      saveDraft(form);  // the server's answer to a post (errors, values read from a document)
    } else {
      restoreOwnOrNewest(form);
    }
    // Sent with the form: the server names it back once accepted (form_drafts.confirm_draft).
    var marker = document.createElement("input");
    marker.type = "hidden";
    marker.name = "keep_draft";
    marker.value = draftName(form).slice(DRAFT.length);
    form.appendChild(marker);
  }

  function restoreOwnOrNewest(form) {
    // This tab's own draft (a reload), else the newest (after a crash: then it takes this
    // page's new form_token, so two tabs never send one token for two guests).
    var own = DRAFT + form.draftKey + ":" + sessionStorage.getItem(TAB + form.draftKey);
    var found = null;
    var foundName = null;
    eachDraft(function (name, key) {
      var draft = readDraft(name);
      if (key === form.draftKey && draft && foundName !== own && (name === own || !found || draft.saved > found.saved)) {
        found = draft;
        foundName = name;
      }
    });
    if (!found) {
      return;
    }
    if (foundName === own && form.elements.form_token) {
      form.elements.form_token.value = foundName.slice(foundName.lastIndexOf(":") + 1);
    } else {
      drafts.removeItem(foundName);
    }
    restoreDraft(form, found.fields || {});
    saveDraft(form);
    showRestored(form);
  }

  function sweepDrafts() {
    var holder = document.getElementById("request-messages");
    var done = [];
    try {
      done = JSON.parse(holder.getAttribute("data-drafts-done")) || [];
      holder.removeAttribute("data-drafts-done");
    } catch (error) {
      // no list: nothing was accepted
    }
    var owners = document.querySelector("form[data-draft-owner]");
    var owner = owners ? owners.getAttribute("data-draft-owner") : "";
    var all = done.indexOf("*") >= 0;
    eachDraft(function (name) {
      var draft = readDraft(name);
      if (all || done.indexOf(name.slice(DRAFT.length)) >= 0 || !draft || !(Date.now() - draft.saved < DAY) || (owner && draft.owner !== owner)) {
        drafts.removeItem(name);
      }
    });
    if (all) {
      sessionStorage.clear();
    }
  }

  function keepDrafts() {
    if (!drafts) {
      return;
    }
    sweepDrafts();
    Array.prototype.forEach.call(document.querySelectorAll("form[data-keep-draft]"), keepDraft);
  }

  function typedInto(event) {
    var form = event.target.form;
    if (drafts && form && form.draftKey !== undefined) {
      saveDraft(form);
    }
  }
  document.addEventListener("input", typedInto);
  document.addEventListener("change", typedInto);
  document.addEventListener("htmx:afterSettle", function (event) {
    var form = formOf(event.detail.elt);
    if (drafts && form && form.draftKey !== undefined && form.isConnected) {
      saveDraft(form);  // a part the server filled in (the stay permit suggested)
    }
  });

  // A form that the browser itself sends (htmx did not take it): offline, it would leave for the
  // browser's error page; stay, say so, and keep the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!event.defaultPrevented && navigator.onLine === false && form.hasAttribute("data-keep-draft")) {
      event.preventDefault();
      showAlert({elt: form, requestConfig: {elt: form, triggeringEvent: event}}, messages().offline);
    }
  });

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
    keepDrafts();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", pageShown);
  } else {
    pageShown();
  }
  document.addEventListener("htmx:load", pageShown);
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
