// The theme renders download entries as links that open in a new tab; a notebook served
// as JSON would then be displayed instead of saved. Mark the download entries as downloads.
document.addEventListener("DOMContentLoaded", () => {
  for (const a of document.querySelectorAll(
      "a.btn-download-notebook-button, a.btn-download-source-button")) {
    a.setAttribute("download", "");
    a.removeAttribute("target");
  }
});
