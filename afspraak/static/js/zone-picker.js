// Time-zone lists: the whole list loaded where the page names it (data-zone-list), a search
// box that narrows it, and (for a new schedule) the browser's own zone chosen. Without this
// script the list is a plain <select> that works; a booking page then shows its chosen zone
// and a "More time zones" link to a page with every zone.
(function () {
  "use strict";

  var LOADED = "data-zone-list-loaded";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function normalise(text) {
    return text.toLowerCase().replace(/_/g, " ");
  }

  // The booking pages carry only the chosen zone; the list is one address per hour that
  // the browser keeps, shared by every booking page.
  function loadList(select) {
    var url = select.getAttribute("data-zone-list");
    if (!url) {
      return Promise.resolve();
    }
    if (!window.fetch) {
      return Promise.reject(new Error("no fetch"));
    }
    // No cookies and no referrer: the list is the same for everyone, and an invitee's
    // page address holds their link's secret.
    return fetch(url, { credentials: "omit", referrerPolicy: "no-referrer" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var chosen = select.value;
        select.innerHTML = html;
        select.value = chosen;
        var more = select.form ? select.form.querySelector("[data-zone-more]") : null;
        if (more) {
          more.hidden = true;
        }
      });
  }

  function addSearch(select, index) {
    var search = document.createElement("input");
    search.type = "search";
    search.id = (select.id || "zone-" + index) + "-search";
    search.className = "zone-search";
    search.placeholder = "Search, e.g. Tokyo";
    search.setAttribute("aria-label", "Search time zones");
    search.setAttribute("aria-controls", select.id);
    search.autocomplete = "off";
    select.parentNode.insertBefore(search, select);

    search.addEventListener("input", function () {
      var words = normalise(search.value).split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(select.options, function (option) {
        var text = normalise(option.value + " " + option.text);
        option.hidden = !words.every(function (word) {
          return text.indexOf(word) !== -1;
        });
      });
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        group.hidden = !Array.prototype.some.call(group.children, function (option) {
          return !option.hidden;
        });
      });
    });
  }

  function enhance(select, index) {
    loadList(select).then(
      function () {
        if (select.hasAttribute("data-zone-detect")) {
          var zone = browserZone();
          // Only a zone the server lists: another name would be refused on saving.
          var known = Array.prototype.some.call(select.options, function (option) {
            return option.value === zone;
          });
          if (known) {
            select.value = zone;
          }
        }
        addSearch(select, index);
        // booking.js waits for the whole list before it picks the browser's zone.
        select.setAttribute(LOADED, "");
        select.dispatchEvent(new CustomEvent("zone-list-loaded"));
      },
      function () {
        // The chosen zone and the "More time zones" link stay: the page still works.
      }
    );
  }

  Array.prototype.forEach.call(document.querySelectorAll("select[data-zone-search]"), enhance);
})();
