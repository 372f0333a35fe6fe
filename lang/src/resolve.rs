//! Resolution: parameters and overrides evaluated, blocks and repeats expanded, layer calls
//! looked up in the registry and their arguments checked against the kind's declaration.
//! The result is the flat graph IR. Every error found is reported, not only the first.

use super::ast::{Arg, Definition, Expr, Ident, Stmt, StmtKind};
use super::eval::{Evaluated, Scope, eval, unknown_name};
use crate::diag::{Code, Diagnostic, Span, did_you_mean};
use crate::ir::{Constant, Dim, ModelParam, Node, NodeId, Op};
use crate::layers::{ArgSpec, ArgType, ArgValue, Args, LayerKind, Registry};
use crate::limits;
use crate::units::thousands;
use std::collections::{HashMap, HashSet};

/// Each error once: a body expanded many times reports the same error at the same place.
fn distinct(errors: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = HashSet::new();
    errors
        .into_iter()
        .filter(|d| seen.insert((d.code, d.primary.as_ref().map(|l| l.span), d.message.clone())))
        .collect()
}

/// A `--set name=value`, parsed.
pub struct Override {
    pub name: Ident,
    pub value: super::ast::Expr,
}

pub struct Resolved {
    pub params: Vec<ModelParam>,
    pub vocab: Dim,
    pub context: Dim,
    pub nodes: Vec<Node>,
}

pub struct Resolver<'a> {
    registry: &'a Registry,
    blocks: HashMap<&'a str, &'a Definition>,
    errors: Vec<Diagnostic>,
    nodes: Vec<Node>,
    /// Blocks being expanded, to catch recursion.
    stack: Vec<&'a str>,
    too_large: bool,
    /// Bodies being expanded now (see [`limits::MAX_EXPANSION_DEPTH`]).
    depth: usize,
    /// Statements and repeat iterations expanded so far (see [`limits::MAX_EXPANSION_STEPS`]).
    steps: u64,
}

/// Where a statement expands: the names it sees, the prefix of its layers' paths, the names
/// already taken beside it, and the node it reads.
struct Place<'p> {
    scope: &'p Scope,
    prefix: &'p str,
    names: &'p mut Names,
    x: NodeId,
}

/// Default layer names already used in one scope, and explicit labels.
#[derive(Default)]
struct Names {
    taken: HashSet<String>,
    /// Per kind, the suffix to try next: naming n unlabelled layers of a kind takes O(n).
    next: HashMap<String, usize>,
}

impl Names {
    /// `label` as written, or `kind`, `kind_1`, `kind_2`, ... for unlabelled layers.
    fn claim(&mut self, label: Option<&Ident>, kind: &str) -> Result<String, Diagnostic> {
        if let Some(l) = label {
            if !self.taken.insert(l.name.clone()) {
                return Err(Diagnostic::new(
                    Code::DuplicateName,
                    format!("the name `{}` is used twice in this scope", l.name),
                )
                .at(l.span, "used again here")
                .help("layer names must be unique among their siblings: rename one"));
            }
            return Ok(l.name.clone());
        }
        let n = self.next.entry(kind.to_string()).or_insert(0);
        let mut name = if *n == 0 { kind.to_string() } else { format!("{kind}_{n}") };
        while self.taken.contains(&name) {
            *n += 1;
            name = format!("{kind}_{n}");
        }
        *n += 1;
        self.taken.insert(name.clone());
        Ok(name)
    }
}

impl<'a> Resolver<'a> {
    pub fn new(registry: &'a Registry, blocks: &'a [Definition]) -> Resolver<'a> {
        let mut resolver = Resolver {
            registry,
            blocks: HashMap::new(),
            errors: Vec::new(),
            nodes: Vec::new(),
            stack: Vec::new(),
            too_large: false,
            depth: 0,
            steps: 0,
        };
        for block in blocks {
            let name = block.name.name.as_str();
            if registry.get(name).is_some() {
                resolver.errors.push(
                    Diagnostic::new(Code::DuplicateDefinition, format!("block `{name}` has the name of a layer kind"))
                        .at(block.name.span, "shadows the built-in layer")
                        .help("rename the block"),
                );
            } else if let Some(first) = resolver.blocks.get(name) {
                resolver.errors.push(
                    Diagnostic::new(Code::DuplicateDefinition, format!("block `{name}` is defined twice"))
                        .at(block.name.span, "defined again here")
                        .also(first.name.span, "first defined here"),
                );
            } else {
                resolver.blocks.insert(name, block);
            }
        }
        resolver
    }

    /// Checks blocks that no model calls yet (a library file meant for `use`): every call in
    /// their bodies must name a layer kind or a block. Their arguments wait for a caller.
    pub fn library(mut self, own: &'a [Definition]) -> Vec<Diagnostic> {
        let mut pending: Vec<&'a Stmt> = own.iter().flat_map(|b| b.body.iter()).collect();
        while let Some(stmt) = pending.pop() {
            match &stmt.kind {
                StmtKind::Call { callee, .. } => {
                    if self.registry.get(&callee.name).is_none() && !self.blocks.contains_key(callee.name.as_str()) {
                        self.errors.push(self.unknown_layer(callee));
                    }
                }
                StmtKind::Repeat { body, .. } | StmtKind::Residual { body, .. } => pending.extend(body),
                StmtKind::If { then, otherwise, .. } => pending.extend(then.iter().chain(otherwise)),
            }
        }
        self.errors.sort_by_key(|d| d.primary.as_ref().map(|l| (l.span.file, l.span.start)));
        self.errors
    }

    fn unknown_layer(&self, callee: &Ident) -> Diagnostic {
        let mut candidates: Vec<&str> = self.registry.names().collect();
        candidates.extend(self.blocks.keys().copied());
        let d = Diagnostic::new(Code::UnknownLayer, format!("unknown layer `{}`", callee.name))
            .at(callee.span, "no layer kind or block has this name");
        match did_you_mean(&callee.name, candidates) {
            Some(best) => d.help(format!("did you mean `{best}`?")),
            None => d.help("`tinyarch layers` lists every layer kind"),
        }
    }

    /// Resolves `model` with the given vocabulary and overrides.
    pub fn model(
        mut self,
        model: &'a Definition,
        vocab: Option<u64>,
        overrides: &[Override],
    ) -> Result<Resolved, Vec<Diagnostic>> {
        let (scope, params) = self.model_params(model, overrides);
        // Later errors would only echo a parameter that failed.
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let context = match scope.get("context") {
            Some(Evaluated { value: Constant::Int(t), .. }) if *t > 0 => Some(Dim::new(*t as u64, "context")),
            Some(other) => {
                let span =
                    model.params.iter().find(|p| p.name.name == "context").map_or(model.name.span, |p| p.name.span);
                self.errors.push(
                    Diagnostic::new(
                        Code::InvalidArgument,
                        format!("`context` must be a positive integer, not {}", other.value),
                    )
                    .at(span, "the context length"),
                );
                None
            }
            None => {
                if !self.errors.iter().any(|e| e.code == Code::ReservedName) {
                    self.errors.push(
                        Diagnostic::new(
                            Code::ReservedName,
                            format!("model `{}` declares no `context` parameter", model.name.name),
                        )
                        .at(model.name.span, "needs a context length")
                        .help(format!("declare it with a default: `model {}(context = 128, ...)`", model.name.name)),
                    );
                }
                None
            }
        };
        let vocab = match vocab {
            Some(v) if v > 0 => Some(Dim::new(v, "vocab")),
            _ => {
                self.errors.push(
                    Diagnostic::new(Code::VocabUnknown, "the vocabulary size is not known")
                        .at(model.name.span, "uses `vocab`")
                        .help("pass `--vocab N`, or `--corpus NAME` to take it from a corpus"),
                );
                None
            }
        };
        let (Some(vocab), Some(context)) = (vocab, context) else {
            return Err(self.errors);
        };
        let mut scope = scope;
        scope.define("vocab", Evaluated::atom(Constant::Int(vocab.size as i64), "vocab"));
        self.nodes.push(Node { path: "input".into(), op: Op::Input, inputs: Vec::new(), span: model.name.span });
        self.body(&model.body, &scope, "", &mut Names::default(), 0);
        if self.errors.is_empty() {
            Ok(Resolved { params, vocab, context, nodes: self.nodes })
        } else {
            Err(distinct(self.errors))
        }
    }

    fn model_params(&mut self, model: &Definition, overrides: &[Override]) -> (Scope, Vec<ModelParam>) {
        let mut scope = Scope::default();
        let mut params = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for p in &model.params {
            let name = p.name.name.as_str();
            if name == "vocab" {
                self.errors.push(
                    Diagnostic::new(Code::ReservedName, "`vocab` cannot be a model parameter")
                        .at(p.name.span, "reserved: the corpus sets it")
                        .help("remove it and pass `--vocab N` or `--corpus NAME`"),
                );
                continue;
            }
            if let Some(first) = seen.insert(name, p.name.span) {
                self.errors.push(
                    Diagnostic::new(Code::DuplicateDefinition, format!("parameter `{name}` is declared twice"))
                        .at(p.name.span, "declared again here")
                        .also(first, "first declared here"),
                );
                continue;
            }
            let given = overrides.iter().rev().find(|o| o.name.name == name);
            let expr = given.map(|o| &o.value).or(p.default.as_ref());
            let Some(expr) = expr else {
                self.errors.push(
                    Diagnostic::new(Code::MissingArgument, format!("model parameter `{name}` has no value"))
                        .at(p.name.span, "no default")
                        .help(format!("give it a default, or pass `--set {name}=...`")),
                );
                continue;
            };
            match eval(expr, &scope) {
                Ok(v) if matches!(v.value, Constant::Ident(_)) => {
                    let Constant::Ident(n) = &v.value else { unreachable!() };
                    self.errors.push(unknown_name(n, expr, &scope));
                }
                Ok(v) => {
                    params.push(ModelParam {
                        name: name.to_string(),
                        value: v.value.clone(),
                        overridden: given.is_some(),
                    });
                    scope.define(name, Evaluated::atom(v.value, name));
                }
                Err(d) => self.errors.push(d),
            }
        }
        for o in overrides {
            if !model.params.iter().any(|p| p.name.name == o.name.name) {
                let d = Diagnostic::new(
                    Code::UnknownOverride,
                    format!("model `{}` has no parameter `{}`", model.name.name, o.name.name),
                )
                .at(o.name.span, "not a parameter of this model")
                .also(model.name.span, "the model");
                let names = model.params.iter().map(|p| p.name.name.as_str());
                let d = match did_you_mean(&o.name.name, names) {
                    Some(best) => d.help(format!("did you mean `{best}`?")),
                    None => {
                        let all: Vec<String> = model.params.iter().map(|p| format!("`{}`", p.name.name)).collect();
                        d.note(format!("its parameters are {}", all.join(", ")))
                    }
                };
                self.errors.push(d);
            }
        }
        (scope, params)
    }

    fn push(&mut self, node: Node) -> Option<NodeId> {
        if self.nodes.len() >= limits::MAX_NODES {
            let message = format!("the model expands to more than {} layers", thousands(limits::MAX_NODES as u64));
            self.stop_expanding(message, node.span);
            return None;
        }
        self.nodes.push(node);
        Some(self.nodes.len() - 1)
    }

    /// Expands statements on input `x`; returns the last node.
    /// Ends the expansion with an [`Code::ExpansionLimit`] error, once.
    fn stop_expanding(&mut self, message: String, span: Span) {
        if !self.too_large {
            self.too_large = true;
            self.errors.push(
                Diagnostic::new(Code::ExpansionLimit, message)
                    .at(span, "while expanding this")
                    .help("check the repeat counts and how often blocks call each other"),
            );
        }
    }

    /// Counts one expansion step; `false` once the budget is spent, or once enough errors are
    /// known (a repeated body repeats its errors: they would grow without bound).
    fn step(&mut self, span: Span) -> bool {
        self.steps += 1;
        if self.errors.len() >= limits::MAX_ERRORS {
            self.too_large = true;
        }
        if self.steps > limits::MAX_EXPANSION_STEPS {
            let message = format!(
                "expanding the model takes more than {} steps (statements and repeat iterations)",
                thousands(limits::MAX_EXPANSION_STEPS)
            );
            self.stop_expanding(message, span);
        }
        !self.too_large
    }

    fn body(&mut self, stmts: &'a [Stmt], scope: &Scope, prefix: &str, names: &mut Names, mut x: NodeId) -> NodeId {
        let Some(first) = stmts.first() else {
            return x;
        };
        if self.depth >= limits::MAX_EXPANSION_DEPTH {
            if !self.too_large {
                self.too_large = true;
                self.errors.push(
                    Diagnostic::new(
                        Code::TooDeep,
                        format!("bodies and block calls nest more than {} deep", limits::MAX_EXPANSION_DEPTH),
                    )
                    .at(first.span, format!("at depth {}", self.depth + 1))
                    .help("flatten the chain of blocks, or use `repeat` for depth"),
                );
            }
            return x;
        }
        self.depth += 1;
        for stmt in stmts {
            if !self.step(stmt.span) {
                break;
            }
            x = self.stmt(stmt, scope, prefix, names, x);
        }
        self.depth -= 1;
        x
    }

    fn stmt(&mut self, stmt: &'a Stmt, scope: &Scope, prefix: &str, names: &mut Names, x: NodeId) -> NodeId {
        let label = stmt.label.as_ref();
        match &stmt.kind {
            StmtKind::Call { callee, args } => match self.blocks.get(callee.name.as_str()) {
                Some(&block) => self.block_call(block, callee, args, label, Place { scope, prefix, names, x }),
                None => self.layer_call(callee, args, label, Place { scope, prefix, names, x }),
            },
            StmtKind::Repeat { count, body } => self.repeat(count, body, label, Place { scope, prefix, names, x }),
            StmtKind::If { condition, then, otherwise } => match eval(condition, scope) {
                Ok(Evaluated { value: Constant::Bool(c), .. }) => {
                    self.body(if c { then } else { otherwise }, scope, prefix, names, x)
                }
                Ok(Evaluated { value: Constant::Ident(name), .. }) => {
                    self.errors.push(unknown_name(&name, condition, scope));
                    x
                }
                Ok(v) => {
                    self.errors.push(
                        Diagnostic::new(
                            Code::ArgumentType,
                            format!("a condition must be a boolean, found {} `{}`", v.value.type_name(), v.value),
                        )
                        .at(condition.span, "not `true` or `false`"),
                    );
                    x
                }
                Err(d) => {
                    self.errors.push(d);
                    x
                }
            },
            StmtKind::Residual { keyword, body } => {
                self.residual(*keyword, body, label, Place { scope, prefix, names, x })
            }
        }
    }

    /// The name a statement's node gets in its scope, or `None` after reporting a duplicate.
    fn claim(&mut self, names: &mut Names, label: Option<&Ident>, kind: &str) -> Option<String> {
        names.claim(label, kind).map_err(|d| self.errors.push(d)).ok()
    }

    fn layer_call(&mut self, callee: &Ident, args: &[Arg], label: Option<&Ident>, at: Place) -> NodeId {
        let Place { scope, prefix, names, x } = at;
        let Some(kind) = self.registry.get(&callee.name).cloned() else {
            let d = self.unknown_layer(callee);
            self.errors.push(d);
            return x;
        };
        let Some(args) = self.layer_args(kind.as_ref(), callee, args, scope) else {
            return x;
        };
        let Some(name) = self.claim(names, label, kind.name()) else {
            return x;
        };
        let node =
            Node { path: format!("{prefix}{name}"), op: Op::Layer { kind, args }, inputs: vec![x], span: callee.span };
        self.push(node).unwrap_or(x)
    }

    fn repeat(&mut self, count: &Expr, body: &'a [Stmt], label: Option<&Ident>, at: Place) -> NodeId {
        let Place { scope, prefix, names, x } = at;
        let n = match eval(count, scope) {
            Ok(Evaluated { value: Constant::Int(n), .. }) if n >= 0 => n as u64,
            Ok(Evaluated { value: Constant::Ident(name), .. }) => {
                self.errors.push(unknown_name(&name, count, scope));
                return x;
            }
            Ok(v) => {
                self.errors.push(
                    Diagnostic::new(
                        Code::RepeatCount,
                        format!("a repeat count must be a non-negative integer, not {}", v.value),
                    )
                    .at(count.span, "the count"),
                );
                return x;
            }
            Err(d) => {
                self.errors.push(d);
                return x;
            }
        };
        let Some(name) = self.claim(names, label, "repeat") else {
            return x;
        };
        let mut y = x;
        for i in 0..n {
            if !self.step(count.span) {
                break;
            }
            y = self.body(body, scope, &format!("{prefix}{name}.{i}."), &mut Names::default(), y);
        }
        y
    }

    fn residual(&mut self, keyword: Span, body: &'a [Stmt], label: Option<&Ident>, at: Place) -> NodeId {
        let Place { scope, prefix, names, x } = at;
        let Some(name) = self.claim(names, label, "residual") else {
            return x;
        };
        let y = match label {
            Some(_) => self.body(body, scope, &format!("{prefix}{name}."), &mut Names::default(), x),
            None => self.body(body, scope, prefix, names, x),
        };
        let span = label.map_or(keyword, |l| l.span.to(keyword));
        let node = Node { path: format!("{prefix}{name}"), op: Op::Add, inputs: vec![y, x], span };
        self.push(node).unwrap_or(x)
    }

    fn block_call(
        &mut self,
        block: &'a Definition,
        callee: &Ident,
        args: &[Arg],
        label: Option<&Ident>,
        at: Place,
    ) -> NodeId {
        let Place { scope, prefix, names, x } = at;
        let name = block.name.name.as_str();
        if self.stack.contains(&name) {
            self.errors.push(
                Diagnostic::new(Code::RecursiveBlock, format!("block `{name}` calls itself"))
                    .at(callee.span, "recursive call")
                    .also(block.name.span, "defined here")
                    .help("use `repeat N { ... }` for depth"),
            );
            return x;
        }
        let errors_before = self.errors.len();
        let mut given: HashMap<&str, (Evaluated, Span)> = HashMap::new();
        for arg in args {
            let arg_name = arg.name.name.as_str();
            if !block.params.iter().any(|p| p.name.name == arg_name) {
                let d = Diagnostic::new(Code::UnknownArgument, format!("block `{name}` has no parameter `{arg_name}`"))
                    .at(arg.name.span, "unknown argument");
                self.errors.push(d.suggest(arg_name, block.params.iter().map(|p| p.name.name.as_str())));
                continue;
            }
            if let Some((_, first)) = given.get(arg_name) {
                self.errors.push(duplicate_argument(arg_name, arg.name.span, *first));
                continue;
            }
            match eval(&arg.value, scope) {
                Ok(v) => {
                    given.insert(arg_name, (v, arg.name.span));
                }
                Err(d) => self.errors.push(d),
            }
        }
        // A block sees only its parameters and the model's symbols.
        let mut inner = Scope::default();
        for global in ["context", "vocab"] {
            if let Some(v) = scope.get(global) {
                inner.define(global, Evaluated::atom(v.value.clone(), global));
            }
        }
        for p in &block.params {
            let pname = p.name.name.as_str();
            if let Some((v, _)) = given.remove(pname) {
                inner.define(pname, v);
            } else if let Some(default) = &p.default {
                match eval(default, &inner) {
                    Ok(v) => inner.define(pname, v),
                    Err(d) => self.errors.push(d),
                }
            } else {
                self.errors.push(
                    Diagnostic::new(Code::MissingArgument, format!("block `{name}` needs the argument `{pname}`"))
                        .at(callee.span, format!("`{pname}` is missing"))
                        .also(p.name.span, "declared here without a default"),
                );
            }
        }
        if self.errors.len() > errors_before {
            return x;
        }
        self.stack.push(name);
        let y = match label {
            Some(l) => match self.claim(names, Some(l), name) {
                Some(n) => self.body(&block.body, &inner, &format!("{prefix}{n}."), &mut Names::default(), x),
                None => x,
            },
            None => self.body(&block.body, &inner, prefix, names, x),
        };
        self.stack.pop();
        y
    }

    /// Checks a call's arguments against the kind's declaration and fills in defaults.
    fn layer_args(&mut self, kind: &dyn LayerKind, callee: &Ident, args: &[Arg], scope: &Scope) -> Option<Args> {
        let specs = kind.args();
        let mut items: Vec<(&'static str, ArgValue)> = Vec::new();
        let mut spans: HashMap<&str, Span> = HashMap::new();
        // Required arguments already blamed on a misspelling, so not reported missing too.
        let mut misspelt: HashSet<&str> = HashSet::new();
        let mut ok = true;
        for arg in args {
            let arg_name = arg.name.name.as_str();
            let Some(spec) = specs.iter().find(|s| s.name == arg_name) else {
                let d =
                    Diagnostic::new(Code::UnknownArgument, format!("`{}` has no argument `{arg_name}`", kind.name()))
                        .at(arg.name.span, "unknown argument");
                let d = match did_you_mean(arg_name, specs.iter().map(|s| s.name)) {
                    Some(best) => {
                        misspelt.insert(best);
                        d.help(format!("did you mean `{best}`?"))
                    }
                    None if specs.is_empty() => d.note(format!("`{}` takes no arguments", kind.name())),
                    None => {
                        let all: Vec<String> = specs.iter().map(|s| format!("`{}`", s.name)).collect();
                        d.note(format!("`{}` takes {}", kind.name(), all.join(", ")))
                    }
                };
                self.errors.push(d);
                ok = false;
                continue;
            };
            if let Some(first) = spans.get(arg_name) {
                self.errors.push(duplicate_argument(arg_name, arg.name.span, *first));
                ok = false;
                continue;
            }
            spans.insert(spec.name, arg.name.span);
            match eval(&arg.value, scope).and_then(|v| typed(spec, v, &arg.value, scope)) {
                Ok(v) => items.push((spec.name, ArgValue { value: v.value, sym: v.sym, span: Some(arg.value.span) })),
                Err(d) => {
                    self.errors.push(d);
                    ok = false;
                }
            }
        }
        for spec in specs {
            if spans.contains_key(spec.name) || misspelt.contains(spec.name) {
                continue;
            }
            match spec.default {
                Some(default) => {
                    let value = default.value();
                    items.push((spec.name, ArgValue { sym: value.to_string(), value, span: None }));
                }
                None => {
                    self.errors.push(
                        Diagnostic::new(
                            Code::MissingArgument,
                            format!("`{}` needs the argument `{}`", kind.name(), spec.name),
                        )
                        .at(callee.span, format!("`{}` is missing", spec.name))
                        .help(format!("add `{} = ...`: {}", spec.name, spec.doc)),
                    );
                    ok = false;
                }
            }
        }
        // Declaration order, so graphs print the same whatever order the file used.
        items.sort_by_key(|(n, _)| specs.iter().position(|s| s.name == *n));
        ok.then_some(Args { items })
    }
}

fn duplicate_argument(name: &str, again: Span, first: Span) -> Diagnostic {
    Diagnostic::new(Code::DuplicateArgument, format!("the argument `{name}` is given twice"))
        .at(again, "given again here")
        .also(first, "first given here")
}

/// Checks a value against an argument's declared type; integers widen to numbers.
fn typed(spec: &ArgSpec, v: Evaluated, expr: &super::ast::Expr, scope: &Scope) -> Result<Evaluated, Diagnostic> {
    let mismatch = |found: &Constant| {
        Diagnostic::new(
            Code::ArgumentType,
            format!("`{}` must be {}, found {} `{found}`", spec.name, spec.ty.describe(), found.type_name()),
        )
        .at(expr.span, found.type_name())
    };
    match (&spec.ty, &v.value) {
        (ArgType::Int, Constant::Int(_))
        | (ArgType::Float, Constant::Float(_))
        | (ArgType::Bool, Constant::Bool(_)) => Ok(v),
        (ArgType::Float, Constant::Int(i)) => {
            let value = Constant::Float(*i as f64);
            Ok(Evaluated { value, ..v })
        }
        (ArgType::Choice(names), Constant::Ident(name)) => {
            if names.contains(&name.as_str()) {
                Ok(v)
            } else {
                let d = Diagnostic::new(
                    Code::InvalidArgument,
                    format!("`{}` must be {}, found `{name}`", spec.name, spec.ty.describe()),
                )
                .at(expr.span, "not a known choice");
                Err(d.suggest(name, names.iter().copied()))
            }
        }
        (_, Constant::Ident(name)) => Err(unknown_name(name, expr, scope)),
        (_, found) => Err(mismatch(found)),
    }
}
