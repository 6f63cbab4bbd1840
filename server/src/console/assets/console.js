// Tepat console: the only script. A file chosen in an <input type=file data-fill=ID> is read into the textarea
// ID, so uploads post as ordinary form fields (the page works without this script: paste instead).
"use strict";
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!input.matches || !input.matches("input[type=file][data-fill]") || !input.files.length) return;
  var target = document.getElementById(input.getAttribute("data-fill"));
  if (!target) return;
  var reader = new FileReader();
  reader.onload = function () { target.value = reader.result; };
  reader.readAsText(input.files[0]);
});
