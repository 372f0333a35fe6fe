//! Expanding an experiment into cells, and splitting cells into shards.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{Experiment, ExperimentError, Scalar};
use crate::data::Objective;
use crate::ir::Convention;
use crate::units::sci;

/// How long a cell trains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Length {
    /// Until the next step would pass `flops` in `convention`.
    Budget { flops: f64, convention: Convention },
    /// Whole epochs of the training protocol (counted as a `paper` budget, as the study did).
    Epochs(u32),
}

/// One run of an experiment: a model variant, a length, an objective and a seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub corpus: String,
    /// The model and its varied parameters: `mlp hidden=256`.
    pub label: String,
    /// The model file (resolved against the experiment file's folder).
    pub file: PathBuf,
    /// The entry's `set` then the variant's assignments.
    pub overrides: Vec<String>,
    pub length: Length,
    pub objective: Objective,
    pub seed: u64,
}

impl Cell {
    /// The cell's folder name: `mlp_hidden=256-last-1e12-exact-s1`.
    pub fn name(&self) -> String {
        let length = match self.length {
            Length::Budget { flops, convention } => format!("{}-{convention}", sci(flops)),
            Length::Epochs(n) => format!("{n}ep"),
        };
        let objective = match self.objective {
            Objective::Last => "last",
            Objective::All => "all",
        };
        format!("{}-{objective}-{length}-s{}", self.label.replace(' ', "_"), self.seed)
    }
}

/// Every cell of `experiment`, in a fixed order: corpora, models as listed, their variants, lengths,
/// objectives, seeds. Model paths are taken relative to `base` (the experiment file's folder).
pub fn expand(experiment: &Experiment, base: &Path) -> Result<Vec<Cell>, ExperimentError> {
    let mut cells = Vec::new();
    for corpus in experiment.corpus.names() {
        for entry in &experiment.models {
            let stem = entry.file.file_stem().map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
            let lengths: Vec<Length> = match entry.epochs {
                Some(n) => vec![Length::Epochs(n)],
                None => entry
                    .budgets
                    .as_ref()
                    .unwrap_or(&experiment.budgets)
                    .iter()
                    .map(|&flops| Length::Budget { flops, convention: experiment.convention })
                    .collect(),
            };
            for variant in variants(&entry.vary) {
                let label = std::iter::once(stem.clone()).chain(variant.iter().cloned()).collect::<Vec<_>>().join(" ");
                let overrides: Vec<String> = entry.set.iter().cloned().chain(variant.iter().cloned()).collect();
                for &length in &lengths {
                    for &objective in &experiment.objectives {
                        for &seed in &experiment.seeds {
                            cells.push(Cell {
                                corpus: corpus.clone(),
                                label: label.clone(),
                                file: base.join(&entry.file),
                                overrides: overrides.clone(),
                                length,
                                objective,
                                seed,
                            });
                        }
                    }
                }
            }
        }
    }
    let mut names = BTreeSet::new();
    if let Some(cell) = cells.iter().find(|c| !names.insert((c.corpus.clone(), c.name()))) {
        return Err(ExperimentError::Invalid {
            origin: "the experiment".into(),
            message: format!("two cells are both named `{}`: list each model variant once", cell.name()),
        });
    }
    Ok(cells)
}

/// Every combination of the varied values, as `name=value` assignments in name order.
fn variants(vary: &std::collections::BTreeMap<String, Vec<Scalar>>) -> Vec<Vec<String>> {
    let mut combos = vec![Vec::new()];
    for (name, values) in vary {
        combos = combos
            .into_iter()
            .flat_map(|combo| {
                values.iter().map(move |v| {
                    let mut next = combo.clone();
                    next.push(format!("{name}={v}"));
                    next
                })
            })
            .collect();
    }
    combos
}

/// `--shard I/N`: shard `I` (0-based) of `N` takes every N-th cell starting at the I-th, so
/// costs spread evenly and the shards together are exactly the whole sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole sweep.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn contains(&self, cell_index: usize) -> bool {
        cell_index % self.count == self.index
    }
}

impl std::str::FromStr for Shard {
    type Err = ExperimentError;

    fn from_str(s: &str) -> Result<Shard, ExperimentError> {
        let bad = |why: &str| ExperimentError::Shard(s.to_string(), why.to_string());
        let (i, n) = s.split_once('/').ok_or_else(|| bad("write it as I/N, e.g. 0/4"))?;
        let index: usize = i.trim().parse().map_err(|_| bad("I is not a whole number"))?;
        let count: usize = n.trim().parse().map_err(|_| bad("N is not a whole number"))?;
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index >= count {
            return Err(bad(&format!("shards are numbered 0 to {} (as a job array index)", count - 1)));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"(
        corpus: "tiny-shakespeare",
        models: [
            (file: "a.model", vary: {"hidden": [1, 2, 3], "rope": [true, false]}),
            (file: "b.model", epochs: 2),
        ],
        budgets: [1e9, 1e10],
        objectives: [last, all],
        seeds: [1, 2, 3],
    )"#;

    #[test]
    fn expansion_is_the_full_product_in_order() {
        let e = Experiment::parse(FILE, "test").unwrap();
        let cells = expand(&e, Path::new("x")).unwrap();
        // a: 6 variants x 2 budgets x 2 objectives x 3 seeds; b: 1 x 1 x 2 x 3.
        assert_eq!(cells.len(), 6 * 2 * 2 * 3 + 6);
        assert_eq!(cells[0].label, "a hidden=1 rope=true");
        assert_eq!(cells[0].overrides, ["hidden=1", "rope=true"]);
        assert_eq!(cells[0].file, Path::new("x/a.model"));
        assert_eq!(cells[0].name(), "a_hidden=1_rope=true-last-1e9-exact-s1");
        assert_eq!(cells.last().unwrap().name(), "b-all-2ep-s3");
        assert!(cells.iter().all(|c| c.corpus == "tiny-shakespeare"));
    }

    #[test]
    fn a_model_may_climb_its_own_budgets() {
        let text =
            r#"(corpus: "c", models: [(file: "a.model", budgets: [1e9]), (file: "b.model")], budgets: [1e9, 1e10])"#;
        let cells = expand(&Experiment::parse(text, "test").unwrap(), Path::new(".")).unwrap();
        let names: Vec<String> = cells.iter().map(Cell::name).collect();
        assert_eq!(names, ["a-last-1e9-exact-s1", "b-last-1e9-exact-s1", "b-last-1e10-exact-s1"]);
        for bad in [
            r#"(corpus: "c", models: [(file: "a.model", budgets: [])], budgets: [1e9])"#,
            r#"(corpus: "c", models: [(file: "a.model", budgets: [-1.0])])"#,
            r#"(corpus: "c", models: [(file: "a.model", budgets: [1e9], epochs: 2)])"#,
        ] {
            assert!(Experiment::parse(bad, "test").is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_partition_the_cells() {
        let e = Experiment::parse(FILE, "test").unwrap();
        let cells = expand(&e, Path::new(".")).unwrap();
        for count in 1..=7 {
            let mut seen = vec![0; cells.len()];
            for index in 0..count {
                let shard = Shard { index, count };
                (0..cells.len()).filter(|&i| shard.contains(i)).for_each(|i| seen[i] += 1);
            }
            assert!(seen.iter().all(|&n| n == 1), "{count} shards");
        }
    }

    #[test]
    fn shard_syntax_errors_say_how() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { index: 2, count: 4 });
        for bad in ["4/4", "1", "a/2", "0/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_keys_are_errors_with_line_and_column() {
        let text = "(\n  corpus: \"ptb\",\n  modles: [],\n)";
        let err = Experiment::parse(text, "e.ron").unwrap_err().to_string();
        assert!(err.starts_with("e.ron:3:3:"), "{err}");
        assert!(err.contains("modles"), "{err}");
    }

    #[test]
    fn a_model_without_length_is_an_error() {
        let text = r#"(corpus: "ptb", models: [(file: "a.model")])"#;
        let err = Experiment::parse(text, "e.ron").unwrap_err().to_string();
        assert!(err.contains("no `epochs`"), "{err}");
    }
}
