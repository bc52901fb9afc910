#!/usr/bin/env python3
"""Regenerates the "Every setting" table of docs/configuration.md from the settings
registry, as `orb config show --long --format json` reports it.

Usage: tools/gen-config-doc.py [BUILD_DIR]   (default: build)
"""
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
orb = os.path.join(root, sys.argv[1] if len(sys.argv) > 1 else "build", "orb")
env = {"HOME": "/nonexistent-home", "PATH": "/usr/bin:/bin"}
out = subprocess.run([orb, "config", "show", "--format", "json"], env=env, check=True,
                     capture_output=True, text=True).stdout
settings = json.loads(out)["settings"]


def code(v):
    return f"`{v}`" if v else ""


lines = ["| key | default | environment | IBM key | flag | meaning |",
         "| --- | --- | --- | --- | --- | --- |"]
for s in settings:
    envs = ", ".join(f"`{e}`" for e in s["env"].split(",") if e)
    meaning = s["description"].replace("|", "\\|")
    lines.append(f"| `{s['key']}` | {code(s['default'])} | {envs} | {code(s['ibm_key'])} "
                 f"| {code(s['flag'])} | {meaning} |")

doc_path = os.path.join(root, "docs", "configuration.md")
doc = open(doc_path).read()
marker = "## Every setting\n"
head = doc[:doc.index(marker) + len(marker)]
open(doc_path, "w").write(head + "\n" + "\n".join(lines) + "\n")
