//! `tinyarch.ron`: what a model opened in an editor cannot say about itself.

use std::path::Path;

use serde::Deserialize;

/// Settings for the models in a folder and the folders below it, read from the nearest
/// `tinyarch.ron` at or above the model's folder:
///
/// ```ron
/// (
///     vocab: 65,            // the corpus's vocabulary (Tiny Shakespeare's characters)
///     objective: "last",    // or "all": which training FLOPs the hints show
///     overrides: ["layers=4"],
/// )
/// ```
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Project {
    pub vocab: Option<u64>,
    pub objective: Option<String>,
    pub overrides: Vec<String>,
}

/// The project file's name.
pub const FILE: &str = "tinyarch.ron";

impl Project {
    /// The nearest project file at or above `dir`, with where it is; `Err` with its path and
    /// the problem when it does not parse.
    pub fn find(dir: &Path) -> Option<Result<(Project, std::path::PathBuf), String>> {
        let path = dir.ancestors().map(|d| d.join(FILE)).find(|p| p.is_file())?;
        let parsed = std::fs::read_to_string(&path).map_err(|e| e.to_string()).and_then(|text| {
            // `vocab: 65` rather than `vocab: Some(65)`.
            let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
            options.from_str::<Project>(&text).map_err(|e| e.to_string())
        });
        Some(match parsed {
            Ok(p) => Ok((p, path)),
            Err(e) => Err(format!("`{}`: {e}", path.display())),
        })
    }
}
