// Booking pages: show times in the visitor's own time zone, and switch zones at once.
// Without this script the page shows the schedule's zone, a "Show times" button and a link
// to every zone.
(function () {
  "use strict";
  var select = document.querySelector("[data-zone-select]");
  if (!select) {
    return;
  }
  var params = new URLSearchParams(window.location.search);
  // Once the visitor has done something (a click, a tap, a key: keyboard users start with
  // Tab), the page is theirs: a zone switch arriving later (after the zone list) would
  // reload it from under them.
  var interacted = false;
  ["click", "keydown"].forEach(function (type) {
    document.addEventListener(
      type,
      function () {
        interacted = true;
      },
      { capture: true, once: true }
    );
  });

  function showBrowserZone() {
    if (interacted) {
      return;
    }
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
    }
  }

  if (!params.has("tz")) {
    // The page names the list rather than holding it: zone-picker.js loads it first.
    var waiting = select.hasAttribute("data-zone-list");
    if (waiting && !select.hasAttribute("data-zone-list-loaded")) {
      select.addEventListener("zone-list-loaded", showBrowserZone, { once: true });
    } else {
      showBrowserZone();
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

  // A day's times replace the picker in place: no reload, the page stays where it is.
  // Without this script (or if the fetch fails) the day links load the page as usual.
  var picker = document.querySelector(".picker");
  if (!picker || !window.fetch || !window.DOMParser) {
    return;
  }

  function showPickerOf(url, remember) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".picker");
        if (!fresh) {
          throw new Error("no picker");
        }
        picker.innerHTML = fresh.innerHTML;
        if (remember) {
          window.history.pushState({ picker: true }, "", url);
        }
        var heading = picker.querySelector(".day-slots h2");
        if (heading) {
          heading.setAttribute("tabindex", "-1");
          heading.focus({ preventScroll: true });
        }
      });
  }

  picker.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-free-day]") : null;
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
      return;
    }
    event.preventDefault();
    showPickerOf(link.href, true).catch(function () {
      window.location.assign(link.href);
    });
  });

  window.addEventListener("popstate", function () {
    showPickerOf(window.location.href, false).catch(function () {
      window.location.reload();
    });
  });
})();

