// The connect form: choosing a ledger puts that ledger's emulator address in the "Emulator
// address" field, unless the admin typed an address of their own there.
(function () {
  var select = document.querySelector("select[data-emulator-urls]");
  var address = select && select.form.querySelector("input[name='base_url']");
  if (!address) return;
  var urls = JSON.parse(select.dataset.emulatorUrls);
  var known = Object.keys(urls).map(function (key) { return urls[key]; });
  function follow() {
    var current = address.value.trim().replace(/\/+$/, "");
    if ((current === "" || known.indexOf(current) !== -1) && urls[select.value]) {
      address.value = urls[select.value];
    }
  }
  select.addEventListener("change", follow);
  // A ledger chosen before this deferred script ran (a fast hand, a restored form) counts too.
  follow();
})();
