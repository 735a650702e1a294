// Draws each chart of the page from the figure _chart.html wrote as JSON next to it, and makes
// its marks links: every clickable mark carries the URL of the sites behind it in `customdata`.
"use strict";

document.querySelectorAll(".plotly-chart[data-figure]").forEach((element) => {
  const figure = JSON.parse(document.getElementById(element.dataset.figure).textContent);
  Plotly.newPlot(element, figure.data, figure.layout, figure.config).then(() => {
    element.on("plotly_click", (event) => {
      const url = event.points[0].customdata;
      if (!url) return;
      // On a page as of a past day (as_of.js), the sites behind a mark as of that day.
      const target = new URL(url, window.location.href);
      if (document.body.dataset.asOf) target.searchParams.set("as_of", document.body.dataset.asOf);
      window.location.assign(target);
    });
  });
});
