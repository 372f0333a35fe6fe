//! Corpora: descriptors, finding and verifying files, tokenizers and samplers.
