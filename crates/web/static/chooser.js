// The rich-text editor's chooser of links and images: a modal <dialog> (written by
// edit.html in the page's language) to pick an item by browsing the site from the
// current folder or by searching it, to type an address, and, for images, to upload
// one into the current folder. It reads and writes through the site's JSON API
// (plone.restapi) with the session cookie; writes carry the form's CSRF token in the
// X-CSRF-Token header. richtext.js opens it: BeffroiChooser.open({mode, current,
// removable, done}) and done(result) is called once the dialog closes, with
// {url, title, alt} or {remove: true}, or null when cancelled.
// SPDX-License-Identifier: EUPL-1.2
(function () {
  "use strict";
  var dialog = document.getElementById("chooser");
  if (!dialog || typeof dialog.showModal !== "function" || !window.fetch) return;
  var words = dialog.dataset;
  var find = function (selector) { return dialog.querySelector(selector); };
  var el = {
    title: find("#chooser-title"),
    search: find(".chooser-search"),
    q: find("#chooser-q"),
    path: find(".chooser-path"),
    crumbs: find(".chooser-path ol"),
    up: find(".chooser-up"),
    back: find(".chooser-back"),
    listLabel: find(".chooser-list-label"),
    list: find(".chooser-items"),
    more: find(".chooser-more"),
    status: find(".chooser-status"),
    upload: find(".chooser-upload"),
    file: find("#chooser-file"),
    fileTitle: find("#chooser-file-title"),
    insert: find(".chooser-insert"),
    chosen: find(".chooser-chosen"),
    url: find("#chooser-url"),
    urlLabel: find("label[for=chooser-url]"),
    alt: find("#chooser-alt"),
    size: find("#chooser-size"),
    error: find("#chooser-error"),
    uploadError: find("#chooser-upload-error"),
    insertButton: find(".chooser-insert-button"),
    remove: find(".chooser-remove")
  };
  // Types that hold others: browsed into (the page lists them).
  var folderish = (words.folderish || "").split(" ");
  var PAGE = 50;
  var state = {
    mode: "link", // or "image"
    folder: null, // the URL of the folder shown, when browsing
    parent: null, // the URL of its parent, if it has one
    text: null, // the words searched, when searching
    next: null, // the URL of the next batch
    chosen: null, // the item chosen in the list: {url, title, thumb}
    options: null, // what open() was given
    result: null, // what the dialog answers when it closes
    seq: 0 // the last listing asked for: older answers are dropped
  };

  // "{title}"-style holes in the page's sentences.
  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : all;
    });
  }

  function query(params) {
    return params.map(function (p) {
      return encodeURIComponent(p[0]) + "=" + encodeURIComponent(p[1]);
    }).join("&");
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw r.status;
      return r.json();
    });
  }

  // A message in the dialog's alert under the address (or under the upload); the
  // other one is cleared.
  function showError(message, where) {
    where = where || el.error;
    el.error.textContent = "";
    if (el.uploadError) el.uploadError.textContent = "";
    where.textContent = message || "";
  }

  function isFolder(item) {
    return folderish.indexOf(item["@type"]) >= 0;
  }

  // An item's small picture: its image field's thumb scale (@@images/<field>/thumb).
  function thumb(item) {
    return item.image_field ? item["@id"] + "/@@images/" + item.image_field + "/thumb" : null;
  }

  // --- Listing: a folder's contents or search results -------------------------------

  function listParams() {
    var params = [["b_size", String(PAGE)]];
    if (state.mode === "image") {
      params.push(["portal_type", words.imageType]);
      if (!state.text) folderish.forEach(function (t) { params.push(["portal_type", t]); });
    }
    return params;
  }

  function browse(url) {
    state.folder = url;
    state.text = null;
    el.q.value = "";
    el.back.hidden = true;
    el.path.hidden = false;
    var params = listParams().concat([["path.depth", "1"], ["sort_on", "getObjPositionInParent"]]);
    load(url + "/@search?" + query(params), false);
    crumbs(url);
  }

  function search(text) {
    state.text = text;
    el.back.hidden = false;
    el.path.hidden = true;
    var params = listParams().concat([["SearchableText", text]]);
    load(words.site + "/@search?" + query(params), false);
  }

  // The breadcrumbs of the folder shown: each ancestor a button, the folder itself
  // last; and a button to its parent.
  function crumbs(url) {
    var seq = state.seq;
    el.up.hidden = true;
    getJSON(url + "/@breadcrumbs").then(function (data) {
      if (seq !== state.seq) return;
      var trail = [{ "@id": words.site, title: words.home }].concat(data.items || []);
      state.parent = trail.length > 1 ? trail[trail.length - 2]["@id"] : null;
      el.up.hidden = !state.parent;
      el.crumbs.textContent = "";
      trail.forEach(function (c, i) {
        var li = document.createElement("li");
        if (i === trail.length - 1) {
          var here = document.createElement("span");
          here.setAttribute("aria-current", "location");
          here.textContent = c.title;
          li.appendChild(here);
        } else {
          var up = document.createElement("button");
          up.type = "button";
          up.textContent = c.title;
          up.addEventListener("click", function () { browse(c["@id"]); el.q.focus(); });
          li.appendChild(up);
        }
        el.crumbs.appendChild(li);
      });
      var title = trail.length > 1 ? trail[trail.length - 1].title : words.siteTitle;
      el.listLabel.textContent = say(words.contents, { title: title });
    }).catch(function () {
      if (seq === state.seq) el.crumbs.textContent = "";
    });
  }

  function load(url, append) {
    var seq = ++state.seq;
    if (!append) {
      el.list.textContent = "";
      el.listLabel.textContent = "";
    }
    el.more.hidden = true;
    el.status.textContent = words.loading;
    el.list.setAttribute("aria-busy", "true");
    getJSON(url).then(function (data) {
      if (seq !== state.seq) return;
      var items = data.items || [];
      items.forEach(function (item) { el.list.appendChild(row(item)); });
      state.next = data.batching && data.batching.next ? data.batching.next : null;
      el.more.hidden = !state.next;
      var label;
      if (state.text) {
        label = say(words.results, { text: state.text, count: data.items_total || 0 });
        el.listLabel.textContent = label;
      }
      if (!append && items.length === 0) {
        var none = document.createElement("li");
        none.className = "chooser-none";
        none.textContent = state.text ? words.noResults : words.empty;
        el.list.appendChild(none);
        label = none.textContent;
      }
      el.status.textContent = label || "";
    }).catch(function () {
      if (seq !== state.seq) return;
      el.status.textContent = "";
      showError(words.loadError);
    }).then(function () {
      if (seq === state.seq) el.list.removeAttribute("aria-busy");
    });
  }

  // One listed item: a button that chooses it (or, for a folder when choosing an
  // image, opens it), and for a folder when choosing a link, a button to open it.
  function row(item) {
    var li = document.createElement("li");
    var folder = isFolder(item);
    var pick = document.createElement("button");
    pick.type = "button";
    pick.className = "chooser-pick";
    var picture = thumb(item);
    if (picture) {
      var img = document.createElement("img");
      img.src = picture;
      img.alt = "";
      img.loading = "lazy";
      pick.appendChild(img);
    } else {
      var icon = document.createElement("span");
      icon.className = "type-icon" + (folder ? " folder" : "");
      pick.appendChild(icon);
    }
    var text = document.createElement("span");
    var title = document.createElement("span");
    title.className = "chooser-item-title";
    title.textContent = item.title || item["@id"];
    var kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = item.type_title || item["@type"];
    // Found items also say where they are.
    if (state.text && item["@id"].indexOf(words.site) === 0) {
      kind.textContent += " · " + (item["@id"].slice(words.site.length) || "/");
    }
    text.appendChild(title);
    text.appendChild(kind);
    pick.appendChild(text);
    li.appendChild(pick);
    if (folder && state.mode === "image") {
      pick.addEventListener("click", function () { browse(item["@id"]); el.q.focus(); });
    } else {
      pick.dataset.url = item["@id"];
      pick.setAttribute("aria-pressed", state.chosen && state.chosen.url === item["@id"] ? "true" : "false");
      pick.addEventListener("click", function () {
        choose({ url: item["@id"], title: item.title || item["@id"], thumb: picture });
      });
      if (folder) {
        var open = document.createElement("button");
        open.type = "button";
        open.className = "chooser-open secondary";
        open.textContent = words.open;
        open.setAttribute("aria-label", say(words.openFolder, { title: item.title }));
        open.addEventListener("click", function () { browse(item["@id"]); el.q.focus(); });
        li.appendChild(open);
      }
    }
    return li;
  }

  // --- The choice ------------------------------------------------------------------

  function imageAddress(url) {
    return url + "/@@images/" + words.imageField + "/" + el.size.value;
  }

  // An item chosen: its address in the field (a scale of it, for an image), its title
  // shown; the next field to fill gets the focus.
  function choose(item) {
    showError("");
    var before = state.chosen;
    state.chosen = item;
    el.url.value = state.mode === "image" ? imageAddress(item.url) : item.url;
    // The image's title as its text, unless the editor wrote one of their own.
    if (state.mode === "image" && (!el.alt.value || (before && el.alt.value === before.title))) {
      el.alt.value = item.title;
    }
    Array.prototype.forEach.call(el.list.querySelectorAll("button[aria-pressed]"), function (b) {
      b.setAttribute("aria-pressed", b.dataset.url === item.url ? "true" : "false");
    });
    showChosen();
    (state.mode === "image" ? el.alt : el.insertButton).focus();
  }

  function showChosen() {
    var c = state.chosen;
    el.chosen.hidden = !c;
    if (!c) return;
    var img = el.chosen.querySelector("img");
    img.hidden = !c.thumb;
    if (c.thumb) img.src = c.thumb;
    el.chosen.querySelector("span").textContent = say(words.chosen, { title: c.title });
  }

  // The address typed, made whole ("www.x.be" → https://, "a@b.be" → mailto:); null
  // when it is not one the editor may insert.
  function address(raw, mode) {
    var v = raw.trim();
    if (!v || /\s/.test(v)) return null;
    // The site's own paths, and the relative form internal links are stored in.
    if (/^\/(?!\/)/.test(v) || /^resolveuid\/[0-9a-f]{32}(?:[/?#]|$)/i.test(v)) return v;
    if (mode === "link" && /^#/.test(v)) return v;
    if (mode === "link" && /^mailto:[^@]+@[^@]+$/i.test(v)) return v;
    if (mode === "link" && /^[^@/:]+@[^@/:]+\.[^@/:]+$/.test(v)) return "mailto:" + v;
    if (!/^[a-z][a-z0-9+.-]*:/i.test(v) && /^[^/:]+\.[a-z]{2,}(?:[/?#]|$)/i.test(v)) v = "https://" + v;
    try {
      var u = new URL(v);
      if (!u.host || u.username || u.password) return null;
      if (u.protocol === "https:") return v;
      // Pages show images from other sites over https only (their CSP): plain http
      // only for this site's own.
      if (u.protocol === "http:" && (mode === "link" || u.origin === window.location.origin)) return v;
      return null;
    } catch (e) {
      return null;
    }
  }

  function insert(event) {
    event.preventDefault();
    var raw = el.url.value;
    if (!raw.trim()) {
      showError(words.errNothing);
      el.url.focus();
      return;
    }
    var url = address(raw, state.mode);
    if (!url) {
      showError(state.mode === "image" ? words.errImageAddress : words.errAddress);
      el.url.focus();
      return;
    }
    var chosen = state.chosen;
    finish({ url: url, title: chosen ? chosen.title : null, alt: el.alt.value.trim() });
  }

  function finish(result) {
    state.result = result;
    dialog.close();
  }

  // --- Upload into the current folder -----------------------------------------------

  function uploadError(status) {
    if (status === 413) return words.errTooLarge;
    if (status === 400) return words.errInvalid;
    if (status === 401) return words.errRefused;
    if (status === 403) return words.errSession;
    return words.errFailed;
  }

  function upload(event) {
    event.preventDefault();
    var fail = function (message) {
      showError(message, el.uploadError);
      el.file.focus();
    };
    showError("");
    var file = el.file.files && el.file.files[0];
    if (!file) return fail(words.errNoFile);
    if (!/^image\/(png|jpeg|gif|webp)$/.test(file.type)) return fail(words.errNotImage);
    if (file.size > Number(words.maxBytes)) return fail(words.errTooLarge);
    var button = el.upload.querySelector("button[type=submit]");
    button.disabled = true;
    el.status.textContent = words.uploading;
    var reader = new FileReader();
    reader.onerror = function () {
      button.disabled = false;
      el.status.textContent = "";
      fail(words.errFailed);
    };
    reader.onload = function () {
      var data = String(reader.result);
      // An item of the site's image type, its image in the type's image field.
      var body = { "@type": words.imageType };
      body[words.imageField] = {
        data: data.slice(data.indexOf(",") + 1), encoding: "base64", filename: file.name, "content-type": file.type
      };
      // Without a title the server takes the file's name.
      if (el.fileTitle.value.trim()) body.title = el.fileTitle.value.trim();
      var csrf = document.querySelector("form.edit input[name=_csrf]");
      fetch(words.folder, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRF-Token": csrf ? csrf.value : ""
        },
        body: JSON.stringify(body)
      }).then(function (r) {
        if (r.status !== 201) throw r.status;
        return r.json();
      }).then(function (item) {
        el.upload.reset();
        el.status.textContent = say(words.uploaded, { title: item.title });
        if (!state.text && state.folder === words.folder) browse(words.folder);
        choose({ url: item["@id"], title: item.title, thumb: item["@id"] + "/@@images/" + words.imageField + "/thumb" });
      }).catch(function (status) {
        el.status.textContent = "";
        fail(uploadError(typeof status === "number" ? status : 0));
      }).then(function () {
        button.disabled = false;
      });
    };
    reader.readAsDataURL(file);
  }

  // --- Opening and closing -----------------------------------------------------------

  // The title of the item a stored link points to (resolveuid/<uid>), shown as chosen.
  function describe(current) {
    var m = /resolveuid\/([0-9a-f]{32})/i.exec(current || "");
    if (!m) return;
    getJSON(words.site + "/@search?" + query([["UID", m[1]]])).then(function (data) {
      var item = data.items && data.items[0];
      if (item && !state.chosen && el.url.value === current) {
        state.chosen = { url: current, title: item.title, thumb: thumb(item) };
        showChosen();
      }
    }).catch(function () {});
  }

  function open(options) {
    state.options = options;
    state.result = null;
    state.chosen = null;
    state.mode = options.mode === "image" ? "image" : "link";
    var image = state.mode === "image";
    Array.prototype.forEach.call(dialog.querySelectorAll("[data-mode]"), function (e) {
      e.hidden = e.dataset.mode !== state.mode;
    });
    el.title.textContent = image ? words.titleImage : words.titleLink;
    el.urlLabel.textContent = image ? words.addressImage : words.addressLink;
    el.insertButton.textContent = image ? words.insertImage : words.insertLink;
    el.remove.hidden = !options.removable;
    el.url.value = options.current || "";
    el.alt.value = "";
    if (el.upload) el.upload.reset();
    showError("");
    showChosen();
    dialog.showModal();
    // A dialog keeps its scroll between openings: each starts at its top.
    dialog.scrollTop = 0;
    browse(words.folder || words.site);
    describe(options.current);
    if (options.current) {
      el.url.focus();
      el.url.select();
    } else {
      el.q.focus();
    }
  }

  el.search.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = el.q.value.trim();
    if (text) search(text); else browse(state.folder || words.folder);
  });
  el.back.querySelector("button").addEventListener("click", function () {
    browse(state.folder || words.folder);
    el.q.focus();
  });
  el.up.addEventListener("click", function () {
    if (state.parent) browse(state.parent);
    el.q.focus();
  });
  el.more.querySelector("button").addEventListener("click", function () {
    if (state.next) load(state.next, true);
  });
  el.insert.addEventListener("submit", insert);
  el.url.addEventListener("input", function () {
    // An address typed by hand is no longer the item chosen.
    if (state.chosen && el.url.value !== state.chosen.url && el.url.value !== imageAddress(state.chosen.url)) {
      state.chosen = null;
      showChosen();
    }
  });
  el.size.addEventListener("change", function () {
    if (state.chosen && state.mode === "image") el.url.value = imageAddress(state.chosen.url);
  });
  el.remove.addEventListener("click", function () { finish({ remove: true }); });
  Array.prototype.forEach.call(dialog.querySelectorAll("[data-close]"), function (b) {
    b.addEventListener("click", function () { finish(null); });
  });
  if (el.upload) el.upload.addEventListener("submit", upload);
  // Closed by a button, by Escape or by the browser: the editor gets its answer.
  dialog.addEventListener("close", function () {
    var options = state.options;
    state.options = null;
    state.seq++;
    if (options && options.done) options.done(state.result);
  });

  window.BeffroiChooser = { open: open };
})();
