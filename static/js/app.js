// Behaviour the pages declare with data- attributes instead of inline handlers, so that the
// Content-Security-Policy can forbid inline script. Delegated from the document: it also works
// on parts htmx swaps in.
//   data-confirm="…"         on a form: ask before it is submitted
//   data-submit-on-change    on a field: submit its form when it changes
//   data-dialog-open="id"    on a button: open that <dialog> (it gets a "dialog-opened" event)
//   data-dialog-close        on a button: close the <dialog> it is in
//   data-select-on-focus     on an input: select its text on focus or click
//   data-open-on-load        on a <dialog>: open it as the page (or swapped part) loads
//   data-no-change-event     on a field: its "change" does not reach its form (htmx triggers)
(function () {
  // Capture on the document runs before the form's own listeners (the documents list's search box
  // filters as one types; its change on leaving would re-render the table and drop a selection).
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-no-change-event]")) event.stopPropagation();
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("[data-submit-on-change]") && field.form) {
      field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
    }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-dialog-open]");
    if (opener) {
      showDialog(document.getElementById(opener.dataset.dialogOpen));
      return;
    }
    var closer = event.target.closest && event.target.closest("[data-dialog-close]");
    if (closer) closer.closest("dialog").close();
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  // Opens a <dialog> and tells it (a "dialog-opened" event on it): a part of it can load what it
  // shows only then (htmx: hx-trigger="dialog-opened from:#the-dialog"), whichever button opened it.
  function showDialog(dialog) {
    dialog.showModal();
    dialog.dispatchEvent(new CustomEvent("dialog-opened"));
  }

  function openMarkedDialogs(root) {
    (root || document).querySelectorAll("dialog[data-open-on-load]").forEach(function (dialog) {
      if (!dialog.open) showDialog(dialog);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { openMarkedDialogs(); });
  } else {
    openMarkedDialogs();
  }
  document.addEventListener("htmx:afterSettle", function (event) { openMarkedDialogs(event.target); });
})();
