// An argument outside its range: a dropout probability of 1.5.
fn main() {
    let _ = tinyarch::model! {
        vocab = 65;
        model m(context = 8, d = 16) {
            embedding(dim = d)
            dropout(p = 1.5)
            head()
        }
    };
}
