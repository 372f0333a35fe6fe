#!/usr/bin/env bash
# Checks that the book highlights ```model blocks: builds the book into a temporary directory,
# loads the rendered `language.html` in headless Chromium and fails unless every `model` code
# block holds highlight.js token spans (at least one `hljs-keyword` among them).
#
#   tools/editors/check-highlight.sh [--screenshot PATH]
#
# --screenshot PATH also saves a PNG of the top of the page (1100x900 window), where the
# study's transformer file shows a block and a model.
# Needs mdbook 0.5 (`cargo install --locked mdbook --version 0.5.4`), Chromium (Debian:
# `apt-get install chromium`; set CHROMIUM to use another binary) and python3.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
screenshot=""
while [ $# -gt 0 ]; do
    case "$1" in
        --screenshot) screenshot="$2"; shift 2 ;;
        --screenshot=*) screenshot="${1#--screenshot=}"; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "check-highlight: unknown argument: $1" >&2; exit 2 ;;
    esac
done

chromium="${CHROMIUM:-}"
if [ -z "$chromium" ]; then
    for c in chromium chromium-browser google-chrome; do
        if command -v "$c" >/dev/null 2>&1; then chromium="$c"; break; fi
    done
fi
command -v mdbook >/dev/null 2>&1 || { echo "check-highlight: mdbook not found (cargo install --locked mdbook --version 0.5.4)" >&2; exit 2; }
[ -n "$chromium" ] || { echo "check-highlight: Chromium not found (apt-get install chromium)" >&2; exit 2; }
command -v python3 >/dev/null 2>&1 || { echo "check-highlight: python3 not found" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

mdbook build "$root/book" -d "$tmp/book" >"$tmp/mdbook.log" 2>&1 || { cat "$tmp/mdbook.log" >&2; exit 1; }
page="$tmp/book/language.html"
[ -f "$page" ] || { echo "check-highlight: the book has no language.html" >&2; exit 1; }

# Root needs --no-sandbox; a profile of its own keeps runs apart.
browser=("$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars
         --user-data-dir="$tmp/profile" --virtual-time-budget=5000)

"${browser[@]}" --dump-dom "file://$page" >"$tmp/dom.html" 2>"$tmp/chromium.log" || {
    cat "$tmp/chromium.log" >&2
    exit 1
}

python3 - "$tmp/dom.html" <<'PY'
import sys
from html.parser import HTMLParser

class Blocks(HTMLParser):
    """Collects each <code> whose class list has language-model, with the classes of its spans."""
    def __init__(self):
        super().__init__()
        self.blocks = []   # [set of span classes]
        self.depth = 0     # open <code class="language-model"> elements (0 or 1)
        self.inner = 0     # <code> nested inside one

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "code":
            if self.depth:
                self.inner += 1
            elif "language-model" in classes:
                self.depth = 1
                self.blocks.append(set())
        elif tag == "span" and self.depth:
            self.blocks[-1].update(c for c in classes if c.startswith("hljs-"))

    def handle_endtag(self, tag):
        if tag == "code" and self.depth:
            if self.inner:
                self.inner -= 1
            else:
                self.depth = 0

p = Blocks()
p.feed(open(sys.argv[1], encoding="utf-8").read())
total = len(p.blocks)
plain = [i + 1 for i, spans in enumerate(p.blocks) if not spans]
keyword = sum(1 for spans in p.blocks if "hljs-keyword" in spans)
kinds = sorted(set().union(*p.blocks)) if p.blocks else []
print(f"language.html: {total} model blocks, {total - len(plain)} highlighted, {keyword} with hljs-keyword")
print("token classes seen: " + ", ".join(kinds))
failed = 0
if total == 0:
    print("FAILED: no code.language-model block on the page"); failed += 1
if plain:
    print(f"FAILED: model blocks without token spans: {plain}"); failed += 1
if keyword == 0:
    print("FAILED: no model block has an hljs-keyword span"); failed += 1
print(f"highlight: {3 - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY

if [ -n "$screenshot" ]; then
    mkdir -p "$(dirname "$screenshot")"
    out="$(cd "$(dirname "$screenshot")" && pwd)/$(basename "$screenshot")"
    # The top of the page: the study's transformer, a block and a model. (A `#fragment` in the
    # address leaves headless Chromium's screenshot blank.)
    "${browser[@]}" --window-size=1100,900 --screenshot="$out" "file://$page" \
        >>"$tmp/chromium.log" 2>&1 || { cat "$tmp/chromium.log" >&2; exit 1; }
    [ -s "$out" ] || { echo "check-highlight: no screenshot written" >&2; exit 1; }
    echo "screenshot: $screenshot ($(wc -c <"$out") bytes)"
fi
