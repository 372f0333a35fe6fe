//! Checkpoints: [`Weights`] in a safetensors file (f32, little-endian, names and shapes), with
//! the model name, source hash, corpus, tokenizer and vocabulary size as string metadata.
//!
//! safetensors stores tensors sorted by name; loading puts them back in the model's order and
//! checks every name and shape against the model before anything is replaced.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::error::TrainError;
use super::fsio;
use super::model::{Trainable, Weights};

/// What a checkpoint says about where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointMeta {
    pub model: String,
    /// SHA-256 (hex) of the resolved model source.
    pub source_sha256: String,
    pub corpus: String,
    pub tokenizer: String,
    pub vocab: usize,
}

/// A loaded checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub meta: CheckpointMeta,
    /// In the file's order (by name).
    pub weights: Weights,
}

pub(crate) const FORMAT_KEY: &str = "format";
pub(crate) const FORMAT: &str = "tinyarch";

/// f32 tensors as `(name, shape, values)`.
pub(crate) type NamedTensors = Vec<(String, Vec<usize>, Vec<f32>)>;

/// Writes `weights` and `meta` to `path`, atomically.
pub fn save(path: &Path, weights: &Weights, meta: &CheckpointMeta) -> Result<(), TrainError> {
    let info = HashMap::from([
        (FORMAT_KEY.to_string(), FORMAT.to_string()),
        ("model".to_string(), meta.model.clone()),
        ("source_sha256".to_string(), meta.source_sha256.clone()),
        ("corpus".to_string(), meta.corpus.clone()),
        ("tokenizer".to_string(), meta.tokenizer.clone()),
        ("vocab".to_string(), meta.vocab.to_string()),
    ]);
    let tensors: Vec<TensorRef> =
        weights.tensors.iter().map(|(n, s, v)| (n.as_str(), s.as_slice(), v.as_slice())).collect();
    save_tensors(path, &tensors, info, true)
}

/// A tensor to write: `(name, shape, values)`, borrowed.
pub(crate) type TensorRef<'a> = (&'a str, &'a [usize], &'a [f32]);

/// Writes f32 tensors and string metadata to a safetensors file, atomically. With `canonical`,
/// the header is sorted so that the same contents give the same bytes (weights files are
/// compared by hash); a checkpoint skips that copy.
pub(crate) fn save_tensors(
    path: &Path,
    tensors: &[TensorRef],
    info: HashMap<String, String>,
    canonical: bool,
) -> Result<(), TrainError> {
    let bytes: Vec<(&str, &[usize], Vec<u8>)> = tensors
        .iter()
        .map(|&(name, shape, values)| (name, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let mut views = Vec::with_capacity(bytes.len());
    for (name, shape, data) in &bytes {
        let view = TensorView::new(Dtype::F32, shape.to_vec(), data).map_err(|e| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message: format!("tensor `{name}` of shape {shape:?} holds {} values: {e}", data.len() / 4),
            help: "the model's weights are inconsistent; this is a backend bug".into(),
        })?;
        views.push((*name, view));
    }
    let file = safetensors::serialize(views, Some(info)).map_err(|e| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("cannot serialize: {e}"),
        help: "the tensor names must be unique".into(),
    })?;
    if !canonical {
        return fsio::write_atomic(path, &file);
    }
    let file = canonical_header(&file).ok_or_else(|| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: "the serialized header is not valid JSON".into(),
        help: "this is a bug in the checkpoint writer".into(),
    })?;
    fsio::write_atomic(path, &file)
}

/// The same file with its JSON header's keys sorted. safetensors writes the metadata from a
/// `HashMap`, in a different order on every run; sorted, the same weights give the same bytes.
fn canonical_header(file: &[u8]) -> Option<Vec<u8>> {
    // Layout: header length n (u64, little-endian), n bytes of JSON, then the tensor data, whose
    // offsets count from the end of the header (so the header may change length).
    let n = usize::try_from(u64::from_le_bytes(file.get(..8)?.try_into().ok()?)).ok()?;
    let header: BTreeMap<String, serde_json::Value> = serde_json::from_slice(file.get(8..8 + n)?).ok()?;
    let mut json = serde_json::to_vec(&header).ok()?;
    // safetensors pads the header with spaces to a multiple of 8 bytes, so data stays aligned.
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(file.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&file[8 + n..]);
    Some(out)
}

/// Reads a checkpoint written by [`save`].
pub fn load(path: &Path) -> Result<Checkpoint, TrainError> {
    let help = "point at the `model.safetensors` that `tinyarch run` wrote into a run folder";
    let (info, tensors) = load_tensors(path, help)?;
    let bad = |message: String| TrainError::Checkpoint { path: path.to_path_buf(), message, help: help.into() };
    let field = |key: &str| info.get(key).cloned().ok_or_else(|| bad(format!("its metadata has no `{key}`")));
    let vocab = field("vocab")?;
    let meta = CheckpointMeta {
        model: field("model")?,
        source_sha256: field("source_sha256")?,
        corpus: field("corpus")?,
        tokenizer: field("tokenizer")?,
        vocab: vocab.parse().map_err(|_| bad(format!("its vocabulary size `{vocab}` is not a number")))?,
    };
    Ok(Checkpoint { meta, weights: Weights { tensors } })
}

/// Reads a file written by [`save_tensors`]: its metadata and its tensors, sorted by name.
/// Tensors that are not finite numbers are refused: training never saves them, so the file is
/// damaged.
pub(crate) fn load_tensors(path: &Path, help: &str) -> Result<(HashMap<String, String>, NamedTensors), TrainError> {
    let bytes = std::fs::read(path).map_err(|e| TrainError::io("read", path, e))?;
    let bad = |message: String| TrainError::Checkpoint { path: path.to_path_buf(), message, help: help.into() };
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let info = header.metadata().clone().unwrap_or_default();
    if info.get(FORMAT_KEY).map(String::as_str) != Some(FORMAT) {
        return Err(bad("has no tinyarch metadata".into()));
    }
    let file = SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let mut tensors = Vec::new();
    let mut named = file.tensors();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, view) in named {
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("tensor `{name}` is {:?}; tinyarch checkpoints hold f32", view.dtype())));
        }
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("tensor `{name}` holds {} at index {i}", values[i])));
        }
        tensors.push((name, view.shape().to_vec(), values));
    }
    Ok((info, tensors))
}

impl Checkpoint {
    /// The checkpoint's tensors in the order of `layout` (a model's current weights), after
    /// checking that the names and shapes are exactly the model's.
    pub fn matching(&self, layout: &Weights, path: &Path) -> Result<Weights, TrainError> {
        let mismatch = |message: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            message,
            help: format!(
                "the checkpoint was saved from `{}`; rebuild that model from the run folder's `model.model` and `run.ron`",
                self.meta.model
            ),
        };
        let mut by_name: HashMap<&str, &(String, Vec<usize>, Vec<f32>)> =
            self.weights.tensors.iter().map(|t| (t.0.as_str(), t)).collect();
        let mut tensors = Vec::with_capacity(layout.tensors.len());
        for (name, shape, _) in &layout.tensors {
            let Some(found) = by_name.remove(name.as_str()) else {
                return Err(mismatch(format!("has no tensor `{name}`, which the model needs")));
            };
            if found.1 != *shape {
                return Err(mismatch(format!(
                    "tensor `{name}` has shape {:?} but the model's has shape {shape:?}",
                    found.1
                )));
            }
            tensors.push(found.clone());
        }
        if let Some(extra) = self.weights.tensors.iter().find(|t| by_name.contains_key(t.0.as_str())) {
            return Err(mismatch(format!("has tensor `{}`, which the model does not have", extra.0)));
        }
        Ok(Weights { tensors })
    }
}

/// Loads the checkpoint at `path` into `model`, checking names and shapes first.
pub fn load_into(model: &mut dyn Trainable, path: &Path) -> Result<CheckpointMeta, TrainError> {
    let checkpoint = load(path)?;
    let weights = checkpoint.matching(&model.weights(), path)?;
    model.load_weights(&weights).map_err(TrainError::LoadWeights)?;
    Ok(checkpoint.meta)
}
