// A page showing the status as of a past day (<body data-as-of="2026-06-30">) keeps that day
// in its links to the dashboard's pages and in its filter forms, so that browsing stays on
// the same day until “back to today”. Links marked data-now go to the present on purpose.
"use strict";

(() => {
  const day = document.body.dataset.asOf;
  document.querySelectorAll("a[href]:not([data-now])").forEach((link) => {
    const url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || url.searchParams.has("as_of")) return;
    if (url.pathname.startsWith("/admin/") || url.pathname.startsWith("/accounts/")) return;
    url.searchParams.set("as_of", day);
    link.href = url.pathname + url.search + url.hash;
  });
  document.querySelectorAll("form[method=get]").forEach((form) => {
    if (form.elements.namedItem("as_of")) return;
    const input = document.createElement("input");
    Object.assign(input, {type: "hidden", name: "as_of", value: day});
    form.append(input);
  });
})();
