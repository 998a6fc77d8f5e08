// "Insérer" a canned reply on the ticket page without reloading it: the texts are in the
// page (<template id="canned-reply-N">, filled and escaped by the server), so the reply
// box gets the chosen one at once, with its id posted along (its use is counted when the
// reply is sent). Without JavaScript the same form is a GET of the page with
// ?reponse_type=N, and the server fills the box.
(function () {
  "use strict";
  var form = document.querySelector("form[data-canned-insert]");
  var box = document.getElementById("reply-body");
  var hidden = document.getElementById("reply-canned-reply");
  var status = document.getElementById("canned-reply-status");
  if (!form || !box || !hidden) return;
  form.addEventListener("submit", function (event) {
    var select = form.querySelector("select");
    var template = select && select.value && document.getElementById("canned-reply-" + select.value);
    if (!template) return; // nothing chosen: let the server answer
    event.preventDefault();
    var text = template.content.textContent;
    var current = box.value;
    if (current.trim() === "") {
      box.value = text;
    } else {
      // Something typed already: the canned text goes where the cursor is.
      var start = box.selectionStart, end = box.selectionEnd;
      box.value = current.slice(0, start) + text + current.slice(end);
    }
    hidden.value = select.value;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    if (status) {
      status.textContent = "Réponse type « " + template.dataset.title + " » insérée : relisez-la avant d'envoyer.";
    }
  });
})();
