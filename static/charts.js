// Every clickable mark of a chart carries the URL of the sites behind it in `customdata`.
function wlcgLinkClicks(plotId) {
  const plot = document.getElementById(plotId);
  plot.on("plotly_click", (event) => {
    const url = event.points[0].customdata;
    if (url) window.location.assign(url);
  });
}
