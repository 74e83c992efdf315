// "Copy link" buttons: copy the text of the box they name. Without this script the
// buttons stay hidden and the link is plain selectable text.
(function () {
  "use strict";

  if (!navigator.clipboard) {
    return;
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var id = button.getAttribute("data-copy");
    var source = document.getElementById(id);
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (!source) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(
        function () {
          if (status) {
            status.textContent = "Copied.";
          }
        },
        function () {
          source.select();
          if (status) {
            status.textContent = "Select the link and copy it.";
          }
        }
      );
    });
  });
})();
