/* A keyboard path through a ticket list (issue 13): j / ArrowDown and k / ArrowUp move the
   focus to the next / previous row's reference link; Enter then opens the ticket (the link
   does it: no key is faked). The rows stay real links for screen readers; keys typed in a
   field, a select or with a modifier are left alone, and the focus ring is the browser's. */
(function () {
  "use strict";
  var table = document.querySelector("table[data-keyboard-list]");
  if (!table) return;

  function links() {
    return Array.prototype.slice.call(table.querySelectorAll("tbody a.bo-row-link"));
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function mark(current) {
    links().forEach(function (link) {
      var row = link.closest("tr");
      if (row) row.classList.toggle("bo-row--current", link === current);
    });
  }

  table.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("bo-row-link")) {
      mark(event.target);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event.target)) return;
    var key = event.key;
    var down = key === "j" || key === "ArrowDown";
    var up = key === "k" || key === "ArrowUp";
    if (!down && !up) return;
    var items = links();
    if (!items.length) return;
    var index = items.indexOf(document.activeElement);
    // Arrows only move between rows once the focus is in the list: elsewhere they scroll.
    if (index === -1 && (key === "ArrowDown" || key === "ArrowUp")) return;
    var next;
    if (index === -1) {
      next = down ? 0 : items.length - 1;
    } else {
      next = Math.min(items.length - 1, Math.max(0, index + (down ? 1 : -1)));
    }
    event.preventDefault();
    items[next].focus();
    items[next].scrollIntoView({ block: "nearest" });
  });
})();
