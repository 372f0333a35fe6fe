// An argument the layer does not take.
fn main() {
    let _ = tinyarch::model! {
        vocab = 65;
        model m(context = 8, d = 16) {
            embedding(dim = d)
            linear(outt = d)
            head()
        }
    };
}
