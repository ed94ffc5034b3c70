//! A YAML file as a tree of positioned nodes, read as far as it goes: a
//! syntax error ends the tree where it stands, every open list and map
//! closed there and marked cut, so what came before can still be checked.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle};

/// A place in the file: line and column, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Pos {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

impl Pos {
    fn of(marker: &Marker) -> Pos {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Pos {
            line: clamp(marker.line()).max(1),
            column: clamp(marker.col() + 1),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// Nothing: the file was cut off where this value would be.
    Missing,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) id: usize,
    pub(crate) at: Pos,
    pub(crate) kind: Kind,
}

/// Where a node sits: what holds it, and the span it covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    pub(crate) parent: Option<usize>,
    /// Its parent is a list (an element can be left out).
    pub(crate) in_seq: bool,
    pub(crate) at: Pos,
    pub(crate) end: Pos,
    /// A list or map the file's syntax error left unfinished.
    pub(crate) cut: bool,
}

/// The file as far as it reads.
#[derive(Debug)]
pub(crate) struct Tree {
    pub(crate) root: Node,
    /// By node id.
    pub(crate) places: Vec<Place>,
    /// Where a syntax error ended the reading.
    pub(crate) cut_at: Option<Pos>,
}

/// Deeper than this is not a file a person wrote; the reader gives up.
const MAX_DEPTH: usize = 64;
/// More nodes than this (aliases included) and the reader gives up.
const MAX_NODES: usize = 50_000;

/// A list or map being read.
struct Open {
    id: usize,
    at: Pos,
    map: bool,
    anchor: usize,
    items: Vec<Node>,
}

struct Builder {
    stack: Vec<Open>,
    places: Vec<Place>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
}

impl Builder {
    /// A new node's id, placed under the list or map being read.
    fn place(&mut self, at: Pos) -> Option<usize> {
        if self.places.len() >= MAX_NODES {
            return None;
        }
        let top = self.stack.last();
        self.places.push(Place {
            parent: top.map(|o| o.id),
            in_seq: top.is_some_and(|o| !o.map),
            at,
            end: at,
            cut: false,
        });
        Some(self.places.len() - 1)
    }

    /// A node read whole goes into what holds it.
    fn done(&mut self, node: Node, anchor: usize, end: Pos) {
        self.places[node.id].end = end;
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(open) => open.items.push(node),
            None => self.root = self.root.take().or(Some(node)),
        }
    }

    /// Closes the list or map on top; a map's key without its value gets
    /// a missing one.
    fn close(&mut self, end: Pos, cut: bool) -> Option<()> {
        let open = self.stack.pop()?;
        self.places[open.id].cut = cut;
        let kind = if open.map {
            let mut items = open.items.into_iter();
            let mut pairs = Vec::new();
            while let Some(key) = items.next() {
                let value = match items.next() {
                    Some(value) => value,
                    None => {
                        let id = self.place(end)?;
                        self.places[id].parent = Some(open.id);
                        self.places[id].in_seq = false;
                        Node {
                            id,
                            at: end,
                            kind: Kind::Missing,
                        }
                    }
                };
                pairs.push((key, value));
            }
            Kind::Map(pairs)
        } else {
            Kind::Seq(open.items)
        };
        let node = Node {
            id: open.id,
            at: open.at,
            kind,
        };
        self.done(node, open.anchor, end);
        Some(())
    }

    /// A copy of an anchored node where an alias names it, with ids of its
    /// own.
    fn copy(&mut self, node: &Node, at: Pos) -> Option<Node> {
        if self.stack.len() >= MAX_DEPTH {
            return None;
        }
        let id = self.place(at)?;
        let kind = match &node.kind {
            Kind::Seq(items) => {
                self.stack.push(Open {
                    id,
                    at,
                    map: false,
                    anchor: 0,
                    items: Vec::new(),
                });
                let items: Option<Vec<Node>> = items.iter().map(|n| self.copy(n, at)).collect();
                self.stack.pop();
                Kind::Seq(items?)
            }
            Kind::Map(pairs) => {
                self.stack.push(Open {
                    id,
                    at,
                    map: true,
                    anchor: 0,
                    items: Vec::new(),
                });
                let pairs: Option<Vec<(Node, Node)>> = pairs
                    .iter()
                    .map(|(k, v)| Some((self.copy(k, at)?, self.copy(v, at)?)))
                    .collect();
                self.stack.pop();
                Kind::Map(pairs?)
            }
            other => other.clone(),
        };
        Some(Node { id, at, kind })
    }

    /// Takes one event; `None` when the file is past what this reader reads.
    fn take(&mut self, event: Event<'_>, at: Pos, end: Pos) -> Option<()> {
        match event {
            Event::Scalar(text, style, anchor, _) => {
                let id = self.place(at)?;
                let kind = Kind::Scalar {
                    text: text.into_owned(),
                    plain: style == ScalarStyle::Plain,
                };
                self.done(Node { id, at, kind }, anchor, end);
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return None;
                }
                let id = self.place(at)?;
                let map = matches!(event, Event::MappingStart(..));
                self.stack.push(Open {
                    id,
                    at,
                    map,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(end, false)?,
            Event::Alias(anchor) => {
                let node = self.anchors.get(&anchor)?.clone();
                let copy = self.copy(&node, at)?;
                self.done(copy, 0, end);
            }
            // A second document is not part of this file's one.
            Event::DocumentStart(..) if self.root.is_some() => return None,
            _ => {}
        }
        Some(())
    }
}

impl Tree {
    /// Reads `text` as far as its syntax allows; `None` for a file past
    /// what this reader takes (too deep, too many nodes, an alias to
    /// nothing): the strict reader's word on it is then the whole story.
    pub(crate) fn read(text: &str) -> Option<Tree> {
        let mut builder = Builder {
            stack: Vec::new(),
            places: Vec::new(),
            anchors: HashMap::new(),
            root: None,
        };
        let mut parser = Parser::new_from_str(text);
        let mut cut_at = None;
        while let Some(next) = parser.next_event() {
            match next {
                Ok((event, span)) => {
                    let (at, end) = (Pos::of(&span.start), Pos::of(&span.end));
                    if builder.take(event, at, end).is_none() {
                        if builder.root.is_some() && builder.stack.is_empty() {
                            break;
                        }
                        return None;
                    }
                }
                Err(err) => {
                    cut_at = Some(Pos::of(err.marker()));
                    break;
                }
            }
        }
        let end = cut_at.unwrap_or_default();
        while !builder.stack.is_empty() {
            builder.close(end, true)?;
        }
        let root = match builder.root.take() {
            Some(root) => root,
            None => {
                let at = Pos { line: 1, column: 1 };
                let id = builder.place(at)?;
                Node {
                    id,
                    at,
                    kind: Kind::Missing,
                }
            }
        };
        Some(Tree {
            root,
            places: builder.places,
            cut_at,
        })
    }

    /// The nodes that hold `id`, nearest first.
    pub(crate) fn ancestors(&self, id: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.places[id].parent, |p| self.places[*p].parent)
    }
}
