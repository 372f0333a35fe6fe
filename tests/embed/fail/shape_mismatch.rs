// A residual body that doubles the width it must add back to.
fn main() {
    let _ = tinyarch::model! {
        vocab = 65;
        model m(context = 8, d = 16) {
            embedding(dim = d)
            residual {
                linear(out = 2 * d)
            }
            head()
        }
    };
}
