// Copy the endpoint's secret: it is shown once, so make taking it easy.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copyTarget);
  if (!field) return;
  try {
    await navigator.clipboard.writeText(field.value);
  } catch (error) {
    // No clipboard API (plain http): select the text so the user can copy it.
    field.select();
    document.execCommand("copy");
  }
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});
