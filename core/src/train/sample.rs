//! Text generation: feed the last `context` tokens, draw the next from the softmax of the
//! logits at a temperature (optionally only among the `top_k` largest), slide the window.
//!
//! The models have a fixed context, so a prompt shorter than it is left-padded with `pad`
//! (a newline for characters is natural). Draws come from [`Rng`] seeded by the caller: the
//! same seed and model give the same text.

use super::error::TrainError;
use super::model::Trainable;
use crate::rng::Rng;

/// How to sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleConfig {
    /// Tokens to generate.
    pub tokens: usize,
    /// Divides the logits; 0 picks the most likely token every time.
    pub temperature: f64,
    /// Draw only among the `k` most likely tokens.
    pub top_k: Option<usize>,
    pub seed: u64,
    /// Fills the window before the prompt.
    pub pad: u32,
}

/// The most tokens one `sample` generates: a run of text, not a corpus.
pub const MAX_SAMPLE_TOKENS: usize = 1_000_000;

/// Generates `config.tokens` ids after `prompt` with a model of context `context`. Returns the
/// new ids only.
pub fn generate(
    model: &mut dyn Trainable,
    prompt: &[u32],
    context: usize,
    config: &SampleConfig,
) -> Result<Vec<u32>, TrainError> {
    let mut out = Vec::with_capacity(config.tokens.min(MAX_SAMPLE_TOKENS));
    generate_each(model, prompt, context, config, &mut |id| out.push(id))?;
    Ok(out)
}

/// Like [`generate`], handing each id to `emit` as soon as it is drawn (for streaming), and
/// keeping none.
pub fn generate_each(
    model: &mut dyn Trainable,
    prompt: &[u32],
    context: usize,
    config: &SampleConfig,
    emit: &mut dyn FnMut(u32),
) -> Result<(), TrainError> {
    let bad = |message: String, help: &str| TrainError::Sample { message, help: help.to_string() };
    if config.tokens > MAX_SAMPLE_TOKENS {
        return Err(bad(
            format!("{} tokens are more than one sample may generate ({MAX_SAMPLE_TOKENS})", config.tokens),
            "generate in several runs with a new prompt",
        ));
    }
    if !(config.temperature.is_finite() && config.temperature >= 0.0) {
        return Err(bad(format!("the temperature is {}", config.temperature), "use a temperature of 0 or more"));
    }
    if config.top_k == Some(0) {
        return Err(bad("`top-k` is 0".into(), "keep at least one token (`--top-k 1` is greedy)"));
    }
    if context == 0 {
        return Err(bad("the model's context is 0".into(), "rebuild the model"));
    }
    let mut rng = Rng::new(config.seed);
    // The window: [context], oldest first.
    let mut window: Vec<u32> = vec![config.pad; context.saturating_sub(prompt.len())];
    window.extend_from_slice(&prompt[prompt.len().saturating_sub(context)..]);
    for _ in 0..config.tokens {
        let logits = model.next_token_logits(&window, 1); // [1, vocab]
        if logits.is_empty() {
            return Err(bad("the model gave no logits".into(), "this is a backend bug"));
        }
        let next = pick(&logits, config, &mut rng);
        emit(next);
        window.remove(0);
        window.push(next);
    }
    Ok(())
}

/// Draws one id from `logits` ([vocab]).
fn pick(logits: &[f32], config: &SampleConfig, rng: &mut Rng) -> u32 {
    // Candidates by descending logit; ties keep the lower id, so greedy is deterministic.
    let mut order: Vec<u32> = (0..logits.len() as u32).collect();
    order.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]).then(a.cmp(&b)));
    if config.temperature == 0.0 {
        return order[0];
    }
    order.truncate(config.top_k.unwrap_or(order.len()).min(order.len()));
    // Softmax over the candidates, in f64 and shifted by the maximum so exp cannot overflow.
    let max = f64::from(logits[order[0] as usize]);
    let weights: Vec<f64> =
        order.iter().map(|&i| ((f64::from(logits[i as usize]) - max) / config.temperature).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut u = rng.next_f64() * total;
    for (&id, &w) in order.iter().zip(&weights) {
        if u < w {
            return id;
        }
        u -= w;
    }
    // Rounding can leave u just above the last weight.
    *order.last().unwrap_or(&0)
}
