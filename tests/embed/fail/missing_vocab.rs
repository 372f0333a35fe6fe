// Without `vocab = N;` there is no type to give the model.
fn main() {
    let _ = tinyarch::model! {
        model m(context = 8, d = 16) {
            embedding(dim = d)
            head()
        }
    };
}
