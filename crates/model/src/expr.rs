//! Guard expressions of workflow transitions, as DCWorkflow's guards have: a condition
//! over the item's values and its container's, parsed when the workflow is loaded.
//!
//! ```text
//! expr  := or
//! or    := and ("or" and)*
//! and   := not ("and" not)*
//! not   := "not" not | cmp
//! cmp   := value (("==" | "!=" | "<" | "<=" | ">" | ">=") value)?
//! value := path | 'text' | "text" | number | true | false | null | "(" expr ")"
//! path  := ("item" | "container") "." name ("." name)*
//! ```
//!
//! A path names a value of the item (a field, or `title`, `description`, `id`,
//! `review_state`, `language`, `type`) or of its container; what is missing is null. A
//! rich-text value reads as its text. Alone, a value holds when it is not null, false,
//! zero or empty. `<` and the like compare numbers with numbers and texts with texts;
//! otherwise they do not hold.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Box<Expr>, Op, Box<Expr>),
    /// `item.…` (false) or `container.…` (true), then the names.
    Path(bool, Vec<String>),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why an expression does not parse, with the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at character {at} of {text:?}")]
pub struct ExprError {
    pub message: String,
    pub at: usize,
    /// The expression as written.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Text(String),
    Number(f64),
    Op(Op),
    Dot,
    Open,
    Close,
}

fn tokens(src: &str) -> Result<Vec<(usize, Token)>, ExprError> {
    let err = |message: &str, at: usize| ExprError { message: message.into(), at, text: src.into() };
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let next = chars.get(i + 1).map(|(_, c)| *c);
        match c {
            c if c.is_whitespace() => i += 1,
            '.' => {
                out.push((at, Token::Dot));
                i += 1;
            }
            '(' => {
                out.push((at, Token::Open));
                i += 1;
            }
            ')' => {
                out.push((at, Token::Close));
                i += 1;
            }
            '=' | '!' | '<' | '>' => {
                let (op, len) = match (c, next) {
                    ('=', Some('=')) => (Op::Eq, 2),
                    ('!', Some('=')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', _) => (Op::Gt, 1),
                    _ => return Err(err("expected == or !=", at)),
                };
                out.push((at, Token::Op(op)));
                i += len;
            }
            '\'' | '"' => {
                let mut j = i + 1;
                let mut text = String::new();
                loop {
                    match chars.get(j) {
                        None => return Err(err("text not closed", at)),
                        Some((_, q)) if *q == c => break,
                        Some((_, ch)) => text.push(*ch),
                    }
                    j += 1;
                }
                out.push((at, Token::Text(text)));
                i = j + 1;
            }
            c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let mut j = i + 1;
                while chars.get(j).is_some_and(|(_, d)| d.is_ascii_digit() || *d == '.') {
                    j += 1;
                }
                let end = chars.get(j).map(|(p, _)| *p).unwrap_or(src.len());
                let n: f64 = src[at..end].parse().map_err(|_| err("not a number", at))?;
                out.push((at, Token::Number(n)));
                i = j;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while chars.get(j).is_some_and(|(_, d)| d.is_alphanumeric() || *d == '_' || *d == '-') {
                    j += 1;
                }
                let end = chars.get(j).map(|(p, _)| *p).unwrap_or(src.len());
                out.push((at, Token::Name(src[at..end].to_owned())));
                i = j;
            }
            _ => return Err(err("unexpected character", at)),
        }
    }
    Ok(out)
}

/// Deepest nesting of `not` and parentheses accepted (a site administrator's file must
/// not be able to exhaust the stack).
const MAX_DEPTH: usize = 32;
/// Longest expression accepted, in words and signs.
const MAX_TOKENS: usize = 400;

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(usize, Token)>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> ExprError {
        let at = self.toks.get(self.pos).map(|(a, _)| *a).unwrap_or(self.src.len());
        ExprError { message: message.into(), at, text: self.src.into() }
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Name(n)) if n == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.keyword("not") {
            let inner = self.nested(Self::not)?;
            Ok(Expr::Not(Box::new(inner)))
        } else {
            self.cmp()
        }
    }

    /// Parses a nested part, refusing nesting past [`MAX_DEPTH`].
    fn nested(&mut self, part: fn(&mut Self) -> Result<Expr, ExprError>) -> Result<Expr, ExprError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.depth += 1;
        let e = part(self);
        self.depth -= 1;
        e
    }

    fn cmp(&mut self) -> Result<Expr, ExprError> {
        let left = self.value()?;
        if let Some(Token::Op(op)) = self.peek().cloned() {
            self.pos += 1;
            let right = self.value()?;
            return Ok(Expr::Compare(Box::new(left), op, Box::new(right)));
        }
        Ok(left)
    }

    fn value(&mut self) -> Result<Expr, ExprError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(self.err("expected a value"));
        };
        self.pos += 1;
        match tok {
            Token::Text(t) => Ok(Expr::Literal(Value::String(t))),
            Token::Number(n) => {
                Ok(Expr::Literal(serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null)))
            }
            Token::Open => {
                let e = self.nested(Self::or)?;
                if self.peek() != Some(&Token::Close) {
                    return Err(self.err("expected )"));
                }
                self.pos += 1;
                Ok(e)
            }
            Token::Name(n) => match n.as_str() {
                "true" => Ok(Expr::Literal(Value::Bool(true))),
                "false" => Ok(Expr::Literal(Value::Bool(false))),
                "null" => Ok(Expr::Literal(Value::Null)),
                "item" | "container" => {
                    let mut names = Vec::new();
                    while self.peek() == Some(&Token::Dot) {
                        self.pos += 1;
                        match self.peek().cloned() {
                            Some(Token::Name(name)) => {
                                names.push(name);
                                self.pos += 1;
                            }
                            _ => return Err(self.err("expected a name after .")),
                        }
                    }
                    if names.is_empty() {
                        self.pos -= 1;
                        return Err(self.err("expected item.<name> or container.<name>"));
                    }
                    Ok(Expr::Path(n == "container", names))
                }
                _ => {
                    self.pos -= 1;
                    Err(self.err("expected item.<name>, container.<name> or a value"))
                }
            },
            _ => {
                self.pos -= 1;
                Err(self.err("expected a value"))
            }
        }
    }
}

impl Expr {
    pub fn parse(src: &str) -> Result<Expr, ExprError> {
        let toks = tokens(src)?;
        // Chains of `and`/`or` nest too when evaluated: a bounded length bounds them.
        if toks.len() > MAX_TOKENS {
            return Err(ExprError {
                message: format!("longer than {MAX_TOKENS} words and signs"),
                at: 0,
                text: src.into(),
            });
        }
        let mut p = Parser { src, toks, pos: 0, depth: 0 };
        let e = p.or()?;
        if p.pos != p.toks.len() {
            return Err(p.err("unexpected text after the expression"));
        }
        Ok(e)
    }

    /// Whether the expression holds for an item's values and its container's (None
    /// for the site root's items, whose container has no values).
    pub fn holds(&self, item: &Map<String, Value>, container: Option<&Map<String, Value>>) -> bool {
        truthy(&self.eval(item, container))
    }

    fn eval(&self, item: &Map<String, Value>, container: Option<&Map<String, Value>>) -> Value {
        match self {
            Expr::Or(a, b) => Value::Bool(a.holds(item, container) || b.holds(item, container)),
            Expr::And(a, b) => Value::Bool(a.holds(item, container) && b.holds(item, container)),
            Expr::Not(a) => Value::Bool(!a.holds(item, container)),
            Expr::Literal(v) => v.clone(),
            Expr::Path(of_container, names) => {
                let root = if *of_container { container } else { Some(item) };
                let mut v = match (root, names.split_first()) {
                    (Some(m), Some((first, _))) => m.get(first).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                for n in names.iter().skip(1) {
                    v = v.get(n).cloned().unwrap_or(Value::Null);
                }
                // A rich-text value reads as its text.
                match v.get("data") {
                    Some(Value::String(s)) if v.get("content-type").is_some() => Value::String(s.clone()),
                    _ => v,
                }
            }
            Expr::Compare(a, op, b) => {
                let (x, y) = (a.eval(item, container), b.eval(item, container));
                let order = match (&x, &y) {
                    (Value::Number(m), Value::Number(n)) => {
                        m.as_f64().zip(n.as_f64()).and_then(|(m, n)| m.partial_cmp(&n))
                    }
                    (Value::String(s), Value::String(t)) => Some(s.cmp(t)),
                    _ => None,
                };
                let equal = order.map(|o| o == Ordering::Equal).unwrap_or(x == y);
                Value::Bool(match op {
                    Op::Eq => equal,
                    Op::Ne => !equal,
                    Op::Lt => order == Some(Ordering::Less),
                    Op::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
                    Op::Gt => order == Some(Ordering::Greater),
                    Op::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
                })
            }
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn holds(src: &str, item: Value, container: Option<Value>) -> bool {
        let e = Expr::parse(src).unwrap_or_else(|e| panic!("{e}"));
        e.holds(item.as_object().unwrap(), container.as_ref().and_then(Value::as_object))
    }

    #[test]
    fn expressions_read_the_item_and_its_container() {
        let item = json!({
            "title": "Travaux",
            "answer": {"content-type": "text/html", "data": "<p>Oui</p>"},
            "empty": {"content-type": "text/html", "data": ""},
            "amount": 1500,
            "district": "Jambes",
        });
        let folder = json!({"review_state": "published"});
        assert!(holds("item.answer", item.clone(), None));
        assert!(!holds("item.empty", item.clone(), None), "an empty rich text does not hold");
        assert!(!holds("item.missing", item.clone(), None));
        assert!(holds("not item.missing and item.amount >= 1000", item.clone(), None));
        assert!(holds("item.amount < 2000.5 and item.amount != 0", item.clone(), None));
        assert!(holds("item.district == 'Jambes' or item.district == \"Namur\"", item.clone(), None));
        assert!(holds("container.review_state == 'published'", item.clone(), Some(folder.clone())));
        assert!(!holds("container.review_state == 'published'", item.clone(), None), "the root has no container");
        assert!(holds("(item.amount > 2000 or item.title == 'Travaux') and not (item.amount < 0)", item.clone(), None));
        assert!(!holds("item.title > 3", item.clone(), None), "a text and a number do not compare");
        assert!(holds("item.missing == null", item, None));
    }

    #[test]
    fn bad_expressions_say_where() {
        for (src, message, at) in [
            ("item.", "expected a name after .", 5),
            ("item.a ==", "expected a value", 9),
            ("user.roles", "expected item.<name>, container.<name> or a value", 0),
            ("item.a = 'x'", "expected == or !=", 7),
            ("item.a == 'x", "text not closed", 10),
            ("(item.a", "expected )", 7),
            ("item.a item.b", "unexpected text after the expression", 7),
            ("item", "expected item.<name> or container.<name>", 0),
            ("item.a @", "unexpected character", 7),
        ] {
            let e = Expr::parse(src).unwrap_err();
            assert_eq!((e.message.as_str(), e.at), (message, at), "{src}");
        }
        let deep = format!("{}item.a{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(Expr::parse(&deep).unwrap_err().message, "nested too deeply");
        assert_eq!(Expr::parse(&format!("{}item.a", "not ".repeat(40))).unwrap_err().message, "nested too deeply");
        let huge = format!("{}item.a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(Expr::parse(&huge).unwrap_err().message.starts_with("longer than"));
        assert!(Expr::parse(&format!("{}item.a{}", "(".repeat(30), ")".repeat(30))).is_ok());
        let long = vec!["item.a"; 300].join(" or ");
        assert!(Expr::parse(&long).unwrap_err().message.starts_with("longer than 400"));
    }
}
