// A misspelt layer kind: the error suggests the right one.
fn main() {
    let _ = tinyarch::model! {
        vocab = 65;
        model m(context = 8, d = 16) {
            embedding(dim = d)
            atention(heads = 2)
            head()
        }
    };
}
