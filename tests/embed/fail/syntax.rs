// A missing comma between two parameters.
fn main() {
    let _ = tinyarch::model! {
        vocab = 65;
        model m(context = 8 d = 16) {
            embedding(dim = d)
            head()
        }
    };
}
