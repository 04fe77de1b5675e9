// Bulk selection on the documents list: row checkboxes, "select the page", and "select all N
// matching this filter" (which posts the list's filter, not ids). No framework. A filter change
// re-renders the table (htmx), which starts a new, empty selection.
(() => {
  const rowsOf = (form) => [...form.querySelectorAll("input[data-bulk-row]")];

  function refresh(form) {
    if (!form) return;
    const rows = rowsOf(form);
    const checked = rows.filter((row) => row.checked).length;
    const allInput = form.querySelector("[data-bulk-all-input]");
    const matching = allInput.value === "1";
    const total = Number(form.dataset.bulkTotal || 0);
    // A list too large to count says so ("more than 10,000") instead of a number.
    const totalLabel = form.dataset.bulkTotalLabel;
    const pageBox = form.querySelector("input[data-bulk-page]");
    if (pageBox) {
      pageBox.checked = rows.length > 0 && checked === rows.length;
      pageBox.indeterminate = checked > 0 && checked < rows.length;
    }
    form.querySelector("[data-bulk-bar]").hidden = checked === 0 && !matching;
    form.querySelector("[data-bulk-count]").textContent = !matching
      ? `${checked} selected`
      : totalLabel
        ? `All documents matching this filter (${totalLabel}) are selected`
        : `All ${total.toLocaleString()} documents matching this filter are selected`;
    // Offered once the whole page is ticked and the filter holds more than the page.
    form.querySelector("[data-bulk-select-matching]").hidden =
      matching || rows.length === 0 || checked !== rows.length || (!totalLabel && total <= rows.length);
  }

  function setAll(form, checked) {
    rowsOf(form).forEach((row) => { row.checked = checked; });
  }

  document.addEventListener("change", (event) => {
    const form = event.target.closest("#bulk-form");
    if (!form) return;
    if (event.target.matches("[data-bulk-page]")) setAll(form, event.target.checked);
    // Unticking anything leaves "all matching": back to the ticked ids.
    if (!event.target.checked) form.querySelector("[data-bulk-all-input]").value = "";
    refresh(form);
  });

  document.addEventListener("click", (event) => {
    const target = event.target;
    const form = target.closest("#bulk-form");
    if (target.matches("[data-bulk-select-matching]") && form) {
      form.querySelector("[data-bulk-all-input]").value = "1";
      setAll(form, true);
      refresh(form);
    } else if (target.matches("[data-bulk-clear]") && form) {
      form.querySelector("[data-bulk-all-input]").value = "";
      setAll(form, false);
      refresh(form);
    } else if (target.matches("[data-bulk-dialog-close]")) {
      target.closest("dialog")?.close();
    }
  });

  // The confirmation arrives from the server into the dialog: open it then.
  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (target.id === "bulk-dialog-body") {
      const dialog = document.getElementById("bulk-dialog");
      if (!dialog.open) dialog.showModal();
    } else if (target.id === "document-results") {
      refresh(document.getElementById("bulk-form"));
    }
  });

  // Also after "back": the browser may restore ticked boxes.
  window.addEventListener("pageshow", () => refresh(document.getElementById("bulk-form")));
  document.addEventListener("DOMContentLoaded", () => refresh(document.getElementById("bulk-form")));
})();
