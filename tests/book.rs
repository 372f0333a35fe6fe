//! The book is tested like code. Its Markdown sources in `book/src/` follow these rules:
//!
//! - Every ` ```model ` block passes the check (vocab 65). A first line
//!   `// check: --set k=v --context N --vocab N --no-vocab` changes the options. A block that
//!   is one `{{#include PATH}}` line is checked as that file (its `use` paths start beside it);
//!   other blocks are named `example.model` and their `use` paths start in `book/src/`.
//! - A ` ```model,error=M0007 ` block must fail, with `M0007` as its first error. A ` ```text `
//!   block right after it (blank lines between at most) must equal the rendered diagnostics.
//! - A ` ```console,test ` block holds `$ tinyarch ...` lines, each followed by its output: the
//!   test runs each command from the crate root and compares stdout then stderr. In the output
//!   shown, `…` stands for any text within a line (timings, the last digits of a loss). With
//!   `console,test,clean=target/DIR`, that folder is removed before the block runs.
//! - Every diagnostic code has a `## M00xx: title` entry in `diagnostics.md` with an example.
//! - `layers.md` is exactly what `tinyarch layers --markdown` prints.
//! - Links to other files of the book (and their `#anchors`) resolve, and every chapter is in
//!   `SUMMARY.md` or included by one.
//! - A chapter that says `<!-- numbers: from reports -->` types no result by hand: every number
//!   in its prose with three or more significant digits (`2.016`, `430,785`, `5.55e13`) appears
//!   in a generated report or fragment (`book/src/reports/**/*.md`), an experiment file or a
//!   corpus descriptor (`core/corpora/*.ron`); a count may appear there or in the checker's
//!   output pinned by the graph snapshots without its separators (`430785`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use tinyarch::diag::{Code, Diagnostics};
use tinyarch::ir::{Limits, check};
use tinyarch::lang::resolve_source;
use tinyarch::{Options, Registry, check_file};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn src() -> PathBuf {
    root().join("book/src")
}

/// A Markdown file of the book, relative to `book/src`.
struct Chapter {
    name: PathBuf,
    text: String,
}

impl Chapter {
    fn dir(&self) -> PathBuf {
        src().join(&self.name).parent().expect("a chapter is in a directory").to_path_buf()
    }
}

fn chapters() -> Vec<Chapter> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&src(), &mut paths);
    paths.sort();
    assert!(paths.len() >= 8, "the book has its chapters, found {}", paths.len());
    paths
        .into_iter()
        .map(|p| Chapter {
            name: p.strip_prefix(src()).unwrap().to_path_buf(),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect()
}

/// A fenced code block: its info string (` ```model,error=M0007 ` gives `model,error=M0007`),
/// its lines, the line of its opening fence (1-based) and the lines since the previous block
/// closed.
struct Block {
    info: String,
    body: String,
    line: usize,
    gap: String,
}

/// The fenced code blocks of a Markdown text, and its text outside them.
fn blocks(text: &str) -> (Vec<Block>, String) {
    let mut out = Vec::new();
    let mut prose = String::new();
    let mut open: Option<(String, usize, Block)> = None;
    let mut gap = String::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                let fence: String = trimmed.chars().take_while(|&c| c == '`' || c == '~').collect();
                if fence.len() >= 3 && fence.chars().all(|c| c == fence.chars().next().unwrap()) {
                    let info = trimmed[fence.len()..].trim().to_string();
                    let block = Block { info, body: String::new(), line: i + 1, gap: std::mem::take(&mut gap) };
                    open = Some((fence, i + 1, block));
                } else {
                    gap.push_str(line);
                    gap.push('\n');
                    prose.push_str(line);
                    prose.push('\n');
                }
            }
            Some((fence, _, block)) => {
                if trimmed.starts_with(fence.as_str()) && trimmed.trim_end() == fence.as_str() {
                    out.push(open.take().unwrap().2);
                } else {
                    block.body.push_str(line);
                    block.body.push('\n');
                }
            }
        }
    }
    if let Some((_, line, _)) = open {
        panic!("a code block opened at line {line} is never closed");
    }
    (out, prose)
}

/// The target of a whole-file `{{#include PATH}}` line.
fn include_target(line: &str) -> Option<&str> {
    let inner = line.trim().strip_prefix("{{#include ")?.strip_suffix("}}")?.trim();
    Some(inner)
}

/// Replaces `{{#include PATH}}` lines by the file they name (whole files only).
fn expand(body: &str, dir: &Path) -> Result<String, String> {
    let mut out = String::new();
    for line in body.lines() {
        match include_target(line) {
            Some(target) => {
                let path = dir.join(target);
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("cannot include `{}`: {e}", path.display()))?;
                out.push_str(&text);
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// Options from a first line such as `// check: --set layers=4 --vocab 9999`, as in
/// `tests/snapshots.rs`.
fn options_for(text: &str) -> Result<Options, String> {
    let mut options = Options::vocab(65);
    let Some(flags) = text.lines().next().and_then(|l| l.strip_prefix("// check:")) else {
        return Ok(options);
    };
    let mut words = flags.split_whitespace();
    while let Some(flag) = words.next() {
        let mut value = || words.next().ok_or_else(|| format!("`{flag}` takes a value"));
        match flag {
            "--no-vocab" => options.vocab = None,
            "--vocab" => options.vocab = Some(value()?.parse().map_err(|e| format!("--vocab: {e}"))?),
            "--set" => options.overrides.push(value()?.to_string()),
            "--context" => options.overrides.push(format!("context={}", value()?)),
            other => return Err(format!("unknown flag `{other}` in `// check:`")),
        }
    }
    Ok(options)
}

/// Checks a ` ```model ` block: `Ok(Err(diagnostics))` when the model fails the check, `Err`
/// when the block itself is broken (an include that cannot be read, an unknown flag).
fn check_block(chapter: &Chapter, block: &Block) -> Result<Result<(), Diagnostics>, String> {
    let dir = chapter.dir();
    let lines: Vec<&str> = block.body.lines().filter(|l| !l.trim().is_empty()).collect();
    if let [only] = lines.as_slice()
        && let Some(target) = include_target(only)
    {
        let path = dir.join(target);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot include `{}`: {e}", path.display()))?;
        return Ok(check_file(&path, &options_for(&text)?).map(|_| ()));
    }
    let text = expand(&block.body, &dir)?;
    let options = options_for(&text)?;
    let result = resolve_source("example.model", &text, Some(&src()), &Registry::default(), &options)
        .and_then(|graph| check(graph, &Limits::default()));
    Ok(result.map(|_| ()))
}

/// The expected error code of a ` ```model ` block's info string, or `Err` for unknown words.
fn expected_error(info: &str) -> Result<Option<String>, String> {
    let mut expected = None;
    for word in info.split(',').skip(1) {
        match word.trim().strip_prefix("error=") {
            Some(code) => expected = Some(code.to_string()),
            None => return Err(format!("unknown attribute `{word}` (only `error=M00xx`)")),
        }
    }
    Ok(expected)
}

/// Rendered diagnostics as a reader would see them from `book/src`, without colours.
fn rendered(d: &Diagnostics) -> String {
    let prefix = format!("{}/", src().display());
    d.render().replace(&prefix, "")
}

fn same_text(a: &str, b: &str) -> bool {
    let lines = |s: &str| s.trim_end().lines().map(str::trim_end).map(String::from).collect::<Vec<_>>();
    lines(a) == lines(b)
}

/// Like [`same_text`], but `…` in a line of `shown` matches any run of characters.
fn same_text_but_elided(shown: &str, actual: &str) -> bool {
    let lines = |s: &str| s.trim_end().lines().map(|l| l.trim_end().to_string()).collect::<Vec<_>>();
    let (shown, actual) = (lines(shown), lines(actual));
    shown.len() == actual.len() && shown.iter().zip(&actual).all(|(s, a)| line_matches(s, a))
}

fn line_matches(shown: &str, actual: &str) -> bool {
    let mut parts = shown.split('…');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = actual.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[test]
fn elided_lines_match_only_around_the_ellipsis() {
    assert!(line_matches("| mlp | 4.7… | 3.1 s |", "| mlp | 4.7415 | 3.1 s |"));
    assert!(line_matches("took … s, … steps", "took 12.5 s, 300 steps"));
    assert!(!line_matches("| mlp | 4.7… |", "| mlp | 4.8415 |"));
    assert!(!line_matches("ab…cd", "abd"));
    assert!(line_matches("exact", "exact") && !line_matches("exact", "exactly"));
}

#[test]
fn every_model_block_checks_as_marked() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for chapter in chapters() {
        let (blocks, _) = blocks(&chapter.text);
        for (i, block) in blocks.iter().enumerate() {
            let lang = block.info.split(',').next().unwrap_or("");
            if lang != "model" {
                continue;
            }
            checked += 1;
            let at = format!("{}:{}", chapter.name.display(), block.line);
            let expected = match expected_error(&block.info) {
                Ok(e) => e,
                Err(e) => {
                    failures.push(format!("{at}: {e}"));
                    continue;
                }
            };
            let result = match check_block(&chapter, block) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{at}: {e}"));
                    continue;
                }
            };
            match (expected, result) {
                (None, Ok(())) => {}
                (None, Err(d)) => failures.push(format!("{at}: the model should pass the check:\n{}", d.render())),
                (Some(code), Ok(())) => failures.push(format!("{at}: the model should fail with {code}, but passes")),
                (Some(code), Err(d)) => {
                    let first = d.codes().first().map(|c| c.id()).unwrap_or_default();
                    if first != code {
                        failures.push(format!("{at}: expected {code} first, got {first}:\n{}", d.render()));
                        continue;
                    }
                    let next = blocks.get(i + 1).filter(|b| b.info == "text" && b.gap.trim().is_empty());
                    if let Some(shown) = next
                        && !same_text(&shown.body, &rendered(&d))
                    {
                        failures.push(format!(
                            "{at}: the diagnostic shown at line {} differs from what the checker prints:\n{}",
                            shown.line,
                            rendered(&d)
                        ));
                    }
                }
            }
        }
    }
    assert!(checked >= 40, "the book should have many model examples, found {checked}");
    assert!(failures.is_empty(), "{} model blocks are wrong:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// Runs one `$ tinyarch ...` line from the crate root; stdout then stderr.
fn run(command: &str) -> Result<String, String> {
    let mut words = command.split_whitespace();
    if words.next() != Some("tinyarch") {
        return Err(format!("only `tinyarch` commands can be tested, not `{command}`"));
    }
    let output = Command::new(env!("CARGO_BIN_EXE_tinyarch"))
        .args(words)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("TINYARCH_DATA")
        .output()
        .map_err(|e| format!("cannot run `{command}`: {e}"))?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr))
}

#[test]
fn every_tested_console_block_prints_what_it_shows() {
    let mut failures = Vec::new();
    let mut commands = 0;
    for chapter in chapters() {
        for block in blocks(&chapter.text).0.iter().filter(|b| b.info.starts_with("console,test")) {
            if let Some(dir) = block.info.strip_prefix("console,test,clean=") {
                assert!(dir.starts_with("target/") && !dir.contains(".."), "clean only below target/: {dir}");
                let _ = std::fs::remove_dir_all(root().join(dir));
            }
            // `$ command` lines, each with the output lines up to the next one.
            let mut runs: Vec<(String, String)> = Vec::new();
            for line in block.body.lines() {
                match line.strip_prefix("$ ") {
                    Some(command) => runs.push((command.trim().to_string(), String::new())),
                    None => match runs.last_mut() {
                        Some((_, output)) => {
                            output.push_str(line);
                            output.push('\n');
                        }
                        None => failures.push(format!(
                            "{}:{}: a tested console block starts with `$ `",
                            chapter.name.display(),
                            block.line
                        )),
                    },
                }
            }
            for (command, shown) in runs {
                commands += 1;
                let at = format!("{}:{}", chapter.name.display(), block.line);
                match run(&command) {
                    Ok(actual) if same_text_but_elided(&shown, &actual) => {}
                    Ok(actual) => failures.push(format!("{at}: `{command}` prints:\n{actual}")),
                    Err(e) => failures.push(format!("{at}: {e}")),
                }
            }
        }
    }
    assert!(commands >= 3, "the book should show real command output, found {commands} tested commands");
    assert!(failures.is_empty(), "{} commands print something else:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn every_diagnostic_code_has_an_entry_with_an_example() {
    let text = std::fs::read_to_string(src().join("diagnostics.md")).unwrap();
    let mut missing = Vec::new();
    for code in Code::ALL {
        let heading = format!("## {}: {}", code.id(), code.title());
        let Some(start) = text.lines().position(|l| l.trim_end() == heading) else {
            missing.push(format!("no heading `{heading}`"));
            continue;
        };
        let section: String =
            text.lines().skip(start + 1).take_while(|l| !l.starts_with("## ")).map(|l| format!("{l}\n")).collect();
        let example = format!("```model,error={}", code.id());
        if !section.lines().any(|l| l.trim_end() == example) {
            missing.push(format!("no `{example}` block under `{heading}`"));
        }
    }
    assert!(missing.is_empty(), "book/src/diagnostics.md is incomplete:\n{}", missing.join("\n"));
}

#[test]
fn the_layer_reference_is_fresh() {
    let generated = tinyarch::layers::reference::markdown(&Registry::default());
    let path = src().join("layers.md");
    let book = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        book == generated,
        "book/src/layers.md is stale: regenerate it with\n\n    cargo run -- layers --markdown > book/src/layers.md\n"
    );
}

/// mdBook's heading ids: lowercase, alphanumerics, `-` and `_` kept, spaces to `-`.
fn heading_id(heading: &str) -> String {
    heading
        .trim()
        .replace('`', "")
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

fn heading_ids(text: &str) -> BTreeSet<String> {
    let (_, prose) = blocks(text);
    prose.lines().filter_map(|l| l.strip_prefix('#')).map(|l| heading_id(l.trim_start_matches('#'))).collect()
}

/// `[text](target)` link targets in prose.
fn link_targets(prose: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = prose;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].trim().to_string());
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn links_between_chapters_resolve() {
    let chapters = chapters();
    let mut broken = Vec::new();
    let mut links = 0;
    for chapter in &chapters {
        let (_, prose) = blocks(&chapter.text);
        for target in link_targets(&prose) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            links += 1;
            let (file, anchor) = target.split_once('#').map_or((target.as_str(), None), |(f, a)| (f, Some(a)));
            let path = if file.is_empty() { src().join(&chapter.name) } else { chapter.dir().join(file) };
            let inside = path.canonicalize().is_ok_and(|p| p.starts_with(src().canonicalize().unwrap()));
            if !inside {
                broken.push(format!("{}: `{target}` is not a file of book/src", chapter.name.display()));
                continue;
            }
            if let Some(anchor) = anchor
                && path.extension().is_some_and(|e| e == "md")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                if !heading_ids(&text).contains(anchor) {
                    broken.push(format!("{}: `{target}` names no heading", chapter.name.display()));
                }
            }
        }
    }
    assert!(links >= 10, "the chapters should link to each other, found {links} links");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_chapter_is_in_the_summary_or_included() {
    let chapters = chapters();
    let summary = chapters.iter().find(|c| c.name == Path::new("SUMMARY.md")).expect("book/src/SUMMARY.md");
    let mut reachable: BTreeSet<PathBuf> = link_targets(&summary.text).into_iter().map(PathBuf::from).collect();
    let mut missing_anchors = Vec::new();
    for chapter in &chapters {
        for line in chapter.text.lines() {
            let Some(target) = include_target(line) else { continue };
            // `{{#include FILE:ANCHOR}}` includes the lines between the file's ANCHOR markers.
            let (file, anchor) = target.split_once(':').map_or((target, None), |(f, a)| (f, Some(a)));
            let name = chapter.name.parent().unwrap().join(file);
            if let Some(anchor) = anchor.filter(|a| !a.starts_with(|c: char| c.is_ascii_digit())) {
                let text = std::fs::read_to_string(src().join(&name)).unwrap_or_default();
                let marks =
                    |l: &str| l.split("ANCHOR:").nth(1).and_then(|r| r.split_whitespace().next()) == Some(anchor);
                if !text.lines().any(marks) {
                    missing_anchors.push(format!("{}: `{target}`", chapter.name.display()));
                }
            }
            reachable.insert(name);
        }
    }
    assert!(missing_anchors.is_empty(), "includes of anchors their file lacks:\n{}", missing_anchors.join("\n"));
    let orphans: Vec<String> = chapters
        .iter()
        .filter(|c| c.name != Path::new("SUMMARY.md") && !reachable.contains(&c.name))
        .map(|c| c.name.display().to_string())
        .collect();
    assert!(orphans.is_empty(), "chapters neither in SUMMARY.md nor included: {orphans:?}");
}

/// The marker of a chapter whose numbers all come from generated reports.
const FROM_REPORTS: &str = "<!-- numbers: from reports -->";

/// Numbers of a text that carry a result: three or more significant digits, or thousands
/// separators, or an exponent. Code blocks and `{{#include}}` lines are left out: their text is
/// checked where it is generated.
fn result_numbers(text: &str) -> Vec<String> {
    let mut prose = String::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && !line.contains("{{#include") {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    let chars: Vec<char> = prose.chars().collect();
    let mut numbers = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit() && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() {
            let c = chars[j];
            let joins = (c == ',' || c == '.') && chars.get(j + 1).is_some_and(char::is_ascii_digit);
            let exponent = c == 'e' && chars.get(j + 1).is_some_and(|n| n.is_ascii_digit() || *n == '-' || *n == '+');
            let sign = (c == '-' || c == '+') && j > i && chars[j - 1] == 'e';
            if c.is_ascii_digit() || joins || exponent || sign {
                j += 1;
            } else {
                break;
            }
        }
        let token: String = chars[i..j].iter().collect();
        let digits = token.split(['e', 'E']).next().unwrap_or("").chars().filter(char::is_ascii_digit).count();
        let significant = token.trim_start_matches(['0', '.']).chars().filter(char::is_ascii_digit).count();
        if token.contains(',') || token.contains('e') || (token.contains('.') && significant >= 3 && digits >= 3) {
            numbers.push(token);
        }
        i = j;
    }
    numbers
}

#[test]
fn chapters_marked_from_reports_type_no_result_by_hand() {
    let mut sources = String::new();
    let mut add = |path: &Path| sources.push_str(&std::fs::read_to_string(path).unwrap());
    for chapter in chapters().iter().filter(|c| c.name.starts_with("reports")) {
        add(&src().join(&chapter.name));
    }
    // The experiments' settings and the corpora's descriptors (their splits).
    for dir in ["experiments", "core/corpora"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ron") {
                add(&path);
            }
        }
    }
    // The checker's output for every model in `models/`: parameter and FLOP counts, unseparated.
    let mut checked = String::new();
    for entry in std::fs::read_dir(root().join("tests/snapshots")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("snapshots__graph__")) {
            checked.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    let marked: Vec<Chapter> = chapters().into_iter().filter(|c| c.text.contains(FROM_REPORTS)).collect();
    assert!(!marked.is_empty(), "no chapter is marked `{FROM_REPORTS}`");
    let mut failures = Vec::new();
    for chapter in &marked {
        for number in result_numbers(&chapter.text) {
            let plain = number.replace(',', "");
            let counted =
                number.contains(',') && (contains_number(&checked, &plain) || contains_number(&sources, &plain));
            if !contains_number(&sources, &number) && !counted {
                failures.push(format!(
                    "{}: `{number}` is in no report, experiment file or checked graph",
                    chapter.name.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} numbers typed by hand:\n{}", failures.len(), failures.join("\n"));
}

/// Whether `number` occurs in `text` as a whole number: `2.32` is not in `2.327`, nor `2.327`
/// in `12.327`.
fn contains_number(text: &str, number: &str) -> bool {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    text.match_indices(number).any(|(at, _)| {
        let mut after = text[at + number.len()..].chars();
        let (next, then) = (after.next(), after.next());
        let continues = digit(next) || (matches!(next, Some('.' | ',')) && digit(then));
        !digit(text[..at].chars().next_back()) && !continues
    })
}

#[test]
fn numbers_match_whole() {
    assert!(contains_number("| 2.327 |", "2.327"));
    assert!(!contains_number("| 2.327 |", "2.32"));
    assert!(!contains_number("12.327", "2.327"));
    assert!(!contains_number("430,785,1", "430,785"));
    assert!(contains_number("430,785.", "430,785"));
}

#[test]
fn result_numbers_are_the_ones_that_carry_a_result() {
    let text = "The MLP (hidden 256) reached 2.327 at 1e12, with 4,285,377 parameters and 5.55e13 FLOPs; \
                0.05 nats, 3 seeds, p2.5, 12.5 and arXiv 2512.20877.\n```\n9.999\n```\n{{#include a.md}} 7.777\n";
    assert_eq!(result_numbers(text), ["2.327", "1e12", "4,285,377", "5.55e13", "12.5", "2512.20877"]);
}
