//! `tinyarch fmt`: the canonical layout of a `.model` file, in the style of the zoo.
//!
//! The printer walks the AST and takes every comment from the source by position, so nothing
//! the user wrote is lost: a comment on its own line stays before the item that follows it, a
//! comment after an item on the same line stays after it. The rules (the book's "Editing
//! .model files" chapter has them with examples):
//!
//! - four spaces per level; one statement per line; `}` on its own line;
//! - `name = value` with spaces, `, ` between arguments, one space around binary operators,
//!   parentheses only where the expression needs them; literals as written (`1_000`, `1e-5`);
//! - a parameter or argument list stays on one line when it fits in 100 columns and holds no
//!   comment; otherwise one item per line, each with a trailing comma;
//! - trailing comments of the statements of one body, and of the items of one list, line up
//!   one space after the longest of them;
//! - blank lines between items are kept, several collapsed into one; none after `{` or before
//!   `}`; the file ends with one newline.
//!
//! Formatting never changes meaning: the formatted file parses to the same AST, so it checks
//! to the same graph. An expression with a comment inside is kept as written.

use crate::ast::{Arg, BinOp, Definition, Expr, ExprKind, Param, Stmt, StmtKind, Use};
use crate::diag::{Diagnostic, FileId};
use crate::lexical::{Piece, pieces};
use crate::parse_file;

const WIDTH: usize = 100;
const INDENT: &str = "    ";

/// The canonical layout of `text`, or the syntax error that stops it.
pub fn format_source(file: FileId, text: &str) -> Result<String, Diagnostic> {
    let ast = parse_file(file, text)?;
    let mut printer = Printer { text, comments: comments(text), next: 0, out: String::new(), header: None };
    enum Item<'a> {
        Use(&'a Use),
        Definition(&'static str, &'a Definition),
    }
    let mut items: Vec<(usize, usize, Item)> = Vec::new();
    items.extend(ast.uses.iter().map(|u| (u.span.start, u.span.end, Item::Use(u))));
    items.extend(ast.blocks.iter().map(|b| (b.span.start, b.span.end, Item::Definition("block", b))));
    items.extend(ast.models.iter().map(|m| (m.span.start, m.span.end, Item::Definition("model", m))));
    items.sort_by_key(|i| i.0);
    let mut previous_end = 0;
    for (start, end, item) in &items {
        printer.leading(previous_end, *start, "", previous_end > 0);
        match item {
            Item::Use(u) => printer.out.push_str(&format!("use \"{}\"", u.path)),
            Item::Definition(keyword, d) => printer.definition(keyword, d),
        }
        printer.trailing_after(*end, 1);
        printer.out.push('\n');
        previous_end = *end;
    }
    printer.leading(previous_end, text.len(), "", previous_end > 0);
    let mut out = printer.out.trim_end().to_string();
    out.push('\n');
    if out.trim().is_empty() {
        out.clear();
    }
    Ok(out)
}

/// A `//` comment in the source.
#[derive(Clone, Debug)]
struct Comment {
    start: usize,
    end: usize,
}

/// Every comment, in order.
fn comments(text: &str) -> Vec<Comment> {
    pieces(text, 0)
        .filter_map(|p| match p {
            Piece::Comment(r) => Some(Comment { start: r.start, end: r.end }),
            Piece::Code(..) => None,
        })
        .collect()
}

struct Printer<'t> {
    text: &'t str,
    comments: Vec<Comment>,
    /// The first comment not yet printed.
    next: usize,
    out: String,
    /// The comment after the `{` of the statement being printed, for its body to line up.
    header: Option<String>,
}

/// An item of a parameter or argument list.
#[derive(Clone, Copy)]
enum Item<'a> {
    Param(&'a Param),
    Arg(&'a Arg),
}

impl Item<'_> {
    fn start(self) -> usize {
        match self {
            Item::Param(p) => p.name.span.start,
            Item::Arg(a) => a.name.span.start,
        }
    }
    fn end(self) -> usize {
        match self {
            Item::Param(p) => param_end(p),
            Item::Arg(a) => a.value.span.end,
        }
    }
}

/// One line of a list or body before alignment: its code, and its trailing comment.
struct Line {
    leading: String,
    /// One line, or several (a compound statement): the comment goes on the first.
    code: String,
    comment: Option<String>,
    /// A comment after the last line of several (`} // end`).
    tail: Option<String>,
    /// Aligned with the other commented lines of its list (single-line items only).
    align: bool,
}

impl Printer<'_> {
    fn comment_text(&self, c: &Comment) -> String {
        self.text[c.start..c.end].trim_end().to_string()
    }

    /// Whether the source has an empty line between `from` and `to`.
    fn blank_line(&self, from: usize, to: usize) -> bool {
        let lines: Vec<&str> = self.text[from.min(to)..to].split('\n').collect();
        lines.len() >= 3 && lines[1..lines.len() - 1].iter().any(|l| l.trim().is_empty())
    }

    /// Whether there is a line break between `from` and `to`.
    fn line_break(&self, from: usize, to: usize) -> bool {
        self.text[from.min(to)..to].contains('\n')
    }

    /// Comments that start before `pos`, not yet printed.
    fn take_before(&mut self, pos: usize) -> Vec<Comment> {
        let start = self.next;
        while self.next < self.comments.len() && self.comments[self.next].start < pos {
            self.next += 1;
        }
        self.comments[start..self.next].to_vec()
    }

    /// Whether a comment not yet printed lies in `from..to`.
    fn has_comment(&self, from: usize, to: usize) -> bool {
        self.comments[self.next..].iter().any(|c| c.start >= from && c.start < to)
    }

    /// Prints the comments before `pos` on their own lines at `indent`, with the blank lines
    /// the source has before them and before `pos` (`blank_ok`: a blank line may open).
    fn leading(&mut self, from: usize, pos: usize, indent: &str, blank_ok: bool) {
        let mut at = from;
        let mut first = true;
        for c in self.take_before(pos) {
            if (blank_ok || !first) && self.blank_line(at, c.start) {
                self.out.push('\n');
            }
            let text = self.comment_text(&c);
            self.out.push_str(&format!("{indent}{text}\n"));
            at = c.end;
            first = false;
        }
        if (blank_ok || !first) && pos < self.text.len() && self.blank_line(at, pos) {
            self.out.push('\n');
        }
    }

    /// A comment on the same line after `end`, printed `gap` spaces after the code.
    fn trailing_after(&mut self, end: usize, gap: usize) {
        if let Some(text) = self.trailing(end) {
            self.out.push_str(&" ".repeat(gap));
            self.out.push_str(&text);
        }
    }

    /// The comment that starts on the same line after `end`, if any, taken.
    fn trailing(&mut self, end: usize) -> Option<String> {
        let c = self.comments.get(self.next)?.clone();
        if c.start >= end && !self.line_break(end, c.start) {
            self.next += 1;
            Some(self.comment_text(&c))
        } else {
            None
        }
    }

    fn definition(&mut self, keyword: &str, d: &Definition) {
        let open = self.find(b'{', d.params.last().map_or(d.name.span.end, param_end));
        let params: Vec<Item> = d.params.iter().map(Item::Param).collect();
        let head = format!("{keyword} {}", d.name.name);
        let list = if d.params.is_empty() && !self.has_paren(d.name.span.end, open) {
            String::new()
        } else {
            self.list(&head, &params, d.name.span.end, open, "")
        };
        self.out.push_str(&format!("{head}{list} {{"));
        self.body(&d.body, open, d.span.end - 1, "", false);
        self.out.push('}');
    }

    /// Whether the source has a `(` between `from` and `to` (an empty parameter list).
    fn has_paren(&self, from: usize, to: usize) -> bool {
        self.text[from..to].contains('(')
    }

    fn param(&mut self, p: &Param) -> String {
        match &p.default {
            Some(e) => format!("{} = {}", p.name.name, self.expr(e)),
            None => p.name.name.clone(),
        }
    }

    fn item(&mut self, item: Item) -> String {
        match item {
            Item::Param(p) => self.param(p),
            Item::Arg(a) => self.arg(a),
        }
    }

    /// `(a, b)` on one line, or one item per line; `from..to` holds the list's source.
    fn list(&mut self, head: &str, items: &[Item], from: usize, to: usize, indent: &str) -> String {
        let commented = self.has_comment(from, to);
        if !commented {
            let codes: Vec<String> = items.iter().map(|&i| self.item(i)).collect();
            let one_line = format!("({})", codes.join(", "));
            if indent.len() + head.len() + one_line.len() + 2 <= WIDTH && !one_line.contains('\n') {
                return one_line;
            }
        }
        let inner = format!("{indent}{INDENT}");
        let mut lines = Vec::new();
        let mut previous = from;
        for &item in items {
            let mut leading = String::new();
            for c in self.take_before(item.start()) {
                leading.push_str(&format!("{inner}{}\n", self.comment_text(&c)));
            }
            if !lines.is_empty() && leading.is_empty() && self.blank_line(previous, item.start()) {
                leading.insert(0, '\n');
            }
            let code = self.item(item);
            // The comment after the item's comma, on its line.
            let end = self.next_comment_floor(item.end()).min(to).max(item.end().min(to));
            let comma = self.text[end..to].find(',').map_or(end, |i| end + i + 1);
            let comment = self.trailing(comma.min(to));
            lines.push(Line { leading, align: !code.contains('\n'), code: format!("{code},"), comment, tail: None });
            previous = item.end();
        }
        let mut out = String::from("(\n");
        out.push_str(&aligned(&lines, &inner));
        for c in self.take_before(to) {
            out.push_str(&format!("{inner}{}\n", self.comment_text(&c)));
        }
        out.push_str(indent);
        out.push(')');
        out
    }

    /// Where the source after `end` continues past parentheses that close the item's value.
    fn next_comment_floor(&self, end: usize) -> usize {
        let rest = &self.text[end..];
        end + rest.len() - rest.trim_start_matches([')', ' ', '\t']).len()
    }

    /// The statements between the body's `{` at `open` and `}` at `close`, then the indent of
    /// the closing brace.
    /// `defer`: keep the comment after `{` in `self.header`, for the enclosing body to line up
    /// with its other comments; otherwise it follows the `{`.
    fn body(&mut self, stmts: &[Stmt], open: usize, close: usize, indent: &str, defer: bool) {
        if stmts.is_empty() && !self.has_comment(open, close) {
            return; // `{}`
        }
        let inner = format!("{indent}{INDENT}");
        // Set after the statements, whose own bodies use `self.header` too.
        let mut deferred = None;
        match self.trailing(open + 1) {
            Some(c) if defer => deferred = Some(c),
            Some(c) => {
                self.out.push(' ');
                self.out.push_str(&c);
            }
            None => {}
        }
        self.out.push('\n');
        let mut lines: Vec<Line> = Vec::new();
        let mut previous = open + 1;
        for (i, stmt) in stmts.iter().enumerate() {
            let mut leading = String::new();
            let mut at = previous;
            for c in self.take_before(stmt.span.start) {
                if (i > 0 || !leading.is_empty()) && self.blank_line(at, c.start) {
                    leading.push('\n');
                }
                leading.push_str(&format!("{inner}{}\n", self.comment_text(&c)));
                at = c.end;
            }
            if (i > 0 || !leading.is_empty()) && self.blank_line(at, stmt.span.start) {
                leading.push('\n');
            }
            let single = matches!(stmt.kind, StmtKind::Call { .. });
            let (code, header) = self.stmt(stmt, &inner);
            let after = self.trailing(stmt.span.end);
            let line = match header {
                Some(h) => Line { leading, code, comment: Some(h), tail: after, align: true },
                None if single && !code.contains('\n') => {
                    Line { leading, code, comment: after, tail: None, align: true }
                }
                None => Line { leading, code, comment: None, tail: after, align: false },
            };
            lines.push(line);
            previous = stmt.span.end;
        }
        let body = aligned(&lines, &inner);
        self.out.push_str(&body);
        let mut at = previous;
        let mut first = true;
        for c in self.take_before(close) {
            if !first && self.blank_line(at, c.start) {
                self.out.push('\n');
            }
            let text = self.comment_text(&c);
            self.out.push_str(&format!("{inner}{text}\n"));
            at = c.end;
            first = false;
        }
        self.out.push_str(indent);
        self.header = deferred;
    }

    /// The statement's text, and the comment after its first `{` (for the caller to align).
    fn stmt(&mut self, stmt: &Stmt, indent: &str) -> (String, Option<String>) {
        let label = stmt.label.as_ref().map(|l| format!("{}: ", l.name)).unwrap_or_default();
        let saved = std::mem::take(&mut self.out);
        let mut header = None;
        match &stmt.kind {
            StmtKind::Call { callee, args } => {
                let open = self.find(b'(', callee.span.end);
                let items: Vec<Item> = args.iter().map(Item::Arg).collect();
                let head = format!("{label}{}", callee.name);
                let list = self.list(&head, &items, open, stmt.span.end - 1, indent);
                self.out.push_str(&format!("{head}{list}"));
            }
            StmtKind::Repeat { count, body } => {
                let open = self.find(b'{', count.span.end);
                let count = self.expr(count);
                self.out.push_str(&format!("{label}repeat {count} {{"));
                self.body(body, open, stmt.span.end - 1, indent, true);
                header = self.header.take();
                self.out.push('}');
            }
            StmtKind::Residual { keyword, body } => {
                let open = self.find(b'{', keyword.end);
                self.out.push_str(&format!("{label}residual {{"));
                self.body(body, open, stmt.span.end - 1, indent, true);
                header = self.header.take();
                self.out.push('}');
            }
            StmtKind::If { condition, then, otherwise } => {
                let open = self.find(b'{', condition.span.end);
                let close = self.matching(open);
                let condition = self.expr(condition);
                self.out.push_str(&format!("{label}if {condition} {{"));
                self.body(then, open, close, indent, true);
                header = self.header.take();
                self.out.push('}');
                if close + 1 < stmt.span.end {
                    let open = self.find(b'{', close + 1);
                    self.out.push_str(" else {");
                    self.body(otherwise, open, stmt.span.end - 1, indent, false);
                    self.out.push('}');
                }
            }
        }
        (std::mem::replace(&mut self.out, saved), header)
    }

    fn arg(&mut self, a: &Arg) -> String {
        format!("{} = {}", a.name.name, self.expr(&a.value))
    }

    /// The first `byte` at or after `from`, outside comments and strings.
    fn find(&self, byte: u8, from: usize) -> usize {
        pieces(self.text, from)
            .find_map(|p| match p {
                Piece::Code(i, b) if b == byte => Some(i),
                _ => None,
            })
            .unwrap_or(self.text.len())
    }

    /// The `}` that closes the `{` at `open`.
    fn matching(&self, open: usize) -> usize {
        let mut depth = 0usize;
        for piece in pieces(self.text, open) {
            match piece {
                Piece::Code(_, b'{') => depth += 1,
                Piece::Code(i, b'}') => {
                    depth -= 1;
                    if depth == 0 {
                        return i;
                    }
                }
                _ => {}
            }
        }
        self.text.len()
    }

    /// An expression in canonical form, or as written when a comment is inside it.
    fn expr(&mut self, e: &Expr) -> String {
        let (start, end) = self.balanced(e.span.start, e.span.end);
        if self.has_comment(start, end) {
            // Keep it as written, from any comment not yet printed before it (one between a
            // keyword and its expression), so that every comment is printed with it.
            let from = self.comments.get(self.next).map_or(start, |c| c.start.min(start));
            let (from, end) = self.balanced(from, end);
            self.take_before(end);
            return self.text[from..end].to_string();
        }
        self.canonical(e)
    }

    /// `start..end` widened to the parentheses that the span leaves unbalanced (an expression's
    /// span leaves out its outer parentheses). Parentheses in comments do not count.
    fn balanced(&self, mut start: usize, mut end: usize) -> (usize, usize) {
        let (mut depth, mut missing_open) = (0i64, 0i64);
        for piece in pieces(self.text, start).take_while(|p| {
            matches!(p, Piece::Code(i, _) if *i < end) || matches!(p, Piece::Comment(r) if r.start < end)
        }) {
            match piece {
                Piece::Code(_, b'(') => depth += 1,
                Piece::Code(_, b')') => {
                    depth -= 1;
                    missing_open = missing_open.max(-depth);
                }
                _ => {}
            }
        }
        let mut missing_close = depth + missing_open;
        let bytes = self.text.as_bytes();
        while missing_open > 0 && start > 0 {
            start -= 1;
            if bytes[start] == b'(' {
                missing_open -= 1;
            }
        }
        while missing_close > 0 && end < bytes.len() {
            if bytes[end] == b')' {
                missing_close -= 1;
            }
            end += 1;
        }
        (start, end)
    }

    fn canonical(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) | ExprKind::Name(_) => {
                self.text[e.span.start..e.span.end].to_string()
            }
            ExprKind::Neg(inner) => match inner.kind {
                ExprKind::Binary(..) => format!("-({})", self.canonical(inner)),
                _ => format!("-{}", self.canonical(inner)),
            },
            ExprKind::Binary(op, l, r) => {
                let p = precedence(*op);
                let left = match &l.kind {
                    ExprKind::Binary(lop, ..) if precedence(*lop) < p => format!("({})", self.canonical(l)),
                    _ => self.canonical(l),
                };
                let right = match &r.kind {
                    ExprKind::Binary(rop, ..) if precedence(*rop) <= p => format!("({})", self.canonical(r)),
                    _ => self.canonical(r),
                };
                format!("{left} {} {right}", op.symbol())
            }
        }
    }
}

fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Add | BinOp::Sub => 1,
        BinOp::Mul | BinOp::Div => 2,
    }
}

fn param_end(p: &Param) -> usize {
    p.default.as_ref().map_or(p.name.span.end, |e| e.span.end)
}

/// Lines at `indent`, their trailing comments lined up one space after the longest commented
/// line (the first line of a compound statement counts with its header).
fn aligned(lines: &[Line], indent: &str) -> String {
    let first = |l: &Line| l.code.split('\n').next().unwrap_or("").len();
    let column = lines.iter().filter(|l| l.comment.is_some() && l.align).map(first).max().unwrap_or(0);
    let mut out = String::new();
    for line in lines {
        out.push_str(&line.leading);
        out.push_str(indent);
        let (head, rest) = line.code.split_once('\n').map_or((line.code.as_str(), None), |(h, r)| (h, Some(r)));
        out.push_str(head);
        if let Some(c) = &line.comment {
            let pad = if line.align { column - head.len() + 1 } else { 1 };
            out.push_str(&" ".repeat(pad));
            out.push_str(c);
        }
        if let Some(rest) = rest {
            out.push('\n');
            out.push_str(rest);
        }
        if let Some(c) = &line.tail {
            out.push(' ');
            out.push_str(c);
        }
        out.push('\n');
    }
    out
}
