//! The pest binding: text to the typed AST, one conversion function per grammar rule.
//! Syntax errors become diagnostics that name rules in words, never raw rule names.

use super::ast::*;
use crate::diag::{Code, Diagnostic, FileId, Span};
use crate::limits;
use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::sync::LazyLock;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/model.pest"]
struct Grammar;

type P<'i> = Pair<'i, Rule>;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
        .op(Op::prefix(Rule::neg))
});

/// Parses one `.model` file.
pub fn parse_file(file: FileId, text: &str) -> Result<File, Diagnostic> {
    // Track literal tokens too, so an error can say "expected `)`".
    pest::set_error_detail(true);
    limits::check_nesting(file, text)?;
    let mut pairs = Grammar::parse(Rule::file, text).map_err(|e| syntax_error(file, text, e))?;
    let root = pairs.next().expect("the grammar's `file` rule always yields one pair");
    check_expression_lengths(file, &root)?;
    let mut out = File::default();
    for item in root.into_inner() {
        match item.as_rule() {
            Rule::use_decl => out.uses.push(use_decl(file, item)),
            Rule::block_def => out.blocks.push(definition(file, item)),
            Rule::model_def => out.models.push(definition(file, item)),
            _ => {}
        }
    }
    Ok(out)
}

/// Parses `name=value` as given to `--set`.
pub fn parse_override(file: FileId, text: &str) -> Result<(Ident, Expr), Diagnostic> {
    limits::check_nesting(file, text)?;
    let mut pairs = Grammar::parse(Rule::r#override, text).map_err(|e| {
        let mut d = syntax_error(file, text, e);
        d.code = Code::BadOverride;
        d.message = format!("`--set {text}` is not `name=value`");
        d.help("write overrides as `name=value`, for example `--set layers=4`")
    })?;
    let root = pairs.next().expect("`override` yields one pair");
    check_expression_lengths(file, &root)?;
    let mut inner = root.into_inner();
    let name = ident(file, inner.next().expect("override has a name"));
    let value = expr(file, inner.next().expect("override has a value"));
    Ok((name, value))
}

/// Refuses an expression with more than [`limits::MAX_EXPRESSION_OPERATORS`] operators: the
/// AST of a longer one would be deeper than the evaluator may recurse. Walks the parse tree
/// without recursion; the outermost expression of a chain is met first.
fn check_expression_lengths(file: FileId, root: &P) -> Result<(), Diagnostic> {
    let is_operator = |p: &P| matches!(p.as_rule(), Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::neg);
    for pair in root.clone().into_inner().flatten().filter(|p| p.as_rule() == Rule::expr) {
        let operators = pair.clone().into_inner().flatten().filter(is_operator).count();
        if operators > limits::MAX_EXPRESSION_OPERATORS {
            return Err(Diagnostic::new(
                Code::ExpressionTooLong,
                format!("this expression has {operators} operators, more than {}", limits::MAX_EXPRESSION_OPERATORS),
            )
            .at(span(file, &pair), "too long")
            .help("name its parts as model or block parameters"));
        }
    }
    Ok(())
}

fn span(file: FileId, pair: &P) -> Span {
    let s = pair.as_span();
    Span::new(file, s.start()..s.end())
}

fn use_decl(file: FileId, pair: P) -> Use {
    let whole = span(file, &pair);
    let string = pair.into_inner().next().expect("use has a string");
    let text = string.into_inner().next().expect("string has text");
    Use { path: text.as_str().to_string(), span: whole }
}

fn definition(file: FileId, pair: P) -> Definition {
    let whole = span(file, &pair);
    let mut name = None;
    let mut params = Vec::new();
    let mut body_stmts = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::ident => name = Some(ident(file, part)),
            Rule::params => params = part.into_inner().map(|p| param(file, p)).collect(),
            Rule::body => body_stmts = body(file, part),
            _ => {}
        }
    }
    Definition { name: name.expect("definition has a name"), params, body: body_stmts, span: whole }
}

fn param(file: FileId, pair: P) -> Param {
    let mut inner = pair.into_inner();
    let name = ident(file, inner.next().expect("param has a name"));
    let default = inner.next().map(|e| expr(file, e));
    Param { name, default }
}

fn body(file: FileId, pair: P) -> Vec<Stmt> {
    pair.into_inner().map(|s| stmt(file, s)).collect()
}

fn stmt(file: FileId, pair: P) -> Stmt {
    let whole = span(file, &pair);
    let mut label = None;
    let mut kind = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::label => label = Some(ident(file, part.into_inner().next().expect("label ident"))),
            Rule::repeat => {
                let mut inner = part.into_inner();
                let count = expr(file, inner.next().expect("repeat count"));
                let stmts = body(file, inner.next().expect("repeat body"));
                kind = Some(StmtKind::Repeat { count, body: stmts });
            }
            Rule::residual => {
                let s = part.as_span();
                let keyword = Span::new(file, s.start()..s.start() + "residual".len());
                let stmts = body(file, part.into_inner().next().expect("residual body"));
                kind = Some(StmtKind::Residual { keyword, body: stmts });
            }
            Rule::if_else => {
                let mut inner = part.into_inner();
                let condition = expr(file, inner.next().expect("if condition"));
                let then = body(file, inner.next().expect("if body"));
                let otherwise = inner.next().map(|b| body(file, b)).unwrap_or_default();
                kind = Some(StmtKind::If { condition, then, otherwise });
            }
            Rule::call => kind = Some(call(file, part)),
            _ => {}
        }
    }
    Stmt { label, kind: kind.expect("statement has a kind"), span: whole }
}

fn call(file: FileId, pair: P) -> StmtKind {
    let mut inner = pair.into_inner();
    let callee = ident(file, inner.next().expect("call has a callee"));
    let args = inner
        .next()
        .expect("call has arguments")
        .into_inner()
        .map(|a| {
            let mut parts = a.into_inner();
            let name = ident(file, parts.next().expect("arg name"));
            let value = expr(file, parts.next().expect("arg value"));
            Arg { name, value }
        })
        .collect();
    StmtKind::Call { callee, args }
}

fn ident(file: FileId, pair: P) -> Ident {
    Ident { name: pair.as_str().to_string(), span: span(file, &pair) }
}

fn expr(file: FileId, pair: P) -> Expr {
    PRATT
        .map_primary(|p| primary(file, p))
        .map_prefix(|op, rhs| Expr { span: span(file, &op).to(rhs.span), kind: ExprKind::Neg(Box::new(rhs)) })
        .map_infix(|lhs, op, rhs| {
            let op = match op.as_rule() {
                Rule::add => BinOp::Add,
                Rule::sub => BinOp::Sub,
                Rule::mul => BinOp::Mul,
                _ => BinOp::Div,
            };
            Expr { span: lhs.span.to(rhs.span), kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)) }
        })
        .parse(pair.into_inner())
}

fn primary(file: FileId, pair: P) -> Expr {
    let s = span(file, &pair);
    let text = pair.as_str();
    let kind = match pair.as_rule() {
        Rule::expr => return expr(file, pair),
        // Too large for i64: kept as a float so `resolve` can report the overflow with its span.
        Rule::int => match text.replace('_', "").parse::<i64>() {
            Ok(v) => ExprKind::Int(v),
            Err(_) => ExprKind::Float(f64::INFINITY),
        },
        Rule::float => ExprKind::Float(text.parse().unwrap_or(f64::INFINITY)),
        Rule::bool => ExprKind::Bool(text == "true"),
        _ => ExprKind::Name(text.to_string()),
    };
    Expr { kind, span: s }
}

fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((a, b)) => (a, b),
    };
    let found = found_at(text, start);
    // Underline the offending token, or one character where there is none.
    let end = if end > start { end } else { (start + found.token_len).min(text.len()) };
    let literals: Vec<String> = e
        .parse_attempts()
        .map(|a| a.expected_tokens())
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.to_string())
        // Punctuation and keywords only: whitespace, comments and the characters inside
        // names and numbers are summed up by the rules' own words.
        .filter(|t| {
            matches!(t.as_str(), "(" | ")" | "," | "=" | "{" | "}" | ":" | "\"" | "model" | "block" | "use" | "else")
        })
        .map(|t| format!("`{t}`"))
        .collect();
    let expected = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => describe_expected(positives, literals),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    Diagnostic::new(Code::Syntax, format!("expected {expected}, found {}", found.description))
        .at(Span::new(file, start..end), format!("expected {expected}"))
}

struct Found {
    description: String,
    token_len: usize,
}

fn found_at(text: &str, pos: usize) -> Found {
    let rest = text.get(pos..).unwrap_or("");
    let Some(c) = rest.chars().next() else {
        return Found { description: "end of file".into(), token_len: 0 };
    };
    let word: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    if !word.is_empty() {
        return Found { description: format!("`{word}`"), token_len: word.len() };
    }
    Found { description: format!("`{}`", c.escape_debug()), token_len: c.len_utf8() }
}

fn describe_expected(rules: &[Rule], literals: Vec<String>) -> String {
    let mut words: Vec<String> = literals;
    words.sort_unstable();
    let mut described: Vec<String> = rules.iter().filter_map(|r| rule_words(*r)).map(String::from).collect();
    described.sort_unstable();
    words.extend(described);
    words.dedup();
    match words.as_slice() {
        [] => "something else".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::use_decl => "`use \"file.model\"`",
        Rule::block_def => "a `block` definition",
        Rule::model_def => "a `model` definition",
        Rule::params | Rule::param => "a parameter `name = value`",
        Rule::body => "a body `{ ... }`",
        Rule::stmt | Rule::label => "a layer call, `repeat`, `residual` or `if`",
        Rule::if_else => "`if condition { ... }`",
        Rule::repeat => "`repeat N { ... }`",
        Rule::residual => "`residual { ... }`",
        Rule::call => "a layer call `name(...)`",
        Rule::args => "an argument list `(...)`",
        Rule::arg => "an argument `name = value`",
        Rule::expr | Rule::expr_only => "a value",
        Rule::add | Rule::sub | Rule::mul | Rule::div => "an operator",
        Rule::neg => "`-`",
        Rule::float => "a number",
        Rule::int => "an integer",
        Rule::bool => "`true` or `false`",
        Rule::ident => "a name",
        Rule::string | Rule::string_text => "a quoted path",
        _ => return None,
    })
}
