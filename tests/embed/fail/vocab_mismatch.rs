// A character-level model (65 tokens) cannot train on Penn Treebank's 9,999 words: the
// corpus's vocabulary is in its type.
use tinyarch::backend::DeviceKind;
use tinyarch::data::Locator;
use tinyarch::embed::PTB;
use tinyarch::train::{RunConfig, Silent};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = tinyarch::model! {
        vocab = 65;
        model m(context = 8, d = 16) {
            embedding(dim = d)
            flatten()
            head()
        }
    };
    let words = PTB.load(&Locator::from_env(None))?;
    let config = RunConfig::new("ptb", 1e9, 8);
    model.train(&words, &config, DeviceKind::Cpu, "runs/never".as_ref(), &mut Silent)?;
    Ok(())
}
