// An included file that does not check: the message names the file, line and column. The path
// is relative to the crate that uses the macro; under trybuild that crate is generated in
// `target/tests/trybuild/tinyarch`, four levels below the repository.
fn main() {
    let _ = tinyarch::include_model!("../../../../tests/embed/models/heads.model", vocab = 65);
}
