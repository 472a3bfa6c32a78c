// Capture in one tap (JavaScript on; without it the "Read the photo" button does all of this):
// - choosing or taking the photo starts the reading at once: the photo field's own button is
//   hidden and pressed for the person, so htmx (or, without htmx, the browser) sends the whole
//   form as before and everything already typed comes back with the values read;
// - before sending, a large photo is scaled in the browser to at most MAX_SIDE pixels on its long
//   side and re-encoded as JPEG (a 12 MP photo of 3-5 MB becomes a few hundred KB: seconds
//   instead of half a minute on a weak 3G line). The orientation the camera recorded is applied
//   first, and the copy carries no EXIF (no GPS). When the browser cannot (an old one, a HEIC it
//   cannot decode), or the copy would not be smaller, the original is sent and the server deals
//   with it as without JavaScript;
// - the sending shows a progress bar with its percentage, then "reading"; the phases are told to
//   screen readers through a polite status (not every percent).
// The words come from the template (data- attributes) in the reader's language. Loaded on every
// page because a page reached through a boosted link does not run the scripts it contains; the
// listeners are on the document, so the form swapped in after a capture needs no new wiring.
(function () {
  "use strict";

  // The same numbers are used by bench/capture_upload.py, which runs this very function.
  var MAX_SIDE = 2000;
  var JPEG_QUALITY = 0.85;
  var SMALL_BYTES = 500 * 1024;  // smaller files go as they are: scaling would save little

  var AUTO_INPUT = "input[type=file][data-capture-auto]";
  var READ_BUTTON = "button[data-capture-read]";

  // A File to send in place of `file`: a scaled JPEG copy, or `file` itself. Never rejects.
  function shrink(file, smallBytes) {
    var threshold = typeof smallBytes === "number" ? smallBytes : SMALL_BYTES;
    if (!file || file.size <= threshold || !window.createImageBitmap || !window.File) {
      return Promise.resolve(file);
    }
    return scaledCopy(file).then(function (blob) {
      if (!blob || blob.size >= file.size) {
        return file;
      }
      var name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
      return new File([blob], name, {type: "image/jpeg", lastModified: file.lastModified});
    }, function () {
      return file;
    });
  }

  // The photo upright, at most MAX_SIDE pixels on its long side (never enlarged), as a JPEG Blob.
  function scaledCopy(file) {
    return createImageBitmap(file, {imageOrientation: "from-image"}).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      var context = canvas.getContext("2d");
      // JPEG has no transparency: a transparent PNG would otherwise turn black, code and all.
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.imageSmoothingEnabled = true;
      context.imageSmoothingQuality = "high";
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      if (bitmap.close) {
        bitmap.close();
      }
      return new Promise(function (resolve) {
        canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY);
      });
    });
  }

  // Put `file` in the input in place of what was chosen; false when the browser cannot.
  function replaceFile(input, file) {
    try {
      var transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
      return input.files.length === 1;
    } catch (error) {
      return false;
    }
  }

  function progressOf(element) {
    var field = element && element.closest(".field");
    return field && field.querySelector("[data-capture-progress]");
  }

  function show(progress, phase, percent) {
    if (!progress) {
      return;
    }
    var bar = progress.querySelector("progress");
    var number = progress.querySelector("[data-capture-percent]");
    var status = progress.querySelector("[role=status]");
    var text = progress.getAttribute("data-" + phase) || "";
    progress.setAttribute("data-phase", phase);
    if (bar) {
      bar.hidden = false;
      if (typeof percent === "number") {
        bar.value = percent;
      } else if (phase === "reading") {
        bar.value = 100;
      } else {
        bar.removeAttribute("value");  // indeterminate while the photo is being prepared
      }
    }
    if (number) {
      number.textContent = typeof percent === "number" ? percent + "%" : "";
    }
    // Only a change of phase is announced; the percentage is seen on the bar.
    if (status && status.textContent !== text) {
      status.textContent = text;
    }
  }

  function clear(progress) {
    if (!progress) {
      return;
    }
    progress.removeAttribute("data-phase");
    var bar = progress.querySelector("progress");
    var number = progress.querySelector("[data-capture-percent]");
    var status = progress.querySelector("[role=status]");
    if (bar) {
      bar.hidden = true;
    }
    if (number) {
      number.textContent = "";
    }
    if (status) {
      status.textContent = "";
    }
  }

  // With JavaScript the photo needs no second button: hide it (it is still pressed for the person).
  function hideReadButtons(root) {
    var buttons = (root || document).querySelectorAll(READ_BUTTON);
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = true;
    }
  }

  // Fetched on demand (form-requests.js), often after the page has loaded.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      hideReadButtons(document);
    });
  } else {
    hideReadButtons(document);
  }
  document.addEventListener("htmx:load", function (event) {
    hideReadButtons(event.target.querySelectorAll ? event.target : document);
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches(AUTO_INPUT) || !input.files || input.files.length !== 1) {
      return;
    }
    var field = input.closest(".field");
    var button = field && field.querySelector(READ_BUTTON);
    if (!button || button.disabled) {
      return;
    }
    var progress = progressOf(input);
    show(progress, "preparing");
    var original = input.files[0];
    shrink(original).then(function (file) {
      if (file !== original && !replaceFile(input, file)) {
        replaceFile(input, original);
      }
      show(progress, "sending", 0);
      button.click();
    });
  });

  // htmx reports the upload's progress (and then the answer's) on the element that sent it.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var button = event.target;
    if (!button.matches || !button.matches(READ_BUTTON)) {
      return;
    }
    var progress = progressOf(button);
    var detail = event.detail || {};
    if (!progress || progress.getAttribute("data-phase") === "reading") {
      return;  // the answer's own progress comes after the upload: still "reading"
    }
    if (detail.lengthComputable && detail.total > 0 && detail.loaded < detail.total) {
      show(progress, "sending", Math.floor(100 * detail.loaded / detail.total));
    } else {
      show(progress, "reading");
    }
  });

  // A failed sending keeps the form (no swap): take the progress away (the failure itself is told
  // by the request-error handling) and show the button, so sending the same photo again is one
  // tap. A successful one replaces the whole form, progress and button included.
  document.addEventListener("htmx:afterRequest", function (event) {
    var button = event.target;
    if (button.matches && button.matches(READ_BUTTON) && !(event.detail && event.detail.successful)) {
      clear(progressOf(button));
      button.hidden = false;
    }
  });

  // For bench/capture_upload.py, which measures what this code sends.
  window.SerasiCapture = {shrink: shrink, scaledCopy: scaledCopy, MAX_SIDE: MAX_SIDE, JPEG_QUALITY: JPEG_QUALITY, SMALL_BYTES: SMALL_BYTES};
})();
