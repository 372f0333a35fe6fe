//! The typed syntax tree, with a span on every node. It says what the file says; names are
//! not looked up and expressions not evaluated until `resolve`.

use crate::diag::Span;

/// One parsed `.model` file.
#[derive(Clone, Debug, Default)]
pub struct File {
    pub uses: Vec<Use>,
    pub blocks: Vec<Definition>,
    pub models: Vec<Definition>,
}

/// `use "path.model"`.
#[derive(Clone, Debug)]
pub struct Use {
    pub path: String,
    pub span: Span,
}

/// A `model` or a `block`: a name, parameters and a body.
#[derive(Clone, Debug)]
pub struct Definition {
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

/// `name` or `name = default`.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: Ident,
    pub default: Option<Expr>,
}

#[derive(Clone, Debug)]
pub struct Stmt {
    /// `label:` before the statement: its name in layer paths.
    pub label: Option<Ident>,
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    /// `repeat count { body }`
    Repeat { count: Expr, body: Vec<Stmt> },
    /// `residual { body }`: output = input + body(input)
    Residual { keyword: Span, body: Vec<Stmt> },
    /// `if condition { then } else { otherwise }`: chosen while resolving, from parameters
    If { condition: Expr, then: Vec<Stmt>, otherwise: Vec<Stmt> },
    /// `callee(name = value, ...)`: a layer kind or a block
    Call { callee: Ident, args: Vec<Arg> },
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    Name(String),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }

    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Add | BinOp::Sub => 1,
            BinOp::Mul | BinOp::Div => 2,
        }
    }
}
