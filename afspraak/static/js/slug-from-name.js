// A new meeting type's web address follows its name until the host types one of their
// own. Without this script the server makes the address from the name when left empty.
(function () {
  "use strict";

  function slugify(text) {
    return text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9\s-]/g, "")
      .trim()
      .replace(/[\s-]+/g, "-")
      .slice(0, 60)
      .replace(/-+$/, "");
  }

  document.querySelectorAll("input[data-slug-from]").forEach(function (slug) {
    var source = slug.form && slug.form.elements.namedItem(slug.getAttribute("data-slug-from"));
    if (!source) {
      return;
    }
    var followed = slug.value === "" || slug.value === slugify(source.value);
    slug.addEventListener("input", function () {
      followed = slug.value === "";
    });
    source.addEventListener("input", function () {
      if (followed) {
        slug.value = slugify(source.value);
      }
    });
  });
})();
