//! Corpora with their vocabulary size in the type. The built-in corpora's files are pinned by
//! SHA-256, so their vocabularies are known before anything is read: a model embedded with
//! `vocab = 65` trains on [`TINY_SHAKESPEARE`] and on nothing with another vocabulary, which
//! the compiler checks. Other data gets its vocabulary checked when it is wrapped ([`Data::new`]).

use tinyarch_core::data::{self, Dataset, Locator, Split, TokenStream};

use super::Error;

/// A built-in corpus, split set and tokenizer whose vocabulary has `VOCAB` tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corpus<const VOCAB: usize> {
    pub name: &'static str,
    pub split_set: &'static str,
    pub tokenizer: &'static str,
}

/// Tiny Shakespeare, characters (`\n`, space, punctuation, `3`, A-Z, a-z), the study's
/// 80/10/10 split.
pub const TINY_SHAKESPEARE: Corpus<65> = Corpus { name: "tiny-shakespeare", split_set: "study", tokenizer: "chars" };
/// Penn Treebank, the study's words: no `<eos>`, 9,999 distinct train words.
pub const PTB: Corpus<9_999> = Corpus { name: "ptb", split_set: "standard", tokenizer: "study" };
/// Penn Treebank as Mikolov and Merity tokenize it: one `<eos>` per line, 10,000 ids.
pub const PTB_EOS: Corpus<10_000> = Corpus { name: "ptb", split_set: "standard", tokenizer: "standard" };
/// WikiText-2, the study's words: no `<eos>`, 33,277 distinct train tokens.
pub const WIKITEXT_2: Corpus<33_277> = Corpus { name: "wikitext-2", split_set: "standard", tokenizer: "study" };
/// WikiText-2 with one `<eos>` per line: 33,278 ids.
pub const WIKITEXT_2_EOS: Corpus<33_278> = Corpus { name: "wikitext-2", split_set: "standard", tokenizer: "standard" };

impl<const VOCAB: usize> Corpus<VOCAB> {
    /// The same corpus and tokenizer under another split set (the vocabulary does not depend on
    /// it: Tiny Shakespeare's `nanogpt` split still has 65 characters).
    pub const fn split_set(self, split_set: &'static str) -> Corpus<VOCAB> {
        Corpus { split_set, ..self }
    }

    /// Finds, verifies and tokenizes the corpus (`--data`, then `$TINYARCH_DATA`, then the
    /// user cache: see [`Locator`]).
    pub fn load(&self, locator: &Locator) -> Result<Data<VOCAB>, Error> {
        Data::new(data::load(self.name, locator, Some(self.split_set), Some(self.tokenizer))?)
    }
}

/// A tokenized corpus whose vocabulary has `VOCAB` tokens.
#[derive(Clone, Debug)]
pub struct Data<const VOCAB: usize> {
    dataset: Dataset,
}

impl<const VOCAB: usize> Data<VOCAB> {
    /// Wraps any dataset, checking its vocabulary size at run time.
    pub fn new(dataset: Dataset) -> Result<Data<VOCAB>, Error> {
        let found = dataset.vocab_size();
        if found != VOCAB {
            let what = format!("`{}` ({} tokenizer)", dataset.corpus, dataset.tokenizer_name);
            return Err(Error::Vocab { what, expected: VOCAB, found });
        }
        Ok(Data { dataset })
    }

    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    pub fn into_dataset(self) -> Dataset {
        self.dataset
    }

    /// The tokens of one split.
    pub fn split(&self, split: Split) -> Result<&TokenStream, Error> {
        self.dataset.split(split).ok_or_else(|| Error::NoSplit {
            corpus: self.dataset.corpus.clone(),
            split_set: self.dataset.split_set.clone(),
            split,
        })
    }

    /// Text as token ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, Error> {
        match self.dataset.tokenizer.encode(text) {
            Ok(ids) => Ok(ids.to_vec()),
            Err(data::UnknownToken(token)) => Err(Error::UnknownToken { corpus: self.dataset.corpus.clone(), token }),
        }
    }

    /// Token ids as text.
    pub fn decode(&self, ids: &[u32]) -> String {
        self.dataset.tokenizer.decode(ids)
    }

    /// The id that fills a sampling window before a short prompt: a newline where the
    /// vocabulary has one, else id 0.
    pub fn pad(&self) -> u32 {
        self.dataset.tokenizer.encode("\n").ok().and_then(|t| t.get(0)).unwrap_or(0)
    }
}
