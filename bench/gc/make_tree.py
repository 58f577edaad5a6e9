#!/usr/bin/env python3
"""Writes a Distribution-layout registry tree for the garbage-collection benchmark (bench/gc/run.sh).

Per repository (default 1000 of them), files dated --age seconds back (default a day):
  16 tagged images (config + 3 own layers + 1 of 200 shared base layers)      needed
   1 tagged multi-arch index with 3 untagged children (config + 3 layers each) needed (Distribution
                                                                                 2.8 deletes them)
   2 untagged signatures whose subject is a tagged image / an index child       needed (same)
  10 untagged images, each an old push whose tag moved on                       garbage (--delete-untagged)
  55 layers uploaded and linked but never referenced                            garbage
About 207 000 blobs, half of them garbage. Files and directories are dated alike. Blob contents are
small random bytes (the collectors' cost is metadata, not data). Writes needed.txt and garbage.txt
(one digest per line) beside the tree.

usage: make_tree.py OUT_DIR [--repos N] [--seed S] [--age SECONDS]
"""
import argparse
import hashlib
import json
import os
import random
import time

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class Tree:
    def __init__(self, root, rng, mtime):
        self.v2 = os.path.join(root, "docker", "registry", "v2")
        self.rng = rng
        self.mtime = mtime
        self.stored = set()
        self.dirs = set()

    def _write(self, path, data):
        d = os.path.dirname(path)
        if d not in self.dirs:
            os.makedirs(d, exist_ok=True)
            self.dirs.add(d)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        if self.mtime is not None:
            os.utime(fd, (self.mtime, self.mtime))
        os.close(fd)

    def blob(self, data):
        hexd = hashlib.sha256(data).hexdigest()
        if hexd not in self.stored:
            self.stored.add(hexd)
            self._write(os.path.join(self.v2, "blobs", "sha256", hexd[:2], hexd, "data"), data)
        return {"digest": "sha256:" + hexd, "size": len(data)}

    def random_blob(self, lo=64, hi=512):
        return self.blob(self.rng.randbytes(self.rng.randint(lo, hi)))

    def link(self, repo, kind, digest):
        hexd = digest.split(":")[1]
        sub = {"layer": "_layers", "revision": "_manifests/revisions"}[kind]
        self._write(os.path.join(self.v2, "repositories", repo, sub, "sha256", hexd, "link"),
                    digest.encode())

    def tag(self, repo, tag, digest):
        base = os.path.join(self.v2, "repositories", repo, "_manifests", "tags", tag)
        self._write(os.path.join(base, "current", "link"), digest.encode())
        self._write(os.path.join(base, "index", "sha256", digest.split(":")[1], "link"),
                    digest.encode())


def descriptor(media_type, d):
    return {"mediaType": media_type, "digest": d["digest"], "size": d["size"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--repos", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--age", type=int, default=86400, help="date files this many seconds back")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    t = Tree(a.out, rng, time.time() - a.age if a.age else None)
    needed, garbage = set(), set()
    base_layers = [t.random_blob(256, 1024) for _ in range(200)]

    def image(repo, extra_layers, base=True, subject=None):
        cfg = t.random_blob()
        layers = [t.random_blob() for _ in range(extra_layers)]
        if base:
            layers.insert(0, rng.choice(base_layers))
        for b in [cfg] + layers:
            t.link(repo, "layer", b["digest"])
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
             "config": descriptor(OCI_CONFIG, cfg),
             "layers": [descriptor(OCI_LAYER, l) for l in layers]}
        if subject:
            m["subject"] = descriptor(OCI_MANIFEST, subject)
        md = t.blob(json.dumps(m).encode())
        t.link(repo, "revision", md["digest"])
        return md, [cfg] + layers

    for r in range(a.repos):
        repo = "team%d/app%d" % (r % 50, r)
        tagged = []
        for i in range(16):
            md, blobs = image(repo, 3)
            t.tag(repo, "v%d" % i, md["digest"])
            needed.update(b["digest"] for b in blobs + [md])
            tagged.append(md)
        children = []
        for i in range(3):
            md, blobs = image(repo, 3, base=False)
            needed.update(b["digest"] for b in blobs + [md])
            children.append(md)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
                 "manifests": [dict(descriptor(OCI_MANIFEST, c),
                                    platform={"architecture": arch, "os": "linux"})
                               for c, arch in zip(children, ["amd64", "arm64", "s390x"])]}
        idx = t.blob(json.dumps(index).encode())
        t.link(repo, "revision", idx["digest"])
        t.tag(repo, "multi", idx["digest"])
        needed.add(idx["digest"])
        for subject in (tagged[0], children[0]):
            md, blobs = image(repo, 1, base=False, subject=subject)
            needed.update(b["digest"] for b in blobs + [md])
        for i in range(10):
            md, blobs = image(repo, 3, base=False)
            garbage.update(b["digest"] for b in blobs + [md])
        for i in range(55):
            b = t.random_blob()
            t.link(repo, "layer", b["digest"])
            garbage.add(b["digest"])
    garbage = {"sha256:" + h for h in t.stored} - needed  # unused base layers too
    if t.mtime is not None:
        # Directories as old as their files, as in a registry that has run for a while (creating
        # the files just now made every directory's time "now"): each file's directory and its
        # parents up to v2/, once each.
        aged = set()
        for d in t.dirs:
            while d.startswith(t.v2) and d not in aged:
                aged.add(d)
                os.utime(d, (t.mtime, t.mtime))
                d = os.path.dirname(d)
    with open(os.path.join(a.out, "needed.txt"), "w") as f:
        f.write("\n".join(sorted(needed)) + "\n")
    with open(os.path.join(a.out, "garbage.txt"), "w") as f:
        f.write("\n".join(sorted(garbage)) + "\n")
    print("repositories %d, blobs %d, needed %d, garbage %d" %
          (a.repos, len(t.stored), len(needed), len(garbage)))


if __name__ == "__main__":
    main()
