//! What can stop an embedded model at run time. The model itself was checked when the program
//! compiled; what is left are sizes the types could not know, the data, the files and training.

use std::fmt;

use tinyarch_core::Diagnostics;
use tinyarch_core::api;
use tinyarch_core::data::{DataError, Split};
use tinyarch_core::train::TrainError;

/// An error of the embedded-model API.
#[derive(Debug)]
pub enum Error {
    /// Checking, building, training or restoring failed (see [`api::Error`]).
    Api(api::Error),
    /// A model's context is not the one its type says (after a run-time override, or in a
    /// model text or run settings given at run time).
    Context { model: String, expected: usize, found: usize },
    /// Data whose vocabulary is not the one the type says.
    Vocab { what: String, expected: usize, found: usize },
    /// The data's split set has no such split (Tiny Shakespeare's `nanogpt` has no test split).
    NoSplit { corpus: String, split_set: String, split: Split },
    /// A token id that is not below the vocabulary size.
    TokenId { id: u32, vocab: usize },
    /// A prompt token that is not in the vocabulary.
    UnknownToken { corpus: String, token: String },
    /// Ctrl-C stopped an evaluation: a partial one would be a wrong number.
    Interrupted,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => write!(f, "{e}"),
            Error::Context { model, expected, found } => write!(
                f,
                "the context of `{model}` is {found}, but its type says {expected}\n\
                 help: a different context is a different type: embed it with that context \
                 (`include_model!(\"...\", vocab = ..., context = {found})`)"
            ),
            Error::Vocab { what, expected, found } => write!(
                f,
                "{what} has a vocabulary of {found} tokens, but the type says {expected}\n\
                 help: use a model embedded with `vocab = {found}`, or data with {expected} tokens"
            ),
            Error::NoSplit { corpus, split_set, split } => {
                write!(f, "the split set `{split_set}` of `{corpus}` has no {split} split")
            }
            Error::TokenId { id, vocab } => write!(f, "the token id {id} is not below the vocabulary size {vocab}"),
            Error::UnknownToken { corpus, token } => {
                write!(f, "the prompt's token `{token}` is not in the vocabulary of `{corpus}`")
            }
            Error::Interrupted => f.write_str("interrupted by ctrl-c"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

impl From<api::Error> for Error {
    fn from(e: api::Error) -> Error {
        Error::Api(e)
    }
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Error {
        Error::Api(api::Error::Model(d))
    }
}

impl From<TrainError> for Error {
    fn from(e: TrainError) -> Error {
        Error::Api(api::Error::Train(e))
    }
}

impl From<DataError> for Error {
    fn from(e: DataError) -> Error {
        Error::Api(api::Error::Data(e))
    }
}
