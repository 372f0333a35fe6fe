//! Every diagnostic code, its title and what it means. The book's diagnostics index is
//! written from this table, and a test fails when a code has no book entry.

/// A diagnostic code such as `M0002`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    Syntax,
    UnknownLayer,
    UnknownArgument,
    MissingArgument,
    ArgumentType,
    DuplicateArgument,
    UnknownName,
    InexactDivision,
    DivisionByZero,
    Overflow,
    UnknownOverride,
    BadOverride,
    DuplicateDefinition,
    IncludeNotFound,
    IncludeEscapes,
    IncludeCycle,
    ModelCount,
    RecursiveBlock,
    InvalidArgument,
    InputShape,
    Indivisible,
    ResidualMismatch,
    OutputShape,
    Tying,
    MemoryLimit,
    VocabUnknown,
    RepeatCount,
    DuplicateName,
    ReservedName,
    TooDeep,
    ExpressionTooLong,
    ExpansionLimit,
    NotText,
}

impl Code {
    pub const ALL: [Code; 33] = [
        Code::Syntax,
        Code::UnknownLayer,
        Code::UnknownArgument,
        Code::MissingArgument,
        Code::ArgumentType,
        Code::DuplicateArgument,
        Code::UnknownName,
        Code::InexactDivision,
        Code::DivisionByZero,
        Code::Overflow,
        Code::UnknownOverride,
        Code::BadOverride,
        Code::DuplicateDefinition,
        Code::IncludeNotFound,
        Code::IncludeEscapes,
        Code::IncludeCycle,
        Code::ModelCount,
        Code::RecursiveBlock,
        Code::InvalidArgument,
        Code::InputShape,
        Code::Indivisible,
        Code::ResidualMismatch,
        Code::OutputShape,
        Code::Tying,
        Code::MemoryLimit,
        Code::VocabUnknown,
        Code::RepeatCount,
        Code::DuplicateName,
        Code::ReservedName,
        Code::TooDeep,
        Code::ExpressionTooLong,
        Code::ExpansionLimit,
        Code::NotText,
    ];

    /// `M0001`, `M0002`, ...: the position in [`Code::ALL`], so codes never collide.
    pub fn id(self) -> String {
        let index = Code::ALL.iter().position(|&c| c == self).unwrap_or(0);
        format!("M{:04}", index + 1)
    }

    /// One line: what kind of problem this code reports.
    pub fn title(self) -> &'static str {
        match self {
            Code::Syntax => "the text is not valid `.model` syntax",
            Code::UnknownLayer => "a call names no known layer kind or block",
            Code::UnknownArgument => "a call passes an argument the layer does not take",
            Code::MissingArgument => "a call leaves out an argument that has no default",
            Code::ArgumentType => "an argument has the wrong type",
            Code::DuplicateArgument => "an argument is given twice",
            Code::UnknownName => "an expression names an unknown parameter",
            Code::InexactDivision => "an integer division leaves a remainder",
            Code::DivisionByZero => "an expression divides by zero",
            Code::Overflow => "a number or dimension is too large",
            Code::UnknownOverride => "`--set` names a parameter the model does not have",
            Code::BadOverride => "a `--set` value is not `name=value`",
            Code::DuplicateDefinition => "a name is defined twice",
            Code::IncludeNotFound => "a `use` names a file that cannot be read",
            Code::IncludeEscapes => "a `use` path leaves the including file's directory",
            Code::IncludeCycle => "files include each other in a cycle",
            Code::ModelCount => "a file must define exactly one model",
            Code::RecursiveBlock => "a block calls itself",
            Code::InvalidArgument => "an argument's value is out of range",
            Code::InputShape => "a layer cannot take the shape it is given",
            Code::Indivisible => "a width does not divide evenly",
            Code::ResidualMismatch => "a residual body changes the shape it adds back to",
            Code::OutputShape => "the model does not end in `[vocab]` or `[context, vocab]`",
            Code::Tying => "a tied head has no matching embedding",
            Code::MemoryLimit => "training the model would need more memory than allowed",
            Code::VocabUnknown => "the vocabulary size is not known",
            Code::RepeatCount => "a repeat count is not a non-negative integer",
            Code::DuplicateName => "two layers in one scope have the same name",
            Code::ReservedName => "a reserved symbol is declared or missing",
            Code::TooDeep => "nesting, block calls or includes go deeper than the language allows",
            Code::ExpressionTooLong => "an expression has more operators than the language allows",
            Code::ExpansionLimit => "the model expands to more layers or steps than the language allows",
            Code::NotText => "a model file is not UTF-8 text in a regular file of at most 1 MiB",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id())
    }
}
