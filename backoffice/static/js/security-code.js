// "Nouveau code" of the security code (tickets/captcha.py): draws another code in place,
// keeps what was typed in the rest of the form, and tells screen readers what changed.
// Without JavaScript the button stays hidden; a wrong code also brings a new one.
(function () {
  "use strict";
  function setUp(block) {
    var button = block.querySelector("[data-security-code-refresh]");
    var image = block.querySelector("[data-security-code-image]");
    var audio = block.querySelector("[data-security-code-audio]");
    var status = block.querySelector("[data-security-code-status]");
    var key = block.querySelector("input[type=hidden]");
    var answer = block.querySelector("input:not([type=hidden])");
    if (!button || !image || !key || !answer) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      fetch(block.dataset.refreshUrl, {
        headers: { "X-Requested-With": "XMLHttpRequest", Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          key.value = data.key;
          image.src = data.image_url;
          if (audio) {
            audio.src = data.audio_url;
            var fallback = audio.querySelector("a");
            if (fallback) fallback.href = data.audio_url;
            audio.load();
          }
          answer.value = "";
          status.textContent = block.dataset.msgDone;
        })
        .catch(function () {
          status.textContent = block.dataset.msgFailed;
        })
        .finally(function () {
          button.disabled = false;
        });
    });
  }
  document.querySelectorAll("[data-security-code]").forEach(setUp);
})();
