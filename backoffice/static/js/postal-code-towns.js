// "Ville" from the postal code (S3, "Veuillez saisir un code postal"): with JavaScript,
// once a postal code is typed, the free-text town field of a form whose <form> has
// data-towns-url is replaced on screen by the list of that code's towns (GET
// data-towns-url?code_postal=…, built from the SIRENE registry). The text field stays in
// the form and carries the value; it stays on screen, for free typing, until the registry
// knows towns for the code (so nothing moves under the user's fingers otherwise).
(function () {
  "use strict";
  function option(value, text, disabled) {
    var element = document.createElement("option");
    element.value = value;
    element.textContent = text;
    if (disabled) element.disabled = true;
    return element;
  }

  function setUp(form, input) {
    var postal = document.getElementById(input.dataset.townsOf);
    var label = form.querySelector('label[for="' + input.id + '"]');
    if (!postal || !label) return;
    var msg = form.dataset;
    var select = document.createElement("select");
    select.className = "fr-select";
    select.id = input.id + "-towns";
    ["aria-describedby", "aria-invalid", "required"].forEach(function (name) {
      if (input.hasAttribute(name)) select.setAttribute(name, input.getAttribute(name));
    });
    var status = document.createElement("p");
    status.className = "fr-hint-text fr-mt-1v";
    status.id = input.id + "-towns-status";
    status.setAttribute("aria-live", "polite");
    [input, select].forEach(function (control) {
      var described = (control.getAttribute("aria-describedby") || "").trim();
      control.setAttribute("aria-describedby", (described + " " + status.id).trim());
    });
    input.insertAdjacentElement("afterend", select);
    select.insertAdjacentElement("afterend", status);

    function showList(show) {
      select.hidden = !show;
      input.hidden = show;
      label.htmlFor = show ? select.id : input.id;
    }

    var lastCode = null;
    function lookUp() {
      var code = postal.value.replace(/\s/g, "");
      if (code === lastCode) return;
      lastCode = code;
      if (!/^[0-9]{5}$/.test(code)) {
        status.textContent = msg.townsMsgPlaceholder;
        showList(false);
        return;
      }
      fetch(form.dataset.townsUrl + "?code_postal=" + encodeURIComponent(code), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          if (code !== lastCode) return;
          var towns = data.towns || [];
          if (!towns.length) {
            showList(false);
            status.textContent = msg.townsMsgNone;
            return;
          }
          var current = input.value.trim().toUpperCase();
          select.replaceChildren(option("", msg.townsMsgChoose, false));
          towns.forEach(function (town) {
            select.appendChild(option(town, town, false));
          });
          var match = towns.filter(function (town) {
            return town.toUpperCase() === current;
          })[0];
          if (match) {
            select.value = match;
          } else if (towns.length === 1) {
            select.value = towns[0];
          } else if (current) {
            // A town typed before that the registry does not list: keep it as typed.
            showList(false);
            return;
          } else {
            select.value = "";
          }
          input.value = select.value;
          showList(true);
          status.textContent = (towns.length === 1 ? msg.townsMsgOne : msg.townsMsgMany)
            .replace("%(count)s", towns.length)
            .replace("%(code)s", code);
        })
        .catch(function () {
          showList(false);
          status.textContent = "";
        });
    }

    select.addEventListener("change", function () {
      input.value = select.value;
    });
    postal.addEventListener("input", lookUp);
    postal.addEventListener("change", lookUp);
    showList(false);
    if (postal.value) {
      lookUp();
    } else {
      status.textContent = msg.townsMsgPlaceholder;
    }
  }

  document.querySelectorAll("form[data-towns-url]").forEach(function (form) {
    form.querySelectorAll("input[data-towns-of]").forEach(function (input) {
      setUp(form, input);
    });
  });
})();
