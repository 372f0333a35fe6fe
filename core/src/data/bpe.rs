//! Byte-level BPE (GPT-2's scheme) through Hugging Face's `tokenizers`: trained on a corpus's
//! training split, saved as `tokenizer.json` beside its text, and loaded from there.
//!
//! Byte-level tokens spell bytes with GPT-2's printable stand-ins, so every text encodes and a
//! token may hold part of a UTF-8 character. Decoding therefore goes through each token's bytes.

use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{Tokenizer as HfTokenizer, TokenizerBuilder};

/// The 256 single bytes every byte-level vocabulary starts with.
pub const BYTE_TOKENS: usize = 256;

/// Why a BPE could not be trained or loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BpeError {
    /// Asked for no more tokens than the bytes alone.
    VocabTooSmall { asked: usize },
    /// The training text runs out of pairs to merge before the vocabulary is full.
    VocabTooLarge { asked: usize, possible: usize },
    /// The `tokenizers` library failed (a broken `tokenizer.json`, ...).
    Library(String),
}

/// Trains a byte-level BPE of `vocab_size` tokens on `train` and returns it as JSON
/// (`tokenizer.json`). Deterministic: the same text and size give the same file.
pub fn train(train: &str, vocab_size: usize) -> Result<String, BpeError> {
    if vocab_size <= BYTE_TOKENS {
        return Err(BpeError::VocabTooSmall { asked: vocab_size });
    }
    let library = |e: tokenizers::Error| BpeError::Library(e.to_string());
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(0)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let mut tokenizer =
        TokenizerBuilder::<BPE, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper>::new()
            .with_model(BPE::default())
            .with_pre_tokenizer(Some(ByteLevel::new(false, true, true).into()))
            .with_decoder(Some(ByteLevel::default().into()))
            .build()
            .map_err(library)?;
    tokenizer.train(&mut trainer, train.split_inclusive('\n')).map_err(library)?;
    let possible = tokenizer.get_vocab_size(true);
    if possible < vocab_size {
        return Err(BpeError::VocabTooLarge { asked: vocab_size, possible });
    }
    tokenizer.to_string(false).map_err(library)
}

/// A loaded BPE: the library's tokenizer and the bytes each id stands for.
#[derive(Clone, Debug)]
pub struct Bpe {
    tokenizer: Box<HfTokenizer>,
    bytes: Vec<Vec<u8>>,
}

impl Bpe {
    /// Reads a `tokenizer.json`.
    pub fn from_json(json: &str) -> Result<Bpe, BpeError> {
        let tokenizer: HfTokenizer = json.parse().map_err(|e: tokenizers::Error| BpeError::Library(e.to_string()))?;
        let vocab = tokenizer.get_vocab(true);
        let mut bytes = vec![Vec::new(); vocab.values().map(|&id| id as usize + 1).max().unwrap_or(0)];
        let byte_of = byte_decoder();
        for (token, id) in vocab {
            // A character outside the stand-ins (an added token) is its own UTF-8.
            bytes[id as usize] = token
                .chars()
                .flat_map(|c| match byte_of(c) {
                    Some(b) => vec![b],
                    None => c.to_string().into_bytes(),
                })
                .collect();
        }
        Ok(Bpe { tokenizer: Box::new(tokenizer), bytes })
    }

    /// The bytes of id `id`.
    pub fn bytes(&self, id: u32) -> Option<&[u8]> {
        self.bytes.get(id as usize).map(Vec::as_slice)
    }

    /// Each id's text for listings, with bytes that are not UTF-8 alone shown as U+FFFD.
    pub fn token_texts(&self) -> Vec<String> {
        self.bytes.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect()
    }

    /// Encodes `text` into ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, BpeError> {
        let encoding = self.tokenizer.encode(text, false).map_err(|e| BpeError::Library(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }
}

/// GPT-2's byte stand-ins, inverted: the byte a stand-in character spells. Printable bytes
/// (`!`..=`~`, `¡`..=`¬`, `®`..=`ÿ`) stand for themselves; the other 68, in order, are U+0100 on.
fn byte_decoder() -> impl Fn(char) -> Option<u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut table = std::collections::HashMap::with_capacity(256);
    let mut next = 256u32;
    for b in 0..=255u8 {
        let c = if printable(b) {
            char::from(b)
        } else {
            next += 1;
            char::from_u32(next - 1).unwrap_or(char::REPLACEMENT_CHARACTER)
        };
        table.insert(c, b);
    }
    move |c| table.get(&c).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "the cat sat on the mat. the dog sat on the log. naïve café, déjà vu\n";

    #[test]
    fn training_is_deterministic_and_round_trips_every_byte() {
        let text = TEXT.repeat(20);
        let json = train(&text, 280).unwrap();
        assert_eq!(json, train(&text, 280).unwrap());
        let bpe = Bpe::from_json(&json).unwrap();
        assert_eq!(bpe.token_texts().len(), 280);
        let ids = bpe.encode("the naïve cat ☃\n").unwrap();
        let bytes: Vec<u8> = ids.iter().flat_map(|&id| bpe.bytes(id).unwrap().to_vec()).collect();
        assert_eq!(String::from_utf8(bytes).unwrap(), "the naïve cat ☃\n");
        // Merges learnt from the text make its words short.
        assert!(bpe.encode("the cat sat").unwrap().len() <= 5);
    }

    #[test]
    fn sizes_the_text_cannot_fill_are_refused() {
        assert_eq!(train(TEXT, 200), Err(BpeError::VocabTooSmall { asked: 200 }));
        match train("ab ab ab", 10_000) {
            Err(BpeError::VocabTooLarge { asked: 10_000, possible }) => assert!(possible < 300, "{possible}"),
            other => panic!("{other:?}"),
        }
    }
}
