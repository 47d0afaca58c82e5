// Drag-and-drop for a table whose rows can be moved: `table[data-move-url]`, its rows
// `tr[data-item]` (marked draggable). A dropped row posts the row's data-item, how
// many places it moved (negative upwards) and the table's data-csrf to data-move-url,
// under the names data-move-item and data-move-by give (default `item` and `by`), so
// the server decides as for the page's buttons, which do the same without this script
// (and for keyboards and screen readers). Used by a folder's contents and a meeting's
// agenda.
// SPDX-License-Identifier: EUPL-1.2
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("table[data-move-url]"), function (table) {
    var dragged = null;
    var rows = function () { return Array.prototype.slice.call(table.tBodies[0].rows); };
    table.addEventListener("dragstart", function (e) {
      var tr = e.target.closest("tr[data-item]");
      if (!tr) return;
      dragged = tr;
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", tr.dataset.item);
    });
    table.addEventListener("dragover", function (e) {
      if (dragged && e.target.closest("tr[data-item]")) e.preventDefault();
    });
    table.addEventListener("drop", function (e) {
      var target = e.target.closest("tr[data-item]");
      if (!dragged || !target || target === dragged) return;
      e.preventDefault();
      var data = new URLSearchParams();
      data.set("_csrf", table.dataset.csrf || "");
      data.set(table.dataset.moveItem || "item", dragged.dataset.item);
      data.set(table.dataset.moveBy || "by", String(rows().indexOf(target) - rows().indexOf(dragged)));
      fetch(table.dataset.moveUrl, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (r) { if (r.ok || r.redirected) window.location.reload(); });
    });
    table.addEventListener("dragend", function () { dragged = null; });
  });
})();
