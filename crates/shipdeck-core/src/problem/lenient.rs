//! Reading a file that does not read: serde's own types walked over the
//! positioned tree, every problem noted where it is, and a neutral value
//! standing in for what cannot be read, so the walk goes on to the next.
//!
//! The types' derived code says what it wants (a struct's fields, an
//! enum's variants), so nothing here repeats a file format: an unknown key
//! is one a struct does not name, a bad value one its type does not take.
//! A value the types refuse outright (a missing key, a custom check) is
//! noted and the walk tried again with a stand-in there, until it goes
//! through.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::value::{MapDeserializer, StrDeserializer, UnitDeserializer};
use serde::de::{self, DeserializeSeed, Visitor};

use super::Problem;
use super::tree::{Kind, Node, Pos, Tree};

/// How `Spanned<T>` asks for its position (serde-saphyr's protocol).
const SPANNED: &str = "__yaml_spanned";
const SPANNED_MARKER: &str = "__serde_saphyr_private_spanned";
/// Tries of the walk, each after a stand-in more.
const MAX_PASSES: usize = 400;

/// What cannot be read, and what stands in for it.
#[derive(Debug, Default)]
pub(crate) struct Repairs {
    /// Nodes read as a neutral value of whatever type wants them.
    pub(crate) stand_in: HashSet<usize>,
    /// List elements left out (nothing of their type can stand in).
    pub(crate) dropped: HashSet<usize>,
    /// Maps given a stand-in for a key they lack.
    pub(crate) supplied: HashMap<usize, Vec<&'static str>>,
    /// Keys a misspelt key was taken for, by map: not reported missing too.
    suggested: RefCell<HashSet<(usize, &'static str)>>,
}

/// An error in the walk, and the node it came from.
#[derive(Debug)]
pub(crate) struct Error {
    message: String,
    node: Option<usize>,
    missing: Option<&'static str>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Error {
        Error {
            message: message.to_string(),
            node: None,
            missing: None,
        }
    }

    fn missing_field(field: &'static str) -> Error {
        Error {
            message: format!("missing field `{field}`"),
            node: None,
            missing: Some(field),
        }
    }
}

/// One walk's shared state.
struct Cx<'t> {
    tree: &'t Tree,
    repairs: &'t Repairs,
    found: RefCell<Vec<Problem>>,
}

impl Cx<'_> {
    fn note(&self, at: Pos, message: String) {
        let problem = Problem {
            line: at.line,
            column: at.column,
            message,
        };
        let mut found = self.found.borrow_mut();
        if !found.contains(&problem) {
            found.push(problem);
        }
    }
}

/// Walks `tree` as a `T`: the value (with stand-ins where the file has
/// nothing that fits, `None` if not even that), every problem met, and the
/// repairs made.
pub(crate) fn walk<T: de::DeserializeOwned>(tree: &Tree) -> (Option<T>, Vec<Problem>, Repairs) {
    let mut repairs = Repairs::default();
    let mut problems: Vec<Problem> = Vec::new();
    for _ in 0..MAX_PASSES {
        let cx = Cx {
            tree,
            repairs: &repairs,
            found: RefCell::new(Vec::new()),
        };
        let result = T::deserialize(De::new(&tree.root, &cx));
        for p in cx.found.take() {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
        match result {
            Ok(value) => return (Some(value), problems, repairs),
            Err(err) => {
                let Some(id) = err.node else { break };
                match mend(tree, &mut repairs, id, &err) {
                    Some(Some(problem)) if !problems.contains(&problem) => problems.push(problem),
                    Some(_) => {}
                    None => break,
                }
            }
        }
    }
    (None, problems, repairs)
}

/// Mends what `err` at node `id` broke, for the next walk: the problem to
/// report, if there is a new one; `None` when nothing more can be mended.
fn mend(tree: &Tree, repairs: &mut Repairs, id: usize, err: &Error) -> Option<Option<Problem>> {
    let place = tree.places[id];
    let at = |message: String| Problem {
        line: place.at.line,
        column: place.at.column,
        message,
    };
    if let Some(field) = err.missing {
        let supplied = repairs.supplied.entry(id).or_default();
        if !supplied.contains(&field) {
            supplied.push(field);
            let misspelt = repairs.suggested.borrow().contains(&(id, field));
            let said = !place.cut && !misspelt;
            return Some(said.then(|| at(err.message.clone())));
        }
    } else if !repairs.stand_in.contains(&id) {
        repairs.stand_in.insert(id);
        return Some(Some(at(plain(&err.message))));
    }
    // What stands in here will not do either: the nearest thing that can
    // go without it does (a list leaves the element out).
    let mut node = id;
    loop {
        let place = tree.places[node];
        let parent = place.parent?;
        if place.in_seq {
            repairs.dropped.insert(node);
            return Some(None);
        }
        if repairs.stand_in.insert(parent) {
            return Some(None);
        }
        node = parent;
    }
}

/// serde's words for people: what was expected, without Rust's types.
fn plain(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((_, expected)) = rest.split_once(", expected ")
        {
            return format!("expected {expected} here");
        }
    }
    message.to_string()
}

/// A boolean as the strict reader takes one (YAML 1.1's words too).
fn yaml_bool(text: &str) -> Option<bool> {
    let is = |words: [&str; 4]| words.iter().any(|w| text.trim().eq_ignore_ascii_case(w));
    if is(["true", "yes", "y", "on"]) {
        Some(true)
    } else if is(["false", "no", "n", "off"]) {
        Some(false)
    } else {
        None
    }
}

/// The closest of `names` to a misspelling, if one is close.
fn closest(word: &str, names: &[&'static str]) -> Option<&'static str> {
    let distance = |a: &str, b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut diagonal = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let above = row[j + 1];
                row[j + 1] = (above + 1)
                    .min(row[j] + 1)
                    .min(diagonal + usize::from(ca != *cb));
                diagonal = above;
            }
        }
        row[b.len()]
    };
    names
        .iter()
        .map(|n| (distance(word, n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4) && *d < n.len())
        .min()
        .map(|(_, n)| n)
}

/// The deserializer over one node: the file's value there, or a stand-in.
#[derive(Clone, Copy)]
struct De<'a> {
    node: &'a Node,
    cx: &'a Cx<'a>,
    stand_in: bool,
}

impl<'a> De<'a> {
    fn new(node: &'a Node, cx: &'a Cx<'a>) -> De<'a> {
        let stand_in = cx.repairs.stand_in.contains(&node.id) || matches!(node.kind, Kind::Missing);
        De { node, cx, stand_in }
    }

    /// The same node, standing in (a neutral value of any type).
    fn standing(&self) -> De<'a> {
        De {
            node: self.node,
            cx: self.cx,
            stand_in: true,
        }
    }

    /// Notes a problem with this node's value, unless it stands in, or
    /// the file's syntax error cut it short (it is not what was meant).
    fn note(&self, message: impl Into<String>) {
        if !self.stand_in && !self.cx.tree.places[self.node.id].cut {
            self.cx.note(self.node.at, message.into());
        }
    }

    /// An error from below this node is this node's when nobody claimed it.
    fn own<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        result.map_err(|mut err| {
            err.node.get_or_insert(self.node.id);
            err
        })
    }

    /// The text of a scalar that is read as it is written.
    fn scalar(&self) -> Option<(&'a str, bool)> {
        match &self.node.kind {
            Kind::Scalar { text, plain } if !self.stand_in => Some((text.as_str(), *plain)),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        self.stand_in
            || matches!(self.scalar(), Some((t, true)) if matches!(t, "" | "~" | "null" | "Null" | "NULL"))
    }

    fn integer(&self) -> Option<i128> {
        let text = self.scalar()?.0.trim().replace('_', "");
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(&text)),
        };
        let value = match digits.get(..2) {
            Some("0x") => i128::from_str_radix(&digits[2..], 16).ok()?,
            Some("0o") => i128::from_str_radix(&digits[2..], 8).ok()?,
            Some("0b") => i128::from_str_radix(&digits[2..], 2).ok()?,
            _ => digits.parse().ok()?,
        };
        Some(if negative { -value } else { value })
    }

    fn float(&self) -> Option<f64> {
        let text = self.scalar()?.0.trim();
        match text.to_ascii_lowercase().as_str() {
            ".inf" | "+.inf" => Some(f64::INFINITY),
            "-.inf" => Some(f64::NEG_INFINITY),
            ".nan" => Some(f64::NAN),
            other => other.replace('_', "").parse().ok(),
        }
    }

    fn whole<T: TryFrom<i128> + Default>(&self) -> T {
        if self.stand_in {
            return T::default();
        }
        match self.integer().and_then(|v| T::try_from(v).ok()) {
            Some(v) => v,
            None => {
                self.note("expected a whole number here");
                T::default()
            }
        }
    }

    fn seq_items(&self) -> Vec<&'a Node> {
        match &self.node.kind {
            Kind::Seq(items) if !self.stand_in => items
                .iter()
                .filter(|n| !self.cx.repairs.dropped.contains(&n.id))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A map's entries as a struct with `fields` takes them: unknown and
    /// repeated keys noted and left out, stand-ins for keys it lacks.
    fn fields(&self, fields: &'static [&'static str]) -> Entries<'a> {
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        if let Kind::Map(pairs) = &self.node.kind {
            for (key, value) in pairs {
                let name = match &key.kind {
                    Kind::Scalar { text, .. } => text.as_str(),
                    _ => "",
                };
                if name == "<<" {
                    continue;
                }
                if !fields.contains(&name) {
                    self.unknown(key, name, fields);
                } else if !seen.insert(name) {
                    self.cx
                        .note(key.at, format!("`{name}` is given twice in this map"));
                } else {
                    entries.push(Entry::Node(key, value));
                }
            }
        }
        self.supplied(&mut entries);
        Entries::new(entries, self)
    }

    fn unknown(&self, key: &Node, name: &str, fields: &'static [&'static str]) {
        let message = match closest(name, fields) {
            Some(meant) => {
                let mut suggested = self.cx.repairs.suggested.borrow_mut();
                suggested.insert((self.node.id, meant));
                format!("unknown field `{name}`: did you mean `{meant}`?")
            }
            None => format!("unknown field `{name}` (this takes {})", fields.join(", ")),
        };
        self.cx.note(key.at, message);
    }

    fn supplied(&self, entries: &mut Vec<Entry<'a>>) {
        if let Some(fields) = self.cx.repairs.supplied.get(&self.node.id) {
            entries.extend(fields.iter().map(|f| Entry::StandIn(f)));
        }
    }

    fn entries(&self) -> Entries<'a> {
        let mut entries = Vec::new();
        if let Kind::Map(pairs) = &self.node.kind
            && !self.stand_in
        {
            entries.extend(pairs.iter().map(|(k, v)| Entry::Node(k, v)));
        }
        self.supplied(&mut entries);
        Entries::new(entries, self)
    }
}

/// One entry of a map as it is walked.
enum Entry<'a> {
    Node(&'a Node, &'a Node),
    /// A key the map lacks, a stand-in for its value.
    StandIn(&'static str),
}

struct Entries<'a> {
    entries: std::vec::IntoIter<Entry<'a>>,
    /// The value of the entry whose key was just read.
    value: Option<Entry<'a>>,
    owner: De<'a>,
}

impl<'a> Entries<'a> {
    fn new(entries: Vec<Entry<'a>>, owner: &De<'a>) -> Entries<'a> {
        Entries {
            entries: entries.into_iter(),
            value: None,
            owner: *owner,
        }
    }
}

impl<'de> de::MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        let key = match &entry {
            Entry::Node(key, _) => seed.deserialize(De::new(key, self.owner.cx)),
            Entry::StandIn(name) => seed.deserialize(StrDeserializer::<Error>::new(name)),
        };
        self.value = Some(entry);
        self.owner.own(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(Entry::Node(_, value)) => seed.deserialize(De::new(value, self.owner.cx)),
            _ => self.owner.own(seed.deserialize(self.owner.standing())),
        }
    }
}

struct Items<'a> {
    items: std::vec::IntoIter<&'a Node>,
    cx: &'a Cx<'a>,
}

impl<'de> de::SeqAccess<'de> for Items<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            Some(item) => seed.deserialize(De::new(item, self.cx)).map(Some),
            None => Ok(None),
        }
    }
}

/// An enum's variant and what it holds.
struct Variant<'a> {
    name: &'a str,
    content: De<'a>,
}

impl<'de, 'a> de::EnumAccess<'de> for Variant<'a> {
    type Error = Error;
    type Variant = De<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, De<'a>), Error> {
        let name = seed.deserialize(StrDeserializer::<Error>::new(self.name))?;
        Ok((name, self.content))
    }
}

impl<'de> de::VariantAccess<'de> for De<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

/// `Spanned<T>`: where the value is, then the value.
struct SpannedDe<'a>(De<'a>);

struct SpannedFields<'a> {
    de: Option<De<'a>>,
    at: Pos,
    step: usize,
}

impl<'de> de::MapAccess<'de> for SpannedFields<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let key = match self.step {
            0 => SPANNED_MARKER,
            1 => "value",
            2 => "referenced",
            3 => "defined",
            _ => return Ok(None),
        };
        seed.deserialize(StrDeserializer::<Error>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        self.step += 1;
        let at = self.at;
        match self.step {
            1 => seed.deserialize(UnitDeserializer::<Error>::new()),
            2 => match self.de.take() {
                Some(de) => seed.deserialize(de),
                None => Err(de::Error::custom("a value read twice")),
            },
            _ => {
                let at = [("line", at.line), ("column", at.column)];
                seed.deserialize(MapDeserializer::<_, Error>::new(at.into_iter()))
            }
        }
    }
}

impl<'de> de::Deserializer<'de> for SpannedDe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let at = self.0.node.at;
        visitor.visit_map(SpannedFields {
            de: Some(self.0),
            at,
            step: 0,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

macro_rules! whole_numbers {
    ($($method:ident $visit:ident $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let value: $t = self.whole();
            self.own(visitor.$visit(value))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for De<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match (&self.node.kind, self.stand_in) {
            (_, true) => visitor.visit_str(""),
            (Kind::Seq(_), _) => self.deserialize_seq(visitor),
            (Kind::Map(_), _) => visitor.visit_map(self.entries()),
            (Kind::Scalar { text, plain: false }, _) => visitor.visit_str(text),
            _ if self.is_null() => visitor.visit_unit(),
            (Kind::Scalar { text, .. }, _) => match (yaml_bool(text), self.integer(), self.float())
            {
                (Some(v), _, _) => visitor.visit_bool(v),
                (_, Some(v), _) if i64::try_from(v).is_ok() => visitor.visit_i64(v as i64),
                (_, Some(v), _) if u64::try_from(v).is_ok() => visitor.visit_u64(v as u64),
                (_, _, Some(v)) => visitor.visit_f64(v),
                _ => visitor.visit_str(text),
            },
            (Kind::Missing, _) => visitor.visit_unit(),
        };
        self.own(result)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.scalar().and_then(|(text, _)| yaml_bool(text)) {
            _ if self.stand_in => false,
            Some(value) => value,
            None => {
                self.note("expected true or false here");
                false
            }
        };
        self.own(visitor.visit_bool(value))
    }

    whole_numbers! {
        deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16,
        deserialize_i32 visit_i32 i32, deserialize_i64 visit_i64 i64,
        deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.float() {
            _ if self.stand_in => 0.0,
            Some(v) => v,
            None => {
                self.note("expected a number here");
                0.0
            }
        };
        self.own(visitor.visit_f64(value))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let mut chars = self.scalar().map(|(t, _)| t.chars());
        let one = chars
            .as_mut()
            .and_then(|c| c.next().filter(|_| c.next().is_none()));
        if one.is_none() {
            self.note("expected one character here");
        }
        self.own(visitor.visit_char(one.unwrap_or(' ')))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let text = match self.scalar() {
            _ if self.stand_in => "",
            _ if self.is_null() => {
                self.note("expected a value here, and there is none");
                ""
            }
            Some((text, _)) => text,
            None => {
                self.note("expected a plain value (text) here");
                ""
            }
        };
        self.own(visitor.visit_str(text))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_null() {
            self.own(visitor.visit_none())
        } else {
            let node = self.node.id;
            visitor.visit_some(self).map_err(|mut err| {
                err.node.get_or_insert(node);
                err
            })
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.own(visitor.visit_unit())
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.own(visitor.visit_unit())
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let node = self.node.id;
        let result = if name == SPANNED {
            visitor.visit_newtype_struct(SpannedDe(self))
        } else {
            visitor.visit_newtype_struct(self)
        };
        result.map_err(|mut err| {
            err.node.get_or_insert(node);
            err
        })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if !self.stand_in && !matches!(self.node.kind, Kind::Seq(_)) {
            self.note("expected a list here");
        }
        let items = Items {
            items: self.seq_items().into_iter(),
            cx: self.cx,
        };
        self.own(visitor.visit_seq(items))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if !self.stand_in && !matches!(self.node.kind, Kind::Map(_)) {
            self.note("expected keys and values (key: value) here");
        }
        let entries = self.entries();
        self.own(visitor.visit_map(entries))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let entries = match &self.node.kind {
            _ if self.stand_in => {
                let all = fields.iter().map(|f| Entry::StandIn(f)).collect();
                Entries::new(all, &self)
            }
            Kind::Map(_) => self.fields(fields),
            _ => {
                self.note("expected keys and values (key: value) here");
                let all = fields.iter().map(|f| Entry::StandIn(f)).collect();
                Entries::new(all, &self.standing())
            }
        };
        self.own(visitor.visit_map(entries))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let first = variants.first().copied().unwrap_or("");
        let chosen = match (&self.node.kind, self.stand_in) {
            (_, true) => None,
            (Kind::Scalar { text, .. }, _) => Some((text.as_str(), self.node, None)),
            (Kind::Map(pairs), _) if pairs.len() == 1 => {
                let (key, value) = &pairs[0];
                match &key.kind {
                    Kind::Scalar { text, .. } => Some((text.as_str(), key, Some(value))),
                    _ => None,
                }
            }
            _ => {
                self.note(format!("expected one of {} here", variants.join(", ")));
                None
            }
        };
        let variant = match chosen {
            Some((name, _, content)) if variants.contains(&name) => Variant {
                name,
                content: match content {
                    Some(node) => De::new(node, self.cx),
                    None => self.standing(),
                },
            },
            Some((name, at, _)) => {
                let message = match closest(name, variants) {
                    Some(meant) => format!("unknown value `{name}`: did you mean `{meant}`?"),
                    None => format!("unknown value `{name}` (one of {})", variants.join(", ")),
                };
                self.cx.note(at.at, message);
                Variant {
                    name: first,
                    content: self.standing(),
                }
            }
            None => Variant {
                name: first,
                content: self.standing(),
            },
        };
        self.own(visitor.visit_enum(variant))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.own(visitor.visit_unit())
    }
}
