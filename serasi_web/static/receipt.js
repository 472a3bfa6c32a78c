// The receipt's Print button, wired here because the Content-Security-Policy allows no inline
// handlers. Without JavaScript the button stays hidden and the hint to use the browser's own print
// shows instead; with it, the button replaces the hint.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-receipt");
  if (!button) {
    return;
  }
  button.hidden = false;
  var hint = document.getElementById("print-hint");
  if (hint) {
    hint.hidden = true;
  }
  button.addEventListener("click", function () {
    window.print();
  });
});
