// Booking pages: show times in the visitor's own time zone, and switch zones at once.
// Without this script the page shows the schedule's zone and a "Show times" button.
(function () {
  "use strict";
  var select = document.querySelector("[data-zone-select]");
  if (!select) {
    return;
  }
  var params = new URLSearchParams(window.location.search);
  if (!params.has("tz")) {
    var zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      zone = "";
    }
    // Only a zone the server lists: an unknown one would just earn an error message.
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === zone;
    });
    if (known && zone !== select.value) {
      params.set("tz", zone);
      window.location.replace(window.location.pathname + "?" + params.toString());
      return;
    }
  }
  // Choosing a zone reloads the times at once, so the button is only for pages without script.
  var submit = document.querySelector("[data-zone-submit]");
  if (submit) {
    submit.hidden = true;
  }
  select.addEventListener("change", function () {
    if (select.form) {
      select.form.submit();
    }
  });
})();
