#!/usr/bin/env python3
"""Renders a model file with the inlay hints `tinyarch lsp` sends for it, as an editor would
show them, and screenshots the page with headless Chromium.

Usage: tools/editors/inlay-screenshot.py TINYARCH MODEL VOCAB OUT.png

It talks to the real server over stdio: initialize (with the vocabulary), open the file, ask
for the inlay hints. Only the drawing is this script's.
"""
import html, json, os, subprocess, sys, tempfile

tinyarch, model, vocab, out = sys.argv[1], os.path.abspath(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
text = open(model).read()
server = subprocess.Popen([tinyarch, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def send(message):
    body = json.dumps(message).encode()
    server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    server.stdin.flush()


def receive():
    length = 0
    while True:
        line = server.stdout.readline().strip()
        if not line:
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(server.stdout.read(length))


def request(id, method, params):
    send({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
    while True:
        m = receive()
        if m.get("id") == id:
            return m.get("result")


uri = "file://" + model
request(1, "initialize", {"capabilities": {}, "initializationOptions": {"vocab": vocab}})
send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
      "params": {"textDocument": {"uri": uri, "languageId": "tinyarch-model", "version": 1, "text": text}}})
hints = request(2, "textDocument/inlayHint", {"textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 10000, "character": 0}}})
server.kill()  # the editor would shut it down; the hints are all this needs
server.wait()

lines = text.rstrip("\n").split("\n")
by_line = {}
for h in hints:
    by_line.setdefault(h["position"]["line"], []).append(h)
rows = []
for n, line in enumerate(lines):
    pieces, at = [], 0
    for h in sorted(by_line.get(n, []), key=lambda h: h["position"]["character"]):
        c = h["position"]["character"]
        pieces.append(html.escape(line[at:c]))
        pieces.append('<span class="hint">%s</span>' % html.escape(h["label"]))
        at = c
    pieces.append(html.escape(line[at:]))
    code = "".join(pieces)
    code = code.replace("//", '<span class="comment">//', 1) + ("</span>" if "//" in line else "")
    rows.append('<div class="line"><span class="number">%d</span>%s</div>' % (n + 1, code))
page = """<!doctype html><html><head><style>
body { background: #1e1e1e; margin: 0; padding: 16px; }
.line { font: 14px/21px 'DejaVu Sans Mono', monospace; color: #d4d4d4; white-space: pre; }
.number { display: inline-block; width: 3em; color: #6e7681; }
.hint { color: #9da5b4; background: #2d333b; border-radius: 3px; padding: 0 3px; margin-left: 4px; font-size: 13px; }
.comment { color: #6a9955; }
</style></head><body>%s</body></html>""" % "\n".join(rows)
with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False) as f:
    f.write(page)
height = 32 + 21 * len(lines)
subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--window-size=1250,%d" % height, "--screenshot=" + os.path.abspath(out), "file://" + f.name],
               check=True, stderr=subprocess.DEVNULL)
print("%s: %d hints drawn into %s" % (model, len(hints), out))
