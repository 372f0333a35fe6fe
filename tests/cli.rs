//! Terminal conventions of the command line: colour only where asked or on a terminal, shell
//! completions and a manual page.

use std::process::Command;

fn tinyarch(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tinyarch")).args(args).env_remove("NO_COLOR").output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const BAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/inputs/errors/unknown_layer.model");

#[test]
fn diagnostics_are_plain_text_in_a_pipe_and_coloured_when_asked() {
    // The test's stderr is a pipe: `auto` must write no escape codes.
    let (code, _, stderr) = tinyarch(&["check", BAD, "--vocab", "65"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("error[M0002]"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "escape codes in a pipe: {stderr:?}");
    let (_, _, stderr) = tinyarch(&["--color", "always", "check", BAD, "--vocab", "65"]);
    assert!(stderr.contains('\u{1b}'), "no colour under --color always: {stderr:?}");
    let (_, _, stderr) = tinyarch(&["check", BAD, "--vocab", "65", "--color", "never"]);
    assert!(!stderr.contains('\u{1b}'));
}

#[test]
fn completions_for_bash_zsh_and_fish_and_a_manual_page() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, _) = tinyarch(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}");
        for word in ["check", "fmt", "lsp", "sweep", "objective"] {
            assert!(script.contains(word), "{shell} completions lack `{word}`");
        }
    }
    let (code, page, _) = tinyarch(&["man"]);
    assert_eq!(code, Some(0));
    assert!(page.contains(".TH tinyarch 1") && page.contains("fixed compute budget"), "{page}");
}

#[cfg(unix)]
#[test]
fn bench_finds_its_pytorch_script_from_any_folder() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-anywhere-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A stand-in for Python: it must be handed the built-in script on stdin (`python -`).
    let python = dir.join("python");
    std::fs::write(
        &python,
        "#!/bin/sh\n[ \"$1\" = - ] || exit 3\ngrep -q 'import torch' || exit 4\n\
         echo '{\"framework\": \"stand-in\", \"step_ms\": 10.0, \"tokens_per_s\": 1000.0, \"peak_rss_mib\": 100.0}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/study/transformer.model");
    let out = Command::new(env!("CARGO_BIN_EXE_tinyarch"))
        .args(["bench", model, "--vocab", "65", "--set", "context=16", "--batch", "2", "--steps", "1", "--warmup", "0"])
        .arg("--pytorch")
        .arg(&python)
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("stand-in") && stdout.contains("ratio tinyarch / PyTorch"), "{stdout}");
}

#[test]
fn wrong_arguments_exit_with_2() {
    let (code, _, stderr) = tinyarch(&["run", "models/gpt.model"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--corpus"), "{stderr}");
}

/// A device this build or machine cannot give is exit status 3, before any data is read.
#[test]
fn an_unavailable_device_exits_with_3() {
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/study/linear.model");
    let (code, _, stderr) =
        tinyarch(&["run", model, "--corpus", "no-such-corpus", "--max-steps", "1", "--device", "cuda"]);
    if cfg!(feature = "cuda") {
        // A CUDA build on a machine with a GPU gets past the device and fails on the corpus.
        assert!(matches!(code, Some(1) | Some(3)), "{stderr}");
    } else {
        assert_eq!(code, Some(3), "{stderr}");
        assert!(stderr.contains("no CUDA support"), "{stderr}");
    }
}
