// The book's script: two fixes to the HTML that the theme writes, made once the page loads.
document.addEventListener("DOMContentLoaded", () => {
  // The theme renders download entries as links that open in a new tab; a notebook served
  // as JSON would then be displayed instead of saved. Mark the download entries as downloads.
  for (const a of document.querySelectorAll(
      "a.btn-download-notebook-button, a.btn-download-source-button")) {
    a.setAttribute("download", "");
    a.removeAttribute("target");
  }
  // pydata-sphinx-theme 0.17 makes each sidebar entry with children (the API reference) a
  // <details> whose <summary> holds only a decorative chevron: a toggle without a name,
  // announced as an unlabelled button (axe-core: serious "summary-name"). Name it.
  for (const summary of document.querySelectorAll("nav summary:not([aria-label])")) {
    if (!summary.textContent.trim()) {
      summary.setAttribute("aria-label", "Show or hide the sections");
    }
  }
});
