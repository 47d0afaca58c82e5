// Drag-and-drop ordering for the folder contents table. Without this script the
// "up" and "down" buttons do the same. A dropped row posts the folder's own form
// (obj_id, delta, CSRF token), so the server decides as for any other reorder.
// SPDX-License-Identifier: EUPL-1.2
(function () {
  "use strict";
  var table = document.querySelector("table.contents[data-reorder]");
  var form = document.getElementById("contents-form");
  if (!table || !form) return;
  var dragged = null;
  var rows = function () { return Array.prototype.slice.call(table.tBodies[0].rows); };
  table.addEventListener("dragstart", function (e) {
    var tr = e.target.closest("tr[data-id]");
    if (!tr) return;
    dragged = tr;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", tr.dataset.id);
  });
  table.addEventListener("dragover", function (e) {
    if (dragged && e.target.closest("tr[data-id]")) e.preventDefault();
  });
  table.addEventListener("drop", function (e) {
    var target = e.target.closest("tr[data-id]");
    if (!dragged || !target || target === dragged) return;
    e.preventDefault();
    var delta = rows().indexOf(target) - rows().indexOf(dragged);
    var data = new URLSearchParams(new FormData(form));
    data.delete("sel");
    data.set("obj_id", dragged.dataset.id);
    data.set("delta", String(delta));
    fetch(table.dataset.reorder, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { if (r.ok || r.redirected) window.location.reload(); });
  });
})();
