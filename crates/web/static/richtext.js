// The rich-text editor: Quill (BSD-3-Clause, vendored under vendor/quill) takes the
// place of each <textarea data-richtext>; the textarea stays in the form and receives
// the HTML on submit, so without JavaScript the same form works with plain HTML.
// The server sanitizes whatever arrives. Links and images are chosen in the chooser
// (chooser.js) by browsing or searching the site, or by address; links to the site
// are stored by UID on save (links.rs).
// SPDX-License-Identifier: EUPL-1.2
(function () {
  "use strict";
  if (!window.Quill) return;
  var Link = window.Quill.import("formats/link");

  // The link button (and Ctrl+K): the chooser, given the link under the cursor or the
  // selection if there is one. A link chosen goes on the selected text, or on the
  // whole link the cursor is in, or is inserted with the item's title as its text.
  function chooseLink(quill, range) {
    range = range || quill.getSelection(true) || { index: quill.getLength() - 1, length: 0 };
    var at = range;
    var current = null;
    var found = quill.scroll.descendant(Link, range.index);
    if (range.length === 0 && found && found[0]) {
      at = { index: range.index - found[1], length: found[0].length() };
      current = Link.formats(found[0].domNode);
    } else if (range.length > 0) {
      var format = quill.getFormat(range);
      current = typeof format.link === "string" ? format.link : null;
    }
    window.BeffroiChooser.open({
      mode: "link",
      current: current,
      removable: !!current,
      done: function (result) {
        if (!result) {
          quill.setSelection(range, "user");
        } else if (result.remove) {
          quill.formatText(at.index, at.length, "link", false, "user");
          quill.setSelection(at.index + at.length, 0, "user");
        } else if (at.length > 0) {
          quill.formatText(at.index, at.length, "link", result.url, "user");
          quill.setSelection(at.index + at.length, 0, "user");
        } else {
          var text = result.title || result.url.replace(/^mailto:/i, "");
          quill.insertText(at.index, text, "link", result.url, "user");
          quill.setSelection(at.index + text.length, 0, "user");
        }
      }
    });
  }

  // The image button: the chooser; the image goes where the cursor was, with its
  // alternative text.
  function chooseImage(quill) {
    var range = quill.getSelection(true) || { index: quill.getLength() - 1, length: 0 };
    window.BeffroiChooser.open({
      mode: "image",
      done: function (result) {
        if (!result) {
          quill.setSelection(range, "user");
          return;
        }
        quill.insertEmbed(range.index, "image", result.url, "user");
        if (result.alt) quill.formatText(range.index, 1, "alt", result.alt, "user");
        quill.setSelection(range.index + 1, 0, "user");
      }
    });
  }

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
          handlers: window.BeffroiChooser
            ? { link: function () { chooseLink(this.quill); }, image: function () { chooseImage(this.quill); } }
            : {
                // Without the chooser (a browser without <dialog>): images by address,
                // links with Quill's own box.
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
    // Quill's box shown on a link offers "edit": the chooser instead of its own field.
    var tooltip = quill.theme && quill.theme.tooltip;
    var edit = tooltip && tooltip.root && tooltip.root.querySelector("a.ql-action");
    if (window.BeffroiChooser && edit) {
      tooltip.root.addEventListener("click", function (event) {
        if (event.target !== edit || tooltip.root.classList.contains("ql-editing")) return;
        event.preventDefault();
        event.stopPropagation();
        var at = tooltip.linkRange;
        tooltip.hide();
        chooseLink(quill, at);
      }, true);
    }
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
