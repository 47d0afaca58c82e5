#!/usr/bin/env python3
# SPDX-License-Identifier: EUPL-1.2
"""Writes a plone.exportimport folder of N generated items, to time `beffroi import plone`.

    scripts/plone-corpus.py 10000 /tmp/corpus-10k

Folders of 100 items each; in them pages (rich text, two old versions with change
notes, a publish step in their history), and every 20th item an Image (a PNG of its
own, 64x64) and every 20th a File (a few kilobytes of text): items with revisions and
blobs, as a commune's site has them. Three users with Plone's {SSHA} hashes, a group
shared on every folder, a redirect per folder. Deterministic: the same N gives the same
folder.
"""

import base64
import hashlib
import json
import os
import struct
import sys
import uuid
import zlib

WORDS = (
    "commune conseil collège échevin bourgmestre permis urbanisme travaux voirie école "
    "population état civil environnement déchets culture sport jeunesse aînés emploi "
    "logement mobilité parking marché fête bibliothèque piscine cimetière police "
    "gemeente raad schepen burgemeester vergunning werken school bevolking milieu"
).split()


def uid(n):
    return uuid.UUID(int=(0xBEFF << 112) | n).hex


def text(n, words):
    return " ".join(WORDS[(n * 7 + i * 13) % len(WORDS)] for i in range(words))


def png(n):
    w = h = 64
    # One row per line: a filter byte, then w RGB pixels (colours of its own per n).
    raw = b"".join(b"\0" + b"".join(bytes(((x * 4 + n) % 256, (y * 4) % 256, (n * 31 + n // 256) % 256))
                                     for x in range(w))
                   for y in range(h))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def ssha(password, salt):
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def main():
    n_items, out = int(sys.argv[1]), sys.argv[2]
    content = os.path.join(out, "content")
    os.makedirs(content)
    data_files, blob_files, local_roles, ordering = [], [], {}, {}
    redirects = {}
    date = "2026-06-01T09:00:00+00:00"
    later = "2026-06-02T09:00:00+00:00"
    history = {"simple_publication_workflow": [
        {"action": None, "actor": "admin", "comments": "", "review_state": "private", "time": date},
        {"action": "publish", "actor": "admin", "comments": "", "review_state": "published", "time": later},
    ]}

    def write(u, item):
        os.makedirs(os.path.join(content, u), exist_ok=True)
        with open(os.path.join(content, u, "data.json"), "w") as f:
            json.dump(item, f)
        data_files.append(u + "/data.json")

    folder, folder_path, pos = None, None, 0
    for n in range(n_items):
        u = uid(n)
        if n % 100 == 0:
            folder, folder_path, pos = u, "/dossier-%d" % (n // 100), 0
            write(u, {"@id": folder_path, "@type": "Folder", "UID": u, "id": folder_path[1:],
                      "title": "Dossier %d" % (n // 100), "description": text(n, 8), "created": date,
                      "modified": later, "creators": ["admin"], "review_state": "published",
                      "language": "##DEFAULT##", "workflow_history": history})
            local_roles[u] = {"local_roles": {"admin": ["Owner"], "redaction": ["Editor"]}}
            ordering[u] = n // 100
            redirects["/Plone/ancien-dossier-%d" % (n // 100)] = "/Plone" + folder_path
            continue
        base = {"UID": u, "created": date, "modified": later, "creators": ["admin"],
                "language": "##DEFAULT##", "workflow_history": history, "review_state": "published",
                "description": text(n, 12)}
        if n % 20 in (1, 2):
            # An image or a file: its blob beside its data.json.
            kind, field, name, mime, data = (
                ("Image", "image", "image-%d.png" % n, "image/png", png(n)) if n % 20 == 1
                else ("File", "file", "document-%d.txt" % n, "text/plain", text(n, 800).encode()))
            blob = "%s/%s/%s" % (u, field, name)
            item = dict(base, **{"@id": "%s/%s" % (folder_path, name), "@type": kind, "id": name,
                                 "title": "%s %d" % ("Image" if kind == "Image" else "Document", n),
                                 field: {"filename": name, "content-type": mime, "blob_path": blob}})
            os.makedirs(os.path.join(content, u, field))
            with open(os.path.join(content, blob), "wb") as f:
                f.write(data)
            blob_files.append(blob)
        else:
            page_id = "page-%d" % n
            html = "<h2>%s</h2><p>%s</p><p>%s</p>" % (text(n, 4), text(n + 1, 60), text(n + 2, 60))
            rich = lambda h: {"content-type": "text/html", "data": h, "encoding": "utf-8"}
            versions = {
                str(v): {"title": "Page %d (v%d)" % (n, v), "description": text(n, 12), "text": rich(html[: 80 * (v + 1)]),
                         "modified": date, "changeNote": "version %d" % v, "changeActor": "admin"}
                for v in range(2)
            }
            item = dict(base, **{"@id": "%s/%s" % (folder_path, page_id), "@type": "Document", "id": page_id,
                                 "title": "Page %d" % n, "text": rich(html), "subjects": [WORDS[n % len(WORDS)]],
                                 "changeNote": "version 2", "changeActor": "admin",
                                 "exportimport.versions": versions})
        write(u, item)
        local_roles[u] = {"local_roles": {"admin": ["Owner"]}}
        ordering[u] = pos
        pos += 1

    meta = {"__version__": "1.0", "_data_files_": data_files, "_blob_files_": blob_files, "default_page": {},
            "local_permissions": {}, "local_roles": local_roles, "ordering": ordering, "relations": []}
    with open(os.path.join(content, "__metadata__.json"), "w") as f:
        json.dump(meta, f)
    members = [{"username": login, "login_name": login, "fullname": login.title(), "email": login + "@example.org",
                "password": ssha("Secret-123456", login.encode()[:4]), "roles": ["Member"], "groups": []}
               for login in ("admin", "redacteur", "secretaire")]
    members[0]["roles"] = ["Manager"]
    groups = [{"groupid": "redaction", "title": "Rédaction", "description": "", "roles": [], "groups": [],
               "principals": ["redacteur"], "email": ""}]
    with open(os.path.join(out, "principals.json"), "w") as f:
        json.dump({"groups": groups, "members": members}, f)
    with open(os.path.join(out, "redirects.json"), "w") as f:
        json.dump(redirects, f)
    for name, empty in (("relations.json", []), ("translations.json", []), ("discussions.json", {}),
                        ("portlets.json", [])):
        with open(os.path.join(out, name), "w") as f:
            json.dump(empty, f)
    print("%s: %d items, %d files" % (out, len(data_files), len(blob_files)))


if __name__ == "__main__":
    main()
