//! GitHub Actions expressions (`${{ … }}`), evaluated as GitHub does for the subset the workflows
//! use: literals, contexts and their properties (case-insensitive), `!`, comparisons, `&&`, `||`,
//! parentheses and the functions `contains`, `startsWith`, `endsWith`, `format`, `join`,
//! `toJSON`, `fromJSON` and the status functions of `if:`.
//!
//! It must never guess: an unknown function or context, a context the place does not offer (as
//! GitHub's table of context availability says), `matrix`, object filters (`.*`) or a syntax
//! error panic with the expression and the place, so that a workflow cannot quietly use
//! something this evaluator does not run.

use serde_json::{Map, Value};

/// Every context GitHub has; the ones this evaluator refuses are refused by name.
const CONTEXTS: &[&str] = &[
    "github", "env", "vars", "secrets", "inputs", "steps", "needs", "job", "runner", "strategy",
    "matrix", "jobs",
];

/// The job status the status functions of an `if:` see.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    /// No earlier step (or, for a job, no job it depends on) failed, was skipped or cancelled.
    pub success: bool,
    /// An earlier step (or a job it depends on) failed.
    pub failure: bool,
}

/// What an expression can see at one place of a workflow.
pub struct Scope<'a> {
    /// The contexts, by lowercase name.
    pub contexts: &'a Map<String, Value>,
    /// The contexts this place offers (GitHub's table of context availability).
    pub allowed: &'a [&'a str],
    /// `Some` in an `if:`: the status functions are available.
    pub status: Option<Status>,
    /// The place, for messages: `jobs.plan.steps[2].run`.
    pub place: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Punct(&'static str),
    Ident(String),
    Str(String),
    Num(f64),
}

#[derive(Debug, Clone)]
enum Expr {
    Lit(Value),
    Context(String),
    Prop(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(&'static str, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

fn fail(scope: &Scope, expr: &str, why: impl std::fmt::Display) -> ! {
    panic!(
        "the test runner does not run `{expr}` in {}: {why}",
        scope.place
    )
}

fn lex(src: &str, scope: &Scope) -> Vec<Token> {
    const PUNCTS: &[&str] = &[
        "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", ".", ",", "!", "<", ">", "*",
    ];
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => fail(scope, src, "a string is not closed"),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        s.push(*c);
                        i += 1;
                    }
                }
            }
            out.push(Token::Str(s));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = parse_number(&text)
                .unwrap_or_else(|| fail(scope, src, format!("`{text}` is not a number")));
            out.push(Token::Num(n));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '-')
            {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let rest: String = chars[i..].iter().take(2).collect();
            match PUNCTS.iter().find(|p| rest.starts_with(**p)) {
                Some(p) => {
                    out.push(Token::Punct(p));
                    i += p.len();
                }
                None => fail(scope, src, format!("unexpected `{c}`")),
            }
        }
    }
    out
}

/// GitHub's number syntax: decimal, exponent, `0x` hexadecimal, `0o` octal.
fn parse_number(text: &str) -> Option<f64> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let n = if let Some(h) = body.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()? as f64
    } else if let Some(o) = body.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()? as f64
    } else {
        body.parse::<f64>().ok().filter(|n| n.is_finite())?
    };
    Some(if neg { -n } else { n })
}

struct Parser<'s, 'a> {
    tokens: Vec<Token>,
    at: usize,
    src: &'s str,
    scope: &'s Scope<'a>,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.peek() == Some(&Token::Punct(punct(p))) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) {
        if !self.eat(p) {
            fail(
                self.scope,
                self.src,
                format!("expected `{p}` at {:?}", self.peek()),
            );
        }
    }

    fn or(&mut self) -> Expr {
        let mut left = self.and();
        while self.eat("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()));
        }
        left
    }

    fn and(&mut self) -> Expr {
        let mut left = self.equality();
        while self.eat("&&") {
            left = Expr::And(Box::new(left), Box::new(self.equality()));
        }
        left
    }

    fn equality(&mut self) -> Expr {
        let mut left = self.comparison();
        loop {
            let op = if self.eat("==") {
                "=="
            } else if self.eat("!=") {
                "!="
            } else {
                return left;
            };
            left = Expr::Cmp(op, Box::new(left), Box::new(self.comparison()));
        }
    }

    fn comparison(&mut self) -> Expr {
        let mut left = self.unary();
        loop {
            let op = ["<=", ">=", "<", ">"].into_iter().find(|op| self.eat(op));
            let Some(op) = op else { return left };
            left = Expr::Cmp(op, Box::new(left), Box::new(self.unary()));
        }
    }

    fn unary(&mut self) -> Expr {
        if self.eat("!") {
            return Expr::Not(Box::new(self.unary()));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Expr {
        let mut e = self.primary();
        loop {
            if self.eat(".") {
                match self.tokens.get(self.at).cloned() {
                    Some(Token::Ident(name)) => {
                        self.at += 1;
                        e = Expr::Prop(Box::new(e), name);
                    }
                    Some(Token::Punct("*")) => fail(
                        self.scope,
                        self.src,
                        "object filters (`.*`) are not supported",
                    ),
                    other => fail(
                        self.scope,
                        self.src,
                        format!("expected a property name, found {other:?}"),
                    ),
                }
            } else if self.eat("[") {
                if self.peek() == Some(&Token::Punct("*")) {
                    fail(
                        self.scope,
                        self.src,
                        "object filters (`[*]`) are not supported",
                    );
                }
                let index = self.or();
                self.expect("]");
                e = Expr::Index(Box::new(e), Box::new(index));
            } else {
                return e;
            }
        }
    }

    fn primary(&mut self) -> Expr {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Str(s)) => Expr::Lit(Value::String(s)),
            Some(Token::Num(n)) => Expr::Lit(number(n)),
            Some(Token::Punct("(")) => {
                let e = self.or();
                self.expect(")");
                e
            }
            Some(Token::Ident(name)) => match name.as_str() {
                "true" => Expr::Lit(Value::Bool(true)),
                "false" => Expr::Lit(Value::Bool(false)),
                "null" => Expr::Lit(Value::Null),
                _ if self.eat("(") => {
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            args.push(self.or());
                            if self.eat(")") {
                                break;
                            }
                            self.expect(",");
                        }
                    }
                    Expr::Call(name.to_ascii_lowercase(), args)
                }
                _ => Expr::Context(name.to_ascii_lowercase()),
            },
            other => fail(self.scope, self.src, format!("unexpected {other:?}")),
        }
    }
}

fn punct(p: &str) -> &'static str {
    [
        "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", ".", ",", "!", "<", ">", "*",
    ]
    .into_iter()
    .find(|q| *q == p)
    .expect("a known punctuation")
}

fn parse(src: &str, scope: &Scope) -> Expr {
    let mut p = Parser {
        tokens: lex(src, scope),
        at: 0,
        src,
        scope,
    };
    if p.tokens.is_empty() {
        fail(scope, src, "the expression is empty");
    }
    let e = p.or();
    if p.at < p.tokens.len() {
        fail(scope, src, format!("unexpected {:?}", p.tokens[p.at]));
    }
    e
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// GitHub's truthiness: `false`, `0`, `''`, `null` (and NaN) are falsy; everything else,
/// objects and arrays included, is truthy.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A value as text, as GitHub writes it into a string (`${{ }}` in `run:`, `env:`, `with:`):
/// `null` is empty; objects and arrays are their JSON.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => serde_json::to_string_pretty(v).unwrap(),
    }
}

/// A value as a function's string argument: objects and arrays are `Array` and `Object`.
fn coerce_string(v: &Value) -> String {
    match v {
        Value::Array(_) => "Array".into(),
        Value::Object(_) => "Object".into(),
        other => to_text(other),
    }
}

/// GitHub's number coercion for comparisons of different types.
fn coerce_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                0.0
            } else {
                parse_number(t).unwrap_or(f64::NAN)
            }
        }
        Value::Array(_) | Value::Object(_) => f64::NAN,
    }
}

/// `==` as GitHub defines it: strings ignoring case, values of different types as numbers.
/// `None` for objects and arrays, which GitHub compares by reference (the runner refuses that).
fn loose_eq(a: &Value, b: &Value) -> Option<bool> {
    Some(match (a, b) {
        (Value::String(x), Value::String(y)) => x.to_lowercase() == y.to_lowercase(),
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
            return None
        }
        _ => coerce_number(a) == coerce_number(b),
    })
}

fn compare(op: &str, a: &Value, b: &Value, scope: &Scope, src: &str) -> bool {
    let eq = || {
        loose_eq(a, b)
            .unwrap_or_else(|| fail(scope, src, "objects and arrays compare by reference"))
    };
    match op {
        "==" => eq(),
        "!=" => !eq(),
        _ => {
            let ord = match (a, b) {
                (Value::String(x), Value::String(y)) => {
                    Some(x.to_lowercase().cmp(&y.to_lowercase()))
                }
                _ => coerce_number(a).partial_cmp(&coerce_number(b)),
            };
            let Some(ord) = ord else { return false };
            match op {
                "<" => ord.is_lt(),
                "<=" => ord.is_le(),
                ">" => ord.is_gt(),
                _ => ord.is_ge(),
            }
        }
    }
}

/// A property, by GitHub's case-insensitive lookup.
fn property(v: &Value, name: &str) -> Value {
    match v {
        Value::Object(map) => map
            .get(name)
            .or_else(|| {
                map.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .cloned()
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn has_status_function(e: &Expr) -> bool {
    match e {
        Expr::Call(name, args) => {
            matches!(
                name.as_str(),
                "success" | "failure" | "always" | "cancelled"
            ) || args.iter().any(has_status_function)
        }
        Expr::Prop(a, _) | Expr::Not(a) => has_status_function(a),
        Expr::Index(a, b) | Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) => {
            has_status_function(a) || has_status_function(b)
        }
        Expr::Lit(_) | Expr::Context(_) => false,
    }
}

fn eval_expr(e: &Expr, scope: &Scope, src: &str) -> Value {
    let ev = |e: &Expr| eval_expr(e, scope, src);
    match e {
        Expr::Lit(v) => v.clone(),
        Expr::Context(name) => {
            if !CONTEXTS.contains(&name.as_str()) {
                fail(scope, src, format!("`{name}` is not a context"));
            }
            if matches!(name.as_str(), "matrix" | "strategy" | "jobs") {
                fail(scope, src, format!("the `{name}` context is not supported"));
            }
            if !scope.allowed.contains(&name.as_str()) {
                fail(
                    scope,
                    src,
                    format!(
                        "GitHub does not offer the `{name}` context here (only {})",
                        scope.allowed.join(", ")
                    ),
                );
            }
            scope.contexts.get(name).cloned().unwrap_or(Value::Null)
        }
        Expr::Prop(a, name) => property(&ev(a), name),
        Expr::Index(a, i) => {
            let v = ev(a);
            match (&v, ev(i)) {
                (Value::Array(items), index) => {
                    let n = coerce_number(&index);
                    if n.fract() == 0.0 && n >= 0.0 {
                        items.get(n as usize).cloned().unwrap_or(Value::Null)
                    } else {
                        Value::Null
                    }
                }
                (Value::Object(_), key) => property(&v, &coerce_string(&key)),
                _ => Value::Null,
            }
        }
        Expr::Not(a) => Value::Bool(!truthy(&ev(a))),
        Expr::And(a, b) => {
            let l = ev(a);
            if truthy(&l) {
                ev(b)
            } else {
                l
            }
        }
        Expr::Or(a, b) => {
            let l = ev(a);
            if truthy(&l) {
                l
            } else {
                ev(b)
            }
        }
        Expr::Cmp(op, a, b) => Value::Bool(compare(op, &ev(a), &ev(b), scope, src)),
        Expr::Call(name, args) => call(name, args, scope, src),
    }
}

fn call(name: &str, args: &[Expr], scope: &Scope, src: &str) -> Value {
    let arity = |min: usize, max: usize| {
        if args.len() < min || args.len() > max {
            fail(
                scope,
                src,
                format!(
                    "`{name}` takes {min} to {max} arguments, not {}",
                    args.len()
                ),
            );
        }
    };
    let values: Vec<Value> = args.iter().map(|a| eval_expr(a, scope, src)).collect();
    let eq = |a: &Value, b: &Value| {
        loose_eq(a, b)
            .unwrap_or_else(|| fail(scope, src, "objects and arrays compare by reference"))
    };
    match name {
        "success" | "failure" | "always" | "cancelled" => {
            arity(0, 0);
            let Some(status) = scope.status else {
                fail(scope, src, format!("`{name}()` is only available in `if:`"));
            };
            Value::Bool(match name {
                "success" => status.success,
                "failure" => status.failure,
                "always" => true,
                _ => false,
            })
        }
        "contains" => {
            arity(2, 2);
            Value::Bool(match &values[0] {
                Value::Array(items) => items.iter().any(|i| eq(i, &values[1])),
                other => coerce_string(other)
                    .to_lowercase()
                    .contains(&coerce_string(&values[1]).to_lowercase()),
            })
        }
        "startswith" | "endswith" => {
            arity(2, 2);
            let (s, part) = (
                coerce_string(&values[0]).to_lowercase(),
                coerce_string(&values[1]).to_lowercase(),
            );
            Value::Bool(if name == "startswith" {
                s.starts_with(&part)
            } else {
                s.ends_with(&part)
            })
        }
        "format" => {
            arity(1, usize::MAX);
            Value::String(format_string(
                &coerce_string(&values[0]),
                &values[1..],
                scope,
                src,
            ))
        }
        "join" => {
            arity(1, 2);
            let sep = values
                .get(1)
                .map(coerce_string)
                .unwrap_or_else(|| ",".into());
            Value::String(match &values[0] {
                Value::Array(items) => items
                    .iter()
                    .map(coerce_string)
                    .collect::<Vec<_>>()
                    .join(&sep),
                other => coerce_string(other),
            })
        }
        "tojson" => {
            arity(1, 1);
            Value::String(serde_json::to_string_pretty(&values[0]).unwrap())
        }
        "fromjson" => {
            arity(1, 1);
            let text = coerce_string(&values[0]);
            serde_json::from_str(&text)
                .unwrap_or_else(|e| fail(scope, src, format!("fromJSON of {text:?}: {e}")))
        }
        other => fail(
            scope,
            src,
            format!("`{other}()` is not a function the runner knows"),
        ),
    }
}

fn format_string(fmt: &str, args: &[Value], scope: &Scope, src: &str) -> String {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                out.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                out.push('}');
                i += 2;
            }
            '{' => {
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == '}')
                    .unwrap_or_else(|| fail(scope, src, "format: `{` without `}`"));
                let index: String = chars[i + 1..i + end].iter().collect();
                let n: usize = index
                    .parse()
                    .unwrap_or_else(|_| fail(scope, src, format!("format: `{{{index}}}`")));
                let arg = args
                    .get(n)
                    .unwrap_or_else(|| fail(scope, src, format!("format: no argument {n}")));
                out.push_str(&coerce_string(arg));
                i += end + 1;
            }
            '}' => fail(scope, src, "format: `}` without `{`"),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Evaluates one expression (the text inside `${{ }}`).
pub fn eval(src: &str, scope: &Scope) -> Value {
    let e = parse(src, scope);
    eval_expr(&e, scope, src)
}

/// Replaces each `${{ … }}` of `text` by its value as text.
pub fn interpolate(text: &str, scope: &Scope) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = find_close(after).unwrap_or_else(|| fail(scope, text, "`${{` without `}}`"));
        out.push_str(&to_text(&eval(&after[..end], scope)));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The position of the `}}` that closes an expression (not one inside a string).
fn find_close(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_string = !in_string,
            b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Evaluates an `if:` (a YAML boolean, a bare expression or one `${{ }}`), with GitHub's
/// implicit `success() &&` when it calls no status function.
pub fn eval_if(condition: &Value, scope: &Scope) -> bool {
    let src = match condition {
        Value::Bool(b) => return *b && scope.status.is_none_or(|s| s.success),
        Value::String(s) => s.trim(),
        other => panic!("`if:` in {} is {other}, not an expression", scope.place),
    };
    let inner = match src.strip_prefix("${{").and_then(|s| s.strip_suffix("}}")) {
        Some(inner) if !inner.contains("${{") => inner,
        _ if src.contains("${{") => fail(
            scope,
            src,
            "text around `${{ }}` in `if:` makes it a non-empty string, always true on GitHub",
        ),
        _ => src,
    };
    let e = parse(inner, scope);
    let value = eval_expr(&e, scope, inner);
    if has_status_function(&e) {
        truthy(&value)
    } else {
        scope.status.is_none_or(|s| s.success) && truthy(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: &[&str] = &[
        "github", "env", "vars", "secrets", "inputs", "steps", "needs", "job", "runner",
    ];

    fn contexts() -> Map<String, Value> {
        json!({
            "github": {"event_name": "pull_request", "ref": "refs/heads/main",
                       "event": {"pull_request": {"number": 7, "head": {"repo": {"full_name": "Octo/Connectors"}}}},
                       "repository": "octo/connectors"},
            "vars": {"SCALEKIT_DEV_URL": "https://dev.example.com"},
            "secrets": {"TOKEN": "s3cret"},
            "inputs": {"force": true},
            "steps": {"plan": {"outputs": {"exit_code": "2"}, "outcome": "failure", "conclusion": "failure"}},
            "env": {"NAME": "dev"},
            "needs": {"plan": {"result": "success", "outputs": {"digest": "abc"}}},
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn with<T>(status: Option<Status>, f: impl FnOnce(&Scope) -> T) -> T {
        let contexts = contexts();
        let scope = Scope {
            contexts: &contexts,
            allowed: ALL,
            status,
            place: "a test",
        };
        f(&scope)
    }

    fn ev(src: &str) -> Value {
        with(None, |s| eval(src, s))
    }

    fn cond(src: &str, success: bool, failure: bool) -> bool {
        with(Some(Status { success, failure }), |s| {
            eval_if(&Value::String(src.into()), s)
        })
    }

    #[test]
    fn literals() {
        assert_eq!(ev("'it''s'"), json!("it's"));
        assert_eq!(ev("42"), json!(42));
        assert_eq!(ev("-2.5"), json!(-2.5));
        assert_eq!(ev("0xff"), json!(255));
        assert_eq!(ev("1e3"), json!(1000));
        assert_eq!(ev("true"), json!(true));
        assert_eq!(ev("null"), Value::Null);
    }

    #[test]
    fn precedence_and_short_circuit_values() {
        // `&&` binds tighter than `||`; `!` tighter than `==`.
        assert_eq!(ev("true || false && false"), json!(true));
        assert_eq!(ev("(true || false) && false"), json!(false));
        assert_eq!(ev("!false == true"), json!(true));
        assert_eq!(ev("1 < 2 == true"), json!(true));
        // `&&` and `||` give one of their operands, not a boolean.
        assert_eq!(ev("'' || 'fallback'"), json!("fallback"));
        assert_eq!(ev("'a' && 'b'"), json!("b"));
        assert_eq!(ev("0 && 'b'"), json!(0));
        assert_eq!(
            ev("github.event_name == 'workflow_dispatch' && inputs.force"),
            json!(false)
        );
    }

    #[test]
    fn comparisons_as_github_makes_them() {
        // Strings ignore case.
        assert_eq!(ev("'ABC' == 'abc'"), json!(true));
        assert_eq!(
            ev("github.event.pull_request.head.repo.full_name == github.repository"),
            json!(true)
        );
        assert_eq!(ev("'b' > 'A'"), json!(true));
        // Different types compare as numbers.
        assert_eq!(ev("'2' == 2"), json!(true));
        assert_eq!(ev("steps.plan.outputs.exit_code == 2"), json!(true));
        assert_eq!(ev("'' == 0"), json!(true));
        assert_eq!(ev("null == 0"), json!(true));
        assert_eq!(ev("null == false"), json!(true));
        assert_eq!(ev("true == 1"), json!(true));
        assert_eq!(ev("'true' == true"), json!(false));
        assert_eq!(ev("'abc' == 0"), json!(false));
        assert_eq!(ev("'abc' != 0"), json!(true));
        assert_eq!(ev("1.0 == 1"), json!(true));
        assert_eq!(ev("'0x10' == 16"), json!(true));
    }

    #[test]
    #[should_panic(expected = "compare by reference")]
    fn comparing_objects_panics() {
        ev("github.event == github.event");
    }

    #[test]
    fn contexts_and_properties() {
        assert_eq!(
            ev("vars.SCALEKIT_DEV_URL"),
            json!("https://dev.example.com")
        );
        // Property names ignore case; undefined ones are null, as are properties of null.
        assert_eq!(ev("GITHUB.Event_Name"), json!("pull_request"));
        assert_eq!(ev("vars.NOT_SET"), Value::Null);
        assert_eq!(ev("github.event.nothing.deeper"), Value::Null);
        assert_eq!(ev("github['event_name']"), json!("pull_request"));
        assert_eq!(ev("needs.plan.outputs.digest"), json!("abc"));
        assert_eq!(ev("steps.plan.outcome"), json!("failure"));
        assert_eq!(ev("steps.other.outputs.x"), Value::Null);
    }

    #[test]
    fn functions() {
        assert_eq!(ev("contains('Hello world', 'WORLD')"), json!(true));
        assert_eq!(ev("contains(fromJSON('[\"a\",\"b\"]'), 'B')"), json!(true));
        assert_eq!(
            ev("startsWith('refs/heads/main', 'refs/HEADS/')"),
            json!(true)
        );
        assert_eq!(ev("endsWith('plan-dev.json', '.json')"), json!(true));
        assert_eq!(
            ev("format('{0}/{1} {{x}}', github.repository, 7)"),
            json!("octo/connectors/7 {x}")
        );
        assert_eq!(ev("join(fromJSON('[1,2]'), '-')"), json!("1-2"));
        assert_eq!(ev("fromJSON('{\"a\": [1]}').a[0]"), json!(1));
        assert_eq!(ev("toJSON(inputs)"), json!("{\n  \"force\": true\n}"));
    }

    #[test]
    fn status_functions() {
        // The default is `success()`.
        assert!(cond("true", true, false));
        assert!(!cond("true", false, true));
        // `failure()` after a failed step, `always()` whatever happened.
        assert!(cond("failure()", false, true));
        assert!(!cond("failure()", true, false));
        assert!(cond("always()", false, true));
        assert!(cond(
            "always() && steps.plan.outcome == 'failure'",
            false,
            true
        ));
        assert!(!cond("cancelled()", false, true));
        assert!(!cond("success()", false, true));
        // `${{ }}` around the whole condition is the same expression.
        assert!(cond("${{ failure() }}", false, true));
        assert!(!cond("${{ github.event_name == 'push' }}", true, false));
        assert!(with(
            Some(Status {
                success: false,
                failure: true
            }),
            |s| { !eval_if(&json!(true), s) }
        ));
    }

    #[test]
    fn interpolation() {
        with(None, |s| {
            assert_eq!(
                interpolate(
                    "pr ${{ github.event.pull_request.number }}: ${{ vars.NOPE }}.",
                    s
                ),
                "pr 7: ."
            );
            assert_eq!(interpolate("${{ '}}' }}", s), "}}");
            assert_eq!(interpolate("${{ inputs.force }}", s), "true");
        });
    }

    #[test]
    #[should_panic(expected = "`hashfiles()` is not a function the runner knows")]
    fn an_unknown_function_panics() {
        ev("hashFiles('**/x')");
    }

    #[test]
    #[should_panic(expected = "`secret` is not a context")]
    fn an_unknown_context_panics() {
        ev("secret.TOKEN");
    }

    #[test]
    #[should_panic(expected = "the `matrix` context is not supported")]
    fn matrix_panics() {
        ev("matrix.os");
    }

    #[test]
    #[should_panic(expected = "does not offer the `secrets` context here")]
    fn a_context_the_place_lacks_panics() {
        let contexts = contexts();
        let scope = Scope {
            contexts: &contexts,
            allowed: &["github", "needs", "vars", "inputs"],
            status: Some(Status {
                success: true,
                failure: false,
            }),
            place: "jobs.plan.if",
        };
        eval_if(&json!("secrets.TOKEN != ''"), &scope);
    }

    #[test]
    #[should_panic(expected = "only available in `if:`")]
    fn status_functions_outside_if_panic() {
        ev("always()");
    }

    #[test]
    #[should_panic(expected = "always true on GitHub")]
    fn text_around_an_expression_in_if_panics() {
        cond("${{ true }} && ${{ false }}", true, false);
    }

    #[test]
    #[should_panic(expected = "object filters")]
    fn object_filters_panic() {
        ev("needs.*.result");
    }

    #[test]
    #[should_panic(expected = "expected `)`")]
    fn a_syntax_error_panics() {
        ev("(github.ref == 'x'");
    }
}
