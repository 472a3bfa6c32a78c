// The receipt's Print button, wired here because the Content-Security-Policy allows no inline
// handlers. Without JavaScript the button stays hidden (the browser's own print still works).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-receipt");
  if (!button) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
