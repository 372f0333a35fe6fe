//! Tokenizers (characters, words, byte-level BPE) and compact token streams.
//!
//! A [`Tokenizer`] is built once from the corpus (characters: from every split's file; words:
//! from the training split; BPE: from its `tokenizer.json`) and then encodes any text into a [`TokenStream`], which stores ids as `u16`
//! when the vocabulary fits (all three built-in corpora) and `u32` otherwise.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::bpe::{Bpe, BpeError};
use super::descriptor::VocabOrder;

/// The ids of a tokenized text, stored compactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenStream {
    ids: Ids,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Ids {
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl TokenStream {
    /// Stores `ids` as `u16` when every id of a vocabulary of `vocab_size` fits.
    pub fn new(ids: Vec<u32>, vocab_size: usize) -> TokenStream {
        let ids =
            if vocab_size <= 1 << 16 { Ids::U16(ids.into_iter().map(|id| id as u16).collect()) } else { Ids::U32(ids) };
        TokenStream { ids }
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        match &self.ids {
            Ids::U16(v) => v.len(),
            Ids::U32(v) => v.len(),
        }
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id at position `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<u32> {
        match &self.ids {
            Ids::U16(v) => v.get(i).map(|&x| u32::from(x)),
            Ids::U32(v) => v.get(i).copied(),
        }
    }

    /// Appends `tokens[start..start + len]` to `out`. Callers guarantee the range is in bounds.
    pub(crate) fn extend_into(&self, out: &mut Vec<u32>, start: usize, len: usize) {
        match &self.ids {
            Ids::U16(v) => out.extend(v[start..start + len].iter().map(|&x| u32::from(x))),
            Ids::U32(v) => out.extend_from_slice(&v[start..start + len]),
        }
    }

    /// All ids, widened to `u32`.
    pub fn to_vec(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len());
        self.extend_into(&mut out, 0, self.len());
        out
    }

    /// Bytes of memory the ids take.
    pub fn memory_bytes(&self) -> usize {
        match &self.ids {
            Ids::U16(v) => v.len() * 2,
            Ids::U32(v) => v.len() * 4,
        }
    }
}

/// The tokens of a vocabulary, numbered from 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    tokens: Vec<String>,
}

impl Vocab {
    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The token with id `id`.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// All tokens, in id order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }
}

/// A text held a token that the vocabulary lacks (and the tokenizer has no `unk`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownToken(pub String);

/// A tokenizer with its vocabulary.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    vocab: Vocab,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Chars {
        /// Ids of ASCII characters (`NONE` where absent): the common case without hashing.
        ascii: Box<[u32; 128]>,
        other: HashMap<char, u32>,
    },
    Words {
        ids: WordMap,
        eos: Option<u32>,
        unk: Option<u32>,
    },
    Bpe(Bpe),
}

const NONE: u32 = u32::MAX;

/// Word -> id. Words are short and the map is hit once per token, so a fast non-cryptographic
/// hash (FxHash) matters more here than resistance to adversarial keys.
type WordMap = HashMap<String, u32, BuildHasherDefault<FxHasher>>;

impl Tokenizer {
    /// Whole words (the other kinds, characters and BPE, cut words into pieces).
    pub fn is_words(&self) -> bool {
        matches!(self.kind, Kind::Words { .. })
    }

    /// A byte-level BPE read from its `tokenizer.json`.
    pub fn bpe(json: &str) -> Result<Tokenizer, BpeError> {
        let bpe = Bpe::from_json(json)?;
        Ok(Tokenizer { vocab: Vocab { tokens: bpe.token_texts() }, kind: Kind::Bpe(bpe) })
    }

    /// A character tokenizer whose vocabulary is every distinct character of `texts`, in byte
    /// (code point) order.
    pub fn chars<'a>(texts: impl IntoIterator<Item = &'a str>) -> Tokenizer {
        let mut seen_ascii = [false; 128];
        let mut seen_other = BTreeSet::new();
        for text in texts {
            for &b in text.as_bytes() {
                if b < 128 {
                    seen_ascii[b as usize] = true;
                }
            }
            if !text.is_ascii() {
                seen_other.extend(text.chars().filter(|c| !c.is_ascii()));
            }
        }
        let chars: Vec<char> =
            (0u8..128).filter(|&b| seen_ascii[b as usize]).map(char::from).chain(seen_other).collect();
        let mut ascii = Box::new([NONE; 128]);
        let mut other = HashMap::new();
        for (id, &c) in chars.iter().enumerate() {
            if c.is_ascii() {
                ascii[c as usize] = id as u32;
            } else {
                other.insert(c, id as u32);
            }
        }
        Tokenizer {
            vocab: Vocab { tokens: chars.iter().map(|c| c.to_string()).collect() },
            kind: Kind::Chars { ascii, other },
        }
    }

    /// A word tokenizer built from the training text, and that text encoded, in one pass.
    ///
    /// Words are split on Unicode whitespace (as Python's `str.split()`); with `eos`, that token
    /// follows every line, including a last line without `\n` (as torch `word_language_model`).
    /// `eos` and `unk` are always in the vocabulary, even if train never needs them.
    pub fn words(train: &str, eos: Option<&str>, order: VocabOrder, unk: Option<&str>) -> (Tokenizer, TokenStream) {
        let mut ids = WordMap::default();
        let mut tokens: Vec<String> = Vec::new();
        let mut encoded: Vec<u32> = Vec::with_capacity(train.len() / 4);
        let mut id_of = |word: &str, tokens: &mut Vec<String>| -> u32 {
            if let Some(&id) = ids.get(word) {
                return id;
            }
            let id = tokens.len() as u32;
            ids.insert(word.to_string(), id);
            tokens.push(word.to_string());
            id
        };
        match eos {
            Some(eos) => {
                let mut eos_id = None;
                for line in train.split_inclusive('\n') {
                    for word in line.split_whitespace() {
                        encoded.push(id_of(word, &mut tokens));
                    }
                    let id = *eos_id.get_or_insert_with(|| id_of(eos, &mut tokens));
                    encoded.push(id);
                }
                id_of(eos, &mut tokens);
            }
            None => {
                for word in train.split_whitespace() {
                    encoded.push(id_of(word, &mut tokens));
                }
            }
        }
        if let Some(unk) = unk {
            id_of(unk, &mut tokens);
        }
        if order == VocabOrder::Sorted {
            // Renumber by byte order: new id of old id `i` is `remap[i]`.
            let mut by_bytes: Vec<u32> = (0..tokens.len() as u32).collect();
            by_bytes.sort_unstable_by(|&a, &b| tokens[a as usize].cmp(&tokens[b as usize]));
            let mut remap = vec![0u32; tokens.len()];
            for (new, &old) in by_bytes.iter().enumerate() {
                remap[old as usize] = new as u32;
            }
            for id in &mut encoded {
                *id = remap[*id as usize];
            }
            tokens = by_bytes.iter().map(|&old| std::mem::take(&mut tokens[old as usize])).collect();
        }
        let ids: WordMap = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let kind = Kind::Words { eos: eos.map(|t| ids[t]), unk: unk.map(|t| ids[t]), ids };
        let stream = TokenStream::new(encoded, tokens.len());
        let tokenizer = Tokenizer { vocab: Vocab { tokens }, kind };
        (tokenizer, stream)
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Encodes `text` with this tokenizer's rules.
    pub fn encode(&self, text: &str) -> Result<TokenStream, UnknownToken> {
        let mut out: Vec<u32> = Vec::with_capacity(text.len() / 4);
        match &self.kind {
            Kind::Chars { ascii, other } => {
                out.reserve(text.len());
                for c in text.chars() {
                    let id = if c.is_ascii() { ascii[c as usize] } else { other.get(&c).copied().unwrap_or(NONE) };
                    if id == NONE {
                        return Err(UnknownToken(c.to_string()));
                    }
                    out.push(id);
                }
            }
            Kind::Words { ids, eos, unk } => {
                let word_id = |word: &str| match ids.get(word).copied().or(*unk) {
                    Some(id) => Ok(id),
                    None => Err(UnknownToken(word.to_string())),
                };
                match eos {
                    Some(eos) => {
                        for line in text.split_inclusive('\n') {
                            for word in line.split_whitespace() {
                                out.push(word_id(word)?);
                            }
                            out.push(*eos);
                        }
                    }
                    None => {
                        for word in text.split_whitespace() {
                            out.push(word_id(word)?);
                        }
                    }
                }
            }
            // Byte-level BPE encodes every text; only a broken tokenizer file fails here.
            Kind::Bpe(bpe) => out = bpe.encode(text).map_err(|e| UnknownToken(format!("{e:?}")))?,
        }
        Ok(TokenStream::new(out, self.vocab.len()))
    }

    /// Turns ids back into text: characters and BPE pieces joined as they are, words joined by
    /// spaces with `eos` as a line break. Ids outside the vocabulary are skipped.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut decoder = self.decoder();
        let mut out = String::new();
        for &id in ids {
            decoder.push(id, &mut out);
        }
        decoder.finish(&mut out);
        out
    }

    /// Decodes one id at a time, as [`Tokenizer::decode`] does a whole list: for streaming.
    pub fn decoder(&self) -> Decoder<'_> {
        Decoder { tokenizer: self, line_start: true, pending: Vec::new() }
    }
}

/// A [`Tokenizer::decode`] in steps: remembers whether the next word starts a line, and the
/// bytes of a UTF-8 character that BPE pieces have only begun.
pub struct Decoder<'a> {
    tokenizer: &'a Tokenizer,
    line_start: bool,
    pending: Vec<u8>,
}

impl Decoder<'_> {
    /// Appends the text of `id` to `out`: all of it, except a character still incomplete.
    pub fn push(&mut self, id: u32, out: &mut String) {
        if let Kind::Bpe(bpe) = &self.tokenizer.kind {
            if let Some(bytes) = bpe.bytes(id) {
                self.pending.extend_from_slice(bytes);
                self.flush_utf8(out, false);
            }
            return;
        }
        let Some(token) = self.tokenizer.vocab.token(id) else {
            return;
        };
        match &self.tokenizer.kind {
            Kind::Words { eos, .. } if Some(id) == *eos => {
                out.push('\n');
                self.line_start = true;
                return;
            }
            Kind::Words { .. } if !self.line_start => out.push(' '),
            _ => {}
        }
        out.push_str(token);
        self.line_start = false;
    }

    /// Appends what is left at the end of a text: an unfinished character becomes U+FFFD.
    pub fn finish(&mut self, out: &mut String) {
        self.flush_utf8(out, true);
    }

    /// Moves the complete characters of `pending` to `out`; invalid bytes become U+FFFD.
    fn flush_utf8(&mut self, out: &mut String, end: bool) {
        let mut start = 0;
        while start < self.pending.len() {
            match std::str::from_utf8(&self.pending[start..]) {
                Ok(text) => {
                    out.push_str(text);
                    start = self.pending.len();
                }
                Err(e) => {
                    let valid = start + e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.pending[start..valid]).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            start = valid + bad;
                        }
                        // A character cut short: wait for its other bytes, unless the text ends.
                        None if !end => {
                            start = valid;
                            break;
                        }
                        None => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            start = self.pending.len();
                        }
                    }
                }
            }
        }
        self.pending.drain(..start);
    }
}

/// FxHash (rustc's hasher): one multiply per word of input.
#[derive(Default, Clone, Copy)]
struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_are_numbered_in_byte_order() {
        let t = Tokenizer::chars(["ba\n", "é a"]);
        assert_eq!(t.vocab().tokens(), ["\n", " ", "a", "b", "é"]);
        assert_eq!(t.encode("abé\n").unwrap().to_vec(), [2, 3, 4, 0]);
        assert_eq!(t.encode("z"), Err(UnknownToken("z".into())));
        assert_eq!(t.decode(&[3, 2, 0]), "ba\n");
    }

    #[test]
    fn words_with_eos_number_by_first_appearance() {
        let (t, train) = Tokenizer::words(" b a\n a c\n", Some("<eos>"), VocabOrder::FirstSeen, None);
        assert_eq!(t.vocab().tokens(), ["b", "a", "<eos>", "c"]);
        assert_eq!(train.to_vec(), [0, 1, 2, 1, 3, 2]);
        // A last line without `\n` still ends with `<eos>`.
        assert_eq!(t.encode("c b").unwrap().to_vec(), [3, 0, 2]);
        assert_eq!(t.encode("d"), Err(UnknownToken("d".into())));
        assert_eq!(t.decode(&[0, 1, 2, 3]), "b a\nc");
    }

    #[test]
    fn words_without_eos_sorted_with_unk() {
        let (t, train) = Tokenizer::words("b a\na c\n", None, VocabOrder::Sorted, Some("<unk>"));
        assert_eq!(t.vocab().tokens(), ["<unk>", "a", "b", "c"]);
        assert_eq!(train.to_vec(), [2, 1, 1, 3]);
        assert_eq!(t.encode("a zz").unwrap().to_vec(), [1, 0]);
    }

    #[test]
    fn streams_are_compact_when_they_can_be() {
        let small = TokenStream::new(vec![1, 65535], 65536);
        assert_eq!(small.memory_bytes(), 4);
        assert_eq!(small.to_vec(), [1, 65535]);
        let big = TokenStream::new(vec![1, 70000], 70001);
        assert_eq!(big.memory_bytes(), 8);
        assert_eq!(big.get(1), Some(70000));
        assert_eq!(big.get(2), None);
    }
}
