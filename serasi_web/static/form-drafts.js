// Drafts kept in the browser (JavaScript on), for a form with data-keep-draft: fetched by
// form-requests.js when there is work (which also deletes the drafts accepted, too old, or of
// another user). What is typed is saved in localStorage at every change, so a reload or a crash
// loses nothing, and put back when the form is shown fresh (data-draft-restore), with its note
// (.draft-note, from the template) and its button to discard it shown. One draft per form and
// form_token: two new reports in two tabs are two drafts, and a draft put back takes the page's
// new token, so two tabs never send one token (which makes one report) for two guests; a report
// sent again after a lost answer is caught by the server as a duplicate. Never saved: files,
// passwords, hidden fields (the CSRF token). Storage refused (a private window may): nothing.
(function () {
  "use strict";

  var DRAFT = "serasi-draft:";

  // "key:form_token": a draft's name (in storage after DRAFT) and what the server names back.
  function draftName(form) {
    return form.draftKey + ":" + (form.elements.form_token ? form.elements.form_token.value : "");
  }

  // What the form would send, less files, passwords and hidden fields: {name: [values]}.
  function saveDraft(form) {
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && !/^(hidden|password)$/.test(form.elements[name].type)) {
        (fields[name] = fields[name] || []).push(value);
      }
    });
    try {
      localStorage.setItem(DRAFT + draftName(form), JSON.stringify({saved: Date.now(), fields: fields}));
    } catch (error) {
      // full or refused: the form works as without JavaScript
    }
  }

  // The newest draft of this form, moved to this page's form_token.
  function restoreDraft(form) {
    var found = window.serasiStoredDrafts().filter(function (draft) {
      return draft.name.split(":")[0] === form.draftKey;
    }).sort(function (a, b) {
      return b.saved - a.saved;
    })[0];
    var note = form.querySelector(".draft-note");
    if (!found) {
      return;
    }
    localStorage.removeItem(DRAFT + found.name);
    [].forEach.call(form.elements, function (control) {
      var values = found.fields[control.name] || [];
      if (/^(checkbox|radio)$/.test(control.type)) {
        control.checked = values.indexOf(control.value) >= 0;
      } else if (control.options) {
        [].forEach.call(control.options, function (option) {
          option.selected = values.indexOf(option.value) >= 0;
        });
      } else if (values.length) {
        control.value = values[0];
      }
    });
    saveDraft(form);
    if (note) {
      note.hidden = false;
      note.querySelector("button").onclick = function () {
        localStorage.removeItem(DRAFT + draftName(form));
        form.reset();  // back to what the server sent
        note.hidden = true;
      };
    }
  }

  // Shown fresh (GET), to be given its draft back: keep_draft() says so; a bare data-keep-draft
  // is taken as fresh unless the form shows the server's errors or values read from a document.
  function isFresh(form) {
    return form.getAttribute("data-keep-draft") ? form.hasAttribute("data-draft-restore") : !form.querySelector(".error-summary, .captured");
  }

  function keepDrafts() {
    [].forEach.call(document.querySelectorAll("form[data-keep-draft]"), function (form) {
      if (form.draftKey) {
        return;
      }
      form.draftKey = window.serasiDraftKey(form);
      if (isFresh(form) && !form.draftTyped) {
        restoreDraft(form);
      } else {
        saveDraft(form);  // typed in before this script came, or the server's answer to a post
      }
      // Sent with the form: the server names it back once accepted (form_drafts.confirm_draft).
      var marker = document.createElement("input");
      marker.type = "hidden";
      marker.name = "keep_draft";
      marker.value = draftName(form);
      form.appendChild(marker);
    });
  }

  // A form the browser sends itself (htmx did not take it, or is missing): offline, it would
  // leave for the browser's error page. Stay, keep everything, and say so as htmx's failures are
  // said (form-requests.js), in the reader's language.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!event.defaultPrevented && navigator.onLine === false && form.draftKey) {
      event.preventDefault();
      var alert = document.createElement("p");
      alert.className = "flash flash-error request-problem";
      alert.setAttribute("role", "alert");
      alert.textContent = JSON.parse(document.getElementById("request-messages").getAttribute("data-messages")).offline;
      form.insertBefore(alert, form.firstChild);
    }
  });

  function changed(event) {
    if (event.target.form && event.target.form.draftKey) {
      saveDraft(event.target.form);
    }
  }
  keepDrafts();
  document.addEventListener("htmx:load", keepDrafts);
  document.addEventListener("input", changed);
  document.addEventListener("change", changed);
})();
