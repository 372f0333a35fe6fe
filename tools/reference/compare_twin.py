"""Compare tinyarch's main-table runs with the PyTorch twin and with the study's printed logs.

Reads, relative to the repository root (`--root`, by default two folders above this file):

- `experiments/results/twin/<model>-s<seed>.jsonl`, written by `study_twin.py`: one line per
  epoch (`epoch`, `train_loss`, `valid_loss`) and a final line (`test_nll`, `best_epoch`,
  `wall_seconds`, `params`, `threads`); `*.part` files and files with no final line are skipped;
- `book/src/reports/study-main/records/tiny-shakespeare/<cell>/`, tinyarch's records, where a
  cell is named like `mlp_hidden=256-last-3ep-s689`: the last line of `results.jsonl` and the
  per-step `curve.jsonl` (an epoch is 782 steps, validated at its last step);
- `tools/reference/study_logs.json`, the study's printed per-epoch losses and test NLL (optional).

Writes a Markdown fragment (`--out`, by default `book/src/reports/twin/comparison.md` under the
root; a path given on the command line is taken as is): the test NLL of each side seed by seed
with Welch's t-test, a pooled difference, the per-epoch losses of all three, and wall times. It
holds no links and no timestamps, so the same inputs give the same bytes. A short verdict goes
to stdout. `--check` writes nothing: it exits 1 with a diff when the file is not what the inputs
give, 0 when it is.

Standard library only:

    python3 tools/reference/compare_twin.py [--root DIR] [--out FILE] [--check]
"""

import argparse
import difflib
import json
import math
import re
import sys
from pathlib import Path

MODELS = ["linear", "mlp", "self_attention", "transformer"]
STEPS_PER_EPOCH = 782  # 50,000 windows in batches of 64: 781 full batches and one of 16
SWEEP_STEPS_PER_EPOCH = 469  # 30,000 windows in batches of 64: 468 full batches and one of 48
TWIN_DIR = Path("experiments/results/twin")
RECORDS_DIR = Path("book/src/reports/study-main/records/tiny-shakespeare")
SWEEP_RECORDS_DIR = Path("book/src/reports/study-sweeps/records/tiny-shakespeare")
STUDY_LOGS = Path("tools/reference/study_logs.json")
DEFAULT_OUT = Path("book/src/reports/twin/comparison.md")
WALL_NOTE = (
    "Wall times are context, not a speed comparison: both ran on the same loaded 2-core machine "
    "at the same time as other runs; `tinyarch bench` measures speed."
)


# ---------------------------------------------------------------- statistics


def mean(xs):
    """Arithmetic mean of a non-empty sequence."""
    return sum(xs) / len(xs)


def sample_sd(xs):
    """Sample standard deviation (n - 1 in the denominator); None below two values."""
    if len(xs) < 2:
        return None
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz, Numerical Recipes)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            delta = d * c
            h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betai(a, b, x):
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The continued fraction converges fast only below this point; use the symmetry above it.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * betacf(a, b, x) / a
    return 1.0 - front * betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t, df):
    """Two-sided p-value of Student's t with df (possibly fractional) degrees of freedom."""
    return betai(df / 2.0, 0.5, df / (df + t * t))


def welch(a, b):
    """Welch's t-test of mean(a) - mean(b): (t, df, p), or None when it is undefined."""
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = sample_sd(a) ** 2 / len(a), sample_sd(b) ** 2 / len(b)
    if va + vb == 0.0:
        return None
    t = (mean(a) - mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return t, df, t_two_sided_p(t, df)


def pooled(diffs):
    """Mean of per-model differences, its SE and z from [(difference, SE squared)], or None."""
    if not diffs:
        return None
    k = len(diffs)
    d = sum(x for x, _ in diffs) / k
    se = math.sqrt(sum(s2 for _, s2 in diffs)) / k
    z = d / se if se > 0 else None
    return d, se, z, sum(1 for x, _ in diffs if x < 0)


# ---------------------------------------------------------------- formatting


def fmt_loss(x):
    """A loss with 3 decimals, or '-'."""
    return "-" if x is None else f"{x:.3f}"


def fmt_signed(x):
    """A signed difference with 3 decimals ('+0.012'), or '-'."""
    if x is None:
        return "-"
    s = f"{x:+.3f}"
    return "+0.000" if s == "-0.000" else s


def fmt_1(x):
    """One decimal, or '-'."""
    return "-" if x is None else f"{x:.1f}"


def fmt_p(p):
    """A p-value with 2 significant digits, or '-'."""
    if p is None:
        return "-"
    if p == 0.0:
        return "0"
    if p < 1e-4:
        return f"{p:.1e}"
    rounded = float(f"{p:.1e}")  # round first, so 0.0999 gives 0.10, not 0.100
    decimals = max(0, 1 - math.floor(math.log10(rounded)))
    return f"{rounded:.{decimals}f}"


def fmt_spread(xs):
    """'mean ± sd' of the values (just the mean for one value), or '-' for none."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    sd = sample_sd(xs)
    return fmt_loss(mean(xs)) if sd is None else f"{mean(xs):.3f} ± {sd:.3f}"


def fmt_by_seed(runs):
    """'689: 2.974, 690: 3.001' from {seed: run}, or '-'."""
    return ", ".join(f"{s}: {runs[s]['test_nll']:.3f}" for s in sorted(runs)) or "-"


def table(header, rows):
    """A Markdown table with one header row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------- inputs


def read_jsonl(path):
    """The JSON objects of a JSON-lines file, skipping blank lines."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def warn(msg):
    """Print a warning to stderr."""
    print(f"compare_twin: {msg}", file=sys.stderr)


def load_twin(root):
    """Twin runs as {model: {seed: run}}; a run has test_nll, wall, threads and epochs."""
    out = {}
    folder = root / TWIN_DIR
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        m = re.fullmatch(r"(.+)-s(\d+)\.jsonl", path.name)
        if not m:
            continue
        rows = read_jsonl(path)
        final = rows[-1] if rows else {}
        if final.get("test_nll") is None:
            continue  # still running, or it stopped before the test
        epochs = {
            r["epoch"]: (r.get("train_loss"), r.get("valid_loss"))
            for r in rows
            if "epoch" in r and "test_nll" not in r
        }
        out.setdefault(m.group(1), {})[int(m.group(2))] = {
            "test_nll": final["test_nll"],
            "wall": final.get("wall_seconds"),
            "threads": final.get("threads"),
            "epochs": epochs,
        }
    return out


def cell_model(prefix):
    """The model of a cell's prefix, without `_key=value` settings ('mlp_hidden=256' -> 'mlp')."""
    if "=" not in prefix:
        return prefix
    # Known names first: a model name may itself hold underscores (self_attention).
    known = [m for m in MODELS if prefix.startswith(m + "_")]
    if known:
        return max(known, key=len)
    return prefix[: prefix.index("=")].rsplit("_", 1)[0]


def epoch_losses(curve, steps_per_epoch=STEPS_PER_EPOCH):
    """{epoch: (mean train loss over its steps, validation NLL)} from a tinyarch curve."""
    train = {}
    valid_at = {}
    for r in curve:
        step = r["step"]
        train.setdefault((step - 1) // steps_per_epoch + 1, []).append(r["train_loss"])
        if r.get("valid_nll") is not None:
            valid_at[step] = r["valid_nll"]
    valid_seq = [valid_at[s] for s in sorted(valid_at)]
    epochs = {}
    for e in sorted(set(train) | set(range(1, len(valid_seq) + 1))):
        losses = train.get(e, [])
        t = mean(losses) if len(losses) == steps_per_epoch else None  # only whole epochs
        v = valid_at.get(steps_per_epoch * e)
        if v is None and e <= len(valid_seq):
            v = valid_seq[e - 1]
        epochs[e] = (t, v)
    return epochs


def load_tinyarch(root):
    """tinyarch runs as {model: {seed: run}}, from completed records only."""
    out = {}
    folder = root / RECORDS_DIR
    for cell in sorted(folder.iterdir()) if folder.is_dir() else []:
        m = re.fullmatch(r"(.+?)-last-(?:.*-)?s(\d+)", cell.name)
        results = cell / "results.jsonl"
        if not m or not results.is_file():
            continue
        rows = read_jsonl(results)
        last = rows[-1] if rows else {}
        if last.get("status", "completed") != "completed" or last.get("test_nll") is None:
            warn(f"{cell.name}: status {last.get('status')}, skipped")
            continue
        model, seed = cell_model(m.group(1)), int(m.group(2))
        if seed in out.get(model, {}):
            warn(f"{cell.name}: a second record of {model} seed {seed}, skipped")
            continue
        curve = cell / "curve.jsonl"
        out.setdefault(model, {})[seed] = {
            "test_nll": last["test_nll"],
            "wall": last.get("wall_seconds"),
            "epochs": epoch_losses(read_jsonl(curve)) if curve.is_file() else {},
        }
    return out


def load_sweeps(root):
    """tinyarch's sweep runs as {label: [{epoch: (train, valid)}, ...]}, one entry per seed.

    A label is the study's log name: `linear context=32`, `attention heads=2`."""
    out = {}
    folder = root / SWEEP_RECORDS_DIR
    for cell in sorted(folder.iterdir()) if folder.is_dir() else []:
        m = re.fullmatch(r"(.+)-last-.*-s(\d+)", cell.name)
        curve = cell / "curve.jsonl"
        if not m or not curve.is_file() or not (cell / "results.jsonl").is_file():
            continue
        model = cell_model(m.group(1))
        setting = m.group(1)[len(model) + 1:]
        label = f"{'attention' if model == 'self_attention' else model} {setting}"
        out.setdefault(label, []).append(epoch_losses(read_jsonl(curve), SWEEP_STEPS_PER_EPOCH))
    return out


def study_logs(root, part):
    """One part of the study's logs ("models" or "sweeps") as {name: {"test_nll": x, "epochs":
    {epoch: (train, valid)}}}; empty when the logs are missing."""
    path = root / STUDY_LOGS
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8") as f:
        entries = json.load(f).get(part) or {}
    return {
        name: {
            "test_nll": entry.get("test_nll"),
            "epochs": {
                e["epoch"]: (e.get("train_loss"), e.get("valid_loss"))
                for e in entry.get("epochs") or []
            },
        }
        for name, entry in entries.items()
    }


def load_study_sweeps(root):
    """The study's sweep logs as {label: {epoch: (train, valid)}}."""
    return {label: entry["epochs"] for label, entry in study_logs(root, "sweeps").items()}


def load_study(root):
    """The study's logs as {model: {"test_nll": x, "epochs": {epoch: (train, valid)}}}."""
    return study_logs(root, "models")


# ---------------------------------------------------------------- comparison


def model_order(*sources):
    """The study's four models, then any other model found, sorted."""
    extra = sorted(set().union(*sources) - set(MODELS))
    return MODELS + extra


def compare_test(tiny, twin):
    """Per model: the two samples of test NLL, their difference, SE squared and Welch's test."""
    rows = {}
    for model in model_order(tiny, twin):
        a = [r["test_nll"] for _, r in sorted(tiny.get(model, {}).items())]
        b = [r["test_nll"] for _, r in sorted(twin.get(model, {}).items())]
        test = welch(a, b)
        se2 = sample_sd(a) ** 2 / len(a) + sample_sd(b) ** 2 / len(b) if test else None
        rows[model] = {
            "a": a,
            "b": b,
            "diff": mean(a) - mean(b) if a and b else None,
            "se2": se2,
            "welch": test,
        }
    return rows


def test_section(tiny, twin, study, cmp):
    """The test NLL table and the pooled sentence."""
    header = [
        "model", "tinyarch by seed", "twin by seed", "tinyarch mean ± sd", "twin mean ± sd",
        "tinyarch − twin", "Welch's t", "df", "p", "study",
    ]
    rows = []
    for model, c in cmp.items():
        t, df, p = c["welch"] or (None, None, None)
        rows.append([
            model,
            fmt_by_seed(tiny.get(model, {})),
            fmt_by_seed(twin.get(model, {})),
            fmt_spread(c["a"]),
            fmt_spread(c["b"]),
            fmt_signed(c["diff"]),
            fmt_1(t),
            fmt_1(df),
            fmt_p(p),
            fmt_loss(study.get(model, {}).get("test_nll")),
        ])
    lines = ["## Test NLL", ""]
    lines.append(
        "Test NLL in nats per character, seed by seed; sd is the sample standard deviation over "
        "seeds; Welch's t-test compares the two means (degrees of freedom by "
        "Welch–Satterthwaite, two-sided p); `study` is the study's printed value."
    )
    lines += [""] + table(header, rows) + ["", pooled_sentence(cmp), ""]
    return lines


def pooled_result(cmp):
    """The pooled difference over the models with a Welch test, and k."""
    diffs = [(c["diff"], c["se2"]) for c in cmp.values() if c["welch"]]
    return pooled(diffs), len(diffs)


def pooled_sentence(cmp):
    """One sentence on the mean of the per-model differences."""
    res, k = pooled_result(cmp)
    if res is None:
        return (
            "No model has at least two seeds on both sides yet, so there is no pooled difference."
        )
    d, se, z, negative = res
    return (
        f"Over the {k} model{'s' if k != 1 else ''} with at least two seeds on both sides, the "
        f"mean of the per-model differences (tinyarch − twin) is {fmt_signed(d)} nats with a standard "
        f"error of {se:.3f} (z = {fmt_1(z)}); {negative} of the {k} differences "
        f"{'is' if k == 1 else 'are'} negative."
    )


def epoch_section(tiny, twin, study):
    """The per-epoch losses table."""
    header = [
        "model", "epoch", "study train", "study valid", "tinyarch train", "tinyarch valid",
        "twin train", "twin valid",
    ]
    rows = []
    for model in model_order(tiny, twin, study):
        runs_a = tiny.get(model, {}).values()
        runs_b = twin.get(model, {}).values()
        logged = study.get(model, {}).get("epochs", {})
        epochs = set(logged)
        for r in list(runs_a) + list(runs_b):
            epochs |= set(r["epochs"])
        for e in sorted(epochs):
            s_train, s_valid = logged.get(e, (None, None))
            row = [model, str(e), fmt_loss(s_train), fmt_loss(s_valid)]
            for runs in (runs_a, runs_b):
                pairs = [r["epochs"].get(e, (None, None)) for r in runs]
                row += [fmt_spread([p[0] for p in pairs]), fmt_spread([p[1] for p in pairs])]
            rows.append(row)
    lines = ["## Per-epoch losses", ""]
    lines.append(
        "Train loss is the mean of the epoch's per-batch losses (dropout on), valid the mean of "
        "per-batch validation losses after the epoch; tinyarch and twin give mean ± sd over seeds."
    )
    return lines + [""] + table(header, rows) + [""]


def sweep_section(sweeps, logged):
    """The sweeps' per-epoch losses against the study's printed logs.

    A single study run is set against our seeds' prediction interval: t = (study - mean) /
    (sd * sqrt(1 + 1/n)) on n - 1 degrees of freedom, two-sided p."""
    header = [
        "setting", "epoch", "study train", "tinyarch train", "t", "p",
        "study valid", "tinyarch valid", "t", "p",
    ]
    rows, ps = [], []

    def z(study, ours):
        n = len(ours)
        if study is None or n < 2 or sample_sd(ours) == 0:
            return ["-", "-"]
        t = (study - mean(ours)) / (sample_sd(ours) * math.sqrt(1 + 1 / n))
        p = t_two_sided_p(t, n - 1)
        ps.append(p)
        return [fmt_1(t), fmt_p(p)]

    for label, runs in logged.items():
        ours = sweeps.get(label, [])
        for e, (s_train, s_valid) in sorted(runs.items()):
            train = [r[e][0] for r in ours if r.get(e, (None, None))[0] is not None]
            valid = [r[e][1] for r in ours if r.get(e, (None, None))[1] is not None]
            rows.append(
                [label, str(e), fmt_loss(s_train), fmt_spread(train)] + z(s_train, train)
                + [fmt_loss(s_valid), fmt_spread(valid)] + z(s_valid, valid)
            )
    if not rows:
        return []
    within = sum(p >= 0.05 for p in ps)
    lines = ["## The sweeps, epoch by epoch, against the study's logs", ""]
    lines.append(
        "The study's notebook printed every sweep run's losses after each of its two epochs. "
        "tinyarch's are mean ± sd over its three seeds (`experiments/study-sweeps.ron`, records in "
        "`book/src/reports/study-sweeps/records`). Each of the study's single runs is set against "
        "the spread of ours: t is its distance from our mean in units of sd · √(1 + 1/n), the "
        "spread a fourth run of ours would have, and p the two-sided probability of a distance "
        f"that large on n − 1 degrees of freedom. {within} of {len(ps)} study values lie inside "
        "our runs' 95 % prediction interval (p ≥ 0.05)."
    )
    return lines + [""] + table(header, rows) + [""]


def wall_section(tiny, twin):
    """The wall time table and its caveat."""
    rows = []
    for model in model_order(tiny, twin):
        a = [r["wall"] for r in tiny.get(model, {}).values() if r["wall"] is not None]
        b = [r["wall"] for r in twin.get(model, {}).values() if r["wall"] is not None]
        threads = sorted({r["threads"] for r in twin.get(model, {}).values() if r["threads"]})
        rows.append([
            model,
            fmt_1(mean(a)) if a else "-",
            fmt_1(mean(b)) if b else "-",
            ", ".join(str(t) for t in threads) or "-",
        ])
    header = ["model", "tinyarch mean wall s", "twin mean wall s", "twin threads"]
    return ["## Wall time", ""] + table(header, rows) + ["", WALL_NOTE, ""]


def render(tiny, twin, study, sweeps=None, logged=None):
    """The whole Markdown fragment."""
    cmp = compare_test(tiny, twin)
    lines = test_section(tiny, twin, study, cmp)
    lines += epoch_section(tiny, twin, study)
    lines += sweep_section(sweeps or {}, logged or {})
    lines += wall_section(tiny, twin)
    return "\n".join(lines).rstrip("\n") + "\n"


def verdict(tiny, twin):
    """A short plain-text verdict for stdout."""
    cmp = compare_test(tiny, twin)
    lines = []
    for model, c in cmp.items():
        p = c["welch"][2] if c["welch"] else None
        lines.append(
            f"{model}: tinyarch - twin = {fmt_signed(c['diff'])} "
            f"(n = {len(c['a'])} vs {len(c['b'])}), p = {fmt_p(p)}"
        )
    ps = [c["welch"][2] for c in cmp.values() if c["welch"]]
    lines.append(f"any p < 0.05: {'yes' if any(p < 0.05 for p in ps) else 'no'} ({len(ps)} tested)")
    res, k = pooled_result(cmp)
    if res:
        d, se, z, negative = res
        lines.append(
            f"pooled over {k}: {fmt_signed(d)} ± {se:.3f} "
            f"(z = {fmt_1(z)}, {negative} of {k} negative)"
        )
    else:
        lines.append("pooled: -")
    return "\n".join(lines)


def main(argv=None):
    """Write (or check) the fragment and print the verdict."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    ap.add_argument("--out", type=Path, help=f"default: ROOT/{DEFAULT_OUT}")
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing")
    a = ap.parse_args(argv)
    out = a.out if a.out is not None else a.root / DEFAULT_OUT
    tiny, twin, study = load_tinyarch(a.root), load_twin(a.root), load_study(a.root)
    text = render(tiny, twin, study, load_sweeps(a.root), load_study_sweeps(a.root))
    print(verdict(tiny, twin))
    if a.check:
        old = out.read_text(encoding="utf-8") if out.is_file() else ""
        if old == text:
            print(f"{out}: up to date")
            return 0
        sys.stdout.writelines(
            difflib.unified_diff(
                old.splitlines(keepends=True), text.splitlines(keepends=True),
                fromfile=f"{out} (on disk)", tofile=f"{out} (from inputs)",
            )
        )
        if not out.is_file():
            print(f"{out}: missing")
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
