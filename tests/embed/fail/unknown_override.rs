// The macro's override names a parameter the model does not have: the error is on the override.
fn main() {
    let _ = tinyarch::model! {
        vocab = 65, layer = 4;
        model m(context = 8, d = 16, layers = 2) {
            embedding(dim = d)
            repeat layers { linear(out = d) }
            head()
        }
    };
}
