// 3 heads cannot split a width of 16: the error points at the `heads` argument.
fn main() {
    let _ = tinyarch::model! {
        vocab = 65;
        model m(context = 8, d = 16, heads = 3) {
            embedding(dim = d)
            attention(heads = heads)
            head()
        }
    };
}
