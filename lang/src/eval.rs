//! Evaluating expressions: integers exactly (a division that leaves a remainder is an error),
//! numbers as f64, and the symbol each value came from, for symbolic shapes.

use super::ast::{BinOp, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::ir::Constant;

/// A value and the expression text that produced it (`4 * d`).
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluated {
    pub value: Constant,
    pub sym: String,
    /// Binding strength of `sym`'s outermost operator, to parenthesise only where needed.
    pub(super) prec: u8,
}

const ATOM: u8 = 3;

/// Longest symbol kept for a shape: past it, a value is written as its number, so symbols
/// stay small however often blocks pass expressions to each other.
const MAX_SYMBOL_LEN: usize = 64;

/// `value` with its symbol `sym` of binding strength `prec`, or written as its number when
/// `sym` is too long to be useful.
fn evaluated(value: Constant, sym: String, prec: u8) -> Evaluated {
    if sym.len() <= MAX_SYMBOL_LEN {
        Evaluated { value, sym, prec }
    } else {
        let number = value.to_string();
        Evaluated::atom(value, number)
    }
}

impl Evaluated {
    pub fn atom(value: Constant, sym: impl Into<String>) -> Evaluated {
        Evaluated { value, sym: sym.into(), prec: ATOM }
    }

    fn wrapped(&self, min: u8) -> String {
        if self.prec < min { format!("({})", self.sym) } else { self.sym.clone() }
    }
}

/// Names visible to an expression, innermost last.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    vars: Vec<(String, Evaluated)>,
}

impl Scope {
    pub fn define(&mut self, name: &str, value: Evaluated) {
        self.vars.push((name.to_string(), value));
    }

    pub fn get(&self, name: &str) -> Option<&Evaluated> {
        self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.iter().map(|(n, _)| n.as_str())
    }
}

/// Evaluates `expr`. A bare name that is not in scope becomes [`Constant::Ident`]: an enum
/// choice such as `relu`, which only the consumer can accept or reject.
pub fn eval(expr: &Expr, scope: &Scope) -> Result<Evaluated, Diagnostic> {
    match &expr.kind {
        ExprKind::Int(v) => Ok(Evaluated::atom(Constant::Int(*v), v.to_string())),
        ExprKind::Float(v) if !v.is_finite() => {
            Err(Diagnostic::new(Code::Overflow, "this number is too large").at(expr.span, "does not fit in 64 bits"))
        }
        ExprKind::Float(v) => Ok(Evaluated::atom(Constant::Float(*v), Constant::Float(*v).to_string())),
        ExprKind::Bool(v) => Ok(Evaluated::atom(Constant::Bool(*v), v.to_string())),
        ExprKind::Name(n) => Ok(match scope.get(n) {
            Some(v) => v.clone(),
            None => Evaluated::atom(Constant::Ident(n.clone()), n.clone()),
        }),
        ExprKind::Neg(inner) => {
            let v = number(inner, scope)?;
            let value = match v.value {
                Constant::Int(i) => Constant::Int(i.checked_neg().ok_or_else(|| overflow(expr))?),
                Constant::Float(f) => Constant::Float(-f),
                _ => unreachable!("`number` returns numbers"),
            };
            Ok(evaluated(value, format!("-{}", v.wrapped(ATOM)), ATOM))
        }
        ExprKind::Binary(op, l, r) => {
            let (a, b) = (number(l, scope)?, number(r, scope)?);
            let value = arithmetic(*op, &a.value, &b.value, expr, r)?;
            let p = op.precedence();
            Ok(evaluated(value, format!("{} {} {}", a.wrapped(p), op.symbol(), b.wrapped(p + 1)), p))
        }
    }
}

/// Evaluates an operand of arithmetic: it must be a number, so a bare unknown name is an error.
fn number(expr: &Expr, scope: &Scope) -> Result<Evaluated, Diagnostic> {
    let v = eval(expr, scope)?;
    match &v.value {
        Constant::Int(_) | Constant::Float(_) => Ok(v),
        Constant::Ident(name) => Err(unknown_name(name, expr, scope)),
        Constant::Bool(_) => {
            Err(Diagnostic::new(Code::ArgumentType, "arithmetic needs numbers, found a boolean")
                .at(expr.span, "a boolean"))
        }
    }
}

/// An unknown name in an expression, with a suggestion among the names in scope.
pub fn unknown_name(name: &str, expr: &Expr, scope: &Scope) -> Diagnostic {
    let d = Diagnostic::new(Code::UnknownName, format!("unknown name `{name}`")).at(expr.span, "not a parameter");
    match did_you_mean(name, scope.names()) {
        Some(best) => d.help(format!("did you mean `{best}`?")),
        None => {
            let names: Vec<String> = scope.names().map(|n| format!("`{n}`")).collect();
            if names.is_empty() { d } else { d.note(format!("the names in scope are {}", names.join(", "))) }
        }
    }
}

fn overflow(expr: &Expr) -> Diagnostic {
    Diagnostic::new(Code::Overflow, "this expression overflows 64-bit integers").at(expr.span, "too large")
}

fn arithmetic(op: BinOp, a: &Constant, b: &Constant, expr: &Expr, rhs: &Expr) -> Result<Constant, Diagnostic> {
    match (a, b) {
        (Constant::Int(x), Constant::Int(y)) => {
            let (x, y) = (*x, *y);
            let result = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div => {
                    if y == 0 {
                        return Err(division_by_zero(rhs));
                    }
                    // `checked_rem` is `None` only for `i64::MIN % -1`, whose quotient overflows.
                    let remainder = x.checked_rem(y).ok_or_else(|| overflow(expr))?;
                    if remainder != 0 {
                        return Err(Diagnostic::new(
                            Code::InexactDivision,
                            format!("{x} / {y} leaves a remainder of {remainder}"),
                        )
                        .at(expr.span, format!("{x} is not a multiple of {y}"))
                        .help("sizes are integers: choose values that divide evenly"));
                    }
                    x.checked_div(y)
                }
            };
            result.map(Constant::Int).ok_or_else(|| overflow(expr))
        }
        _ => {
            let (x, y) = (as_f64(a), as_f64(b));
            let result = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div if y == 0.0 => return Err(division_by_zero(rhs)),
                BinOp::Div => x / y,
            };
            if result.is_finite() { Ok(Constant::Float(result)) } else { Err(overflow(expr)) }
        }
    }
}

fn division_by_zero(rhs: &Expr) -> Diagnostic {
    Diagnostic::new(Code::DivisionByZero, "division by zero").at(rhs.span, "this is 0")
}

fn as_f64(v: &Constant) -> f64 {
    match v {
        Constant::Int(i) => *i as f64,
        Constant::Float(f) => *f,
        _ => f64::NAN,
    }
}
