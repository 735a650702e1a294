// Follows a report being made: polls its status, moves the bar, then offers the download
// or says why it failed.
(function () {
  const box = document.getElementById("report-status");
  if (!box || ["done", "failed"].includes(box.dataset.status)) return;
  const bar = box.querySelector(".bar");
  const step = box.querySelector(".step");

  async function poll() {
    const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
    const report = await response.json();
    bar.setAttribute("aria-valuenow", report.progress);
    bar.querySelector("span").style.width = report.progress + "%";
    step.textContent = report.step || "Waiting for a worker…";
    if (report.status === "done") {
      step.textContent = "Done.";
      box.querySelector(".download").hidden = false;
    } else if (report.status === "failed") {
      step.textContent = "Failed.";
      box.querySelector(".error-text").textContent = report.error;
      box.querySelector(".failure").hidden = false;
    } else {
      setTimeout(poll, 1000);
    }
  }
  setTimeout(poll, 500);
})();
