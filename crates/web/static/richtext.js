// The rich-text editor: Quill (BSD-3-Clause, vendored under vendor/quill) takes the
// place of each <textarea data-richtext>; the textarea stays in the form and receives
// the HTML on submit, so without JavaScript the same form works with plain HTML.
// The server sanitizes whatever arrives.
// SPDX-License-Identifier: EUPL-1.2
(function () {
  "use strict";
  if (!window.Quill) return;
  var areas = document.querySelectorAll("textarea[data-richtext]");
  Array.prototype.forEach.call(areas, function (area) {
    var holder = document.createElement("div");
    holder.className = "richtext-editor";
    area.parentNode.insertBefore(holder, area.nextSibling);
    var quill = new window.Quill(holder, {
      theme: "snow",
      modules: {
        toolbar: {
          container: [
            [{ header: [2, 3, 4, false] }],
            ["bold", "italic", "link"],
            [{ list: "ordered" }, { list: "bullet" }, "blockquote"],
            ["image", "clean"]
          ],
          handlers: {
            // Images by address (an image of the site: its @@images URL), never
            // pasted inline as data.
            image: function () {
              var url = window.prompt(area.dataset.imagePrompt || "Image URL");
              if (!url) return;
              var range = this.quill.getSelection(true);
              this.quill.insertEmbed(range.index, "image", url, "user");
            }
          }
        }
      }
    });
    // The toolbar's names in the page's language (Quill names them in English).
    var labels = area.dataset;
    var toolbar = holder.previousSibling;
    if (toolbar && toolbar.classList && toolbar.classList.contains("ql-toolbar")) {
      toolbar.setAttribute("role", "toolbar");
      if (labels.labelToolbar) toolbar.setAttribute("aria-label", labels.labelToolbar);
      var name = function (selector, label) {
        Array.prototype.forEach.call(toolbar.querySelectorAll(selector), function (el) {
          if (label) el.setAttribute("aria-label", label);
        });
      };
      name("button.ql-bold", labels.labelBold);
      name("button.ql-italic", labels.labelItalic);
      name("button.ql-link", labels.labelLink);
      name("button.ql-list[value=ordered]", labels.labelOrdered);
      name("button.ql-list[value=bullet]", labels.labelBullet);
      name("button.ql-blockquote", labels.labelBlockquote);
      name("button.ql-image", labels.labelImage);
      name("button.ql-clean", labels.labelClean);
      name(".ql-header .ql-picker-label", labels.labelHeader);
    }
    quill.clipboard.dangerouslyPasteHTML(area.value);
    var label = document.querySelector("label[for='" + area.id + "']");
    var editable = holder.querySelector(".ql-editor");
    if (editable) {
      editable.setAttribute("role", "textbox");
      editable.setAttribute("aria-multiline", "true");
      if (label) editable.setAttribute("aria-label", label.textContent.trim());
    }
    area.hidden = true;
    // Quill writes every space as "&nbsp;", so paragraphs would never wrap; a
    // non-breaking space the author typed stays a character and is kept.
    var html = function () {
      return quill.getLength() > 1 ? quill.getSemanticHTML().replace(/&nbsp;/g, " ") : "";
    };
    area.form.addEventListener("submit", function () {
      area.value = html();
    });
  });
})();
