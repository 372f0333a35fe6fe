//! The study's transformer embedded in Rust: checked when this program compiles, trained on Tiny
//! Shakespeare under a small budget of exact training FLOPs, evaluated and sampled.
//!
//! ```text
//! TINYARCH_DATA=../shared/corpora cargo run --release --example embedded_transformer
//! ```

use std::error::Error;
use std::path::Path;

use tinyarch::backend::{self, DeviceKind};
use tinyarch::data::{Locator, Split};
use tinyarch::embed::{Embedded, TINY_SHAKESPEARE};
use tinyarch::train::{Progress, SampleConfig, interrupt};

/// `models/study/transformer.model`, inline. The type says what the checker found: 65 tokens in
/// (Tiny Shakespeare's characters), windows of 128.
const TRANSFORMER: Embedded<65, 128> = tinyarch::model! {
    vocab = 65;

    // x = LN(x + Attention(x)); x = LN(x + Dropout(FFN(x))), the study's block.
    block post_ln(heads, ffn, p) {
        residual {
            attn: attention(heads = heads, dropout = p) // [context, d]; dropout on the weights
        }
        ln1: layer_norm()
        residual {
            mlp: feed_forward(hidden = ffn) // d -> ffn -> d
            dropout(p = p)
        }
        ln2: layer_norm()
    }

    model transformer(context = 128, d = 128, heads = 4, ffn = 256, layers = 3, p = 0.1) {
        embedding(dim = d)   // [context] -> [context, d]
        position_embedding() // + learned positions
        blocks: repeat layers {
            post_ln(heads = heads, ffn = ffn, p = p)
        }
        ln_f: layer_norm()
        head()               // [context, vocab]
    }
};

/// Exact training FLOPs: about a minute on two cores, evaluation included.
const BUDGET: f64 = 2e11;

fn main() -> Result<(), Box<dyn Error>> {
    backend::tune_allocator();
    // Ctrl-C ends the step in flight and keeps what is complete.
    if let Err(e) = interrupt::install() {
        eprintln!("warning: {e}");
    }
    // A `Data<65>`: a corpus of another vocabulary would not compile with this model.
    let data = TINY_SHAKESPEARE.load(&Locator::from_env(None))?;
    let mut config = TRANSFORMER.run_config(&data, BUDGET);
    // The budget buys about a dozen steps: a larger rate than the study's 3e-4 gets further.
    config.optimizer.lr = 3e-3;
    let out = TRANSFORMER.run_dir(Path::new("runs"), &data, &config, DeviceKind::Cpu)?;

    let run = TRANSFORMER.train(&data, &config, DeviceKind::Cpu, &out, &mut Progress::new(5))?;
    let record = &run.record;
    let nll = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.4}"));
    println!(
        "{}: {} parameters, {} steps, {:.3e} FLOPs ({}), {}",
        record.model,
        record.params,
        record.steps,
        record.flops_used.get(record.convention) as f64,
        record.convention,
        record.status.name()
    );
    println!("test NLL {} (valid {}, train {})", nll(record.test_nll), nll(record.valid_nll), nll(record.train_nll));

    let mut model = run.restore(DeviceKind::Cpu)?;
    println!("test NLL of the restored weights: {:.4}", model.evaluate(&data, Split::Test)?);
    let settings = SampleConfig { tokens: 80, temperature: 0.8, top_k: None, seed: 1, pad: data.pad() };
    println!("sample: {:?}", model.sample(&data, "ROMEO:", &settings)?);
    println!("run folder: {}", out.display());
    Ok(())
}
