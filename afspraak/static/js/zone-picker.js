// Time-zone lists: a search box that narrows the list, and (for a new schedule) the
// browser's own zone chosen. Without this script the list is a plain <select> that works.
(function () {
  "use strict";

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

  function enhance(select, index) {
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

  Array.prototype.forEach.call(document.querySelectorAll("select[data-zone-search]"), enhance);
})();
