// Sync History: Pending disables the date range; row selection, "select all N matching", and the
// Update Sync Status dialog. Delegated from the document, so it survives htmx swaps of the results.
(function () {
  function byData(root, name) { return root.querySelector("[data-" + name + "]"); }

  function syncPendingDates(select) {
    var pending = select.value === "pending";
    select.form.querySelectorAll("input[type=date]").forEach(function (input) { input.disabled = pending; });
    var note = document.getElementById("pending-dates-note");
    if (note) note.hidden = !pending;
  }

  function refreshSelection(form) {
    var boxes = form.querySelectorAll("input[name=record_ids]");
    var checked = form.querySelectorAll("input[name=record_ids]:checked").length;
    var matching = byData(form, "scope").value === "matching";
    var total = Number(form.dataset.total);
    var pageAll = boxes.length > 0 && checked === boxes.length;
    var selectPage = byData(form, "select-page");
    if (selectPage) {
      selectPage.checked = pageAll;
      selectPage.indeterminate = checked > 0 && !pageAll;
    }
    var count = matching ? total : checked;
    // A filter too large to count says "more than 10,000" (data-total-label) instead.
    var label = matching ? (form.dataset.totalLabel || String(total)) : String(checked);
    var summary = byData(form, "selection-summary");
    if (summary) summary.textContent = count ? label + " selected" : "";
    var offer = byData(form, "select-matching-offer");
    if (offer) offer.hidden = matching || !pageAll || total <= boxes.length;
    var note = byData(form, "all-matching-note");
    if (note) note.hidden = !matching;
    var action = byData(form, "open-dialog");
    if (action) action.disabled = count === 0;
    var dialogCount = byData(form, "dialog-count");
    if (dialogCount) {
      dialogCount.innerHTML = "";
      var strong = document.createElement("strong");
      strong.textContent = label + " record" + (count === 1 ? "" : "s");
      dialogCount.append(strong, matching ? " — every record matching the filters." : " selected.");
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    // Capture phase: runs before htmx reads the filter form, so disabled dates are not sent.
    if (target.matches("#history-filters select[name=status]")) syncPendingDates(target);
    var form = target.closest("#status-update-form");
    if (!form || !target.matches("input[name=record_ids], [data-select-page]")) return;
    if (target.matches("[data-select-page]")) {
      form.querySelectorAll("input[name=record_ids]").forEach(function (box) { box.checked = target.checked; });
    }
    if (!target.checked) byData(form, "scope").value = "selected";
    refreshSelection(form);
  }, true);

  document.addEventListener("click", function (event) {
    var form = event.target.closest("#status-update-form");
    if (!form) return;
    if (event.target.closest("[data-select-matching]")) {
      byData(form, "scope").value = "matching";
      refreshSelection(form);
    } else if (event.target.closest("[data-clear-selection]")) {
      byData(form, "scope").value = "selected";
      form.querySelectorAll("input[name=record_ids]").forEach(function (box) { box.checked = false; });
      refreshSelection(form);
    } else if (event.target.closest("[data-open-dialog]")) {
      refreshSelection(form);
      document.getElementById(event.target.closest("[data-open-dialog]").dataset.openDialog).showModal();
    } else if (event.target.closest("[data-close-dialog]")) {
      event.target.closest("dialog").close();
    }
  });
})();
