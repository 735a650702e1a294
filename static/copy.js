// “Copy” buttons beside read-only snippets (a badge's Markdown or HTML): copy the snippet
// in the same label to the clipboard and say so.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const input = button.closest("label").querySelector("input");
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    document.execCommand("copy");  // outside a secure context (plain http)
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});
