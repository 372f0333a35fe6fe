// The context is in the type: a model of 8 tokens is not one of 16, and takes windows of 8.
use tinyarch::backend::DeviceKind;
use tinyarch::embed::Embedded;
use tinyarch::train::RunConfig;

const WIDE: Embedded<65, 16> = tinyarch::model! {
    vocab = 65;
    model m(context = 8, d = 16) {
        embedding(dim = d)
        flatten()
        head()
    }
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let narrow = tinyarch::model! {
        vocab = 65;
        model m(context = 8, d = 16) {
            embedding(dim = d)
            flatten()
            head()
        }
    };
    let mut built = narrow.build(&RunConfig::new("tiny-shakespeare", 1e9, 8), DeviceKind::Cpu)?;
    built.logits(&[[0; 16]])?;
    Ok(())
}
