//! The inventory exactly as written in YAML, with a source position on every value.
//!
//! Nothing here is validated beyond its YAML shape; `validate.rs` turns this into the resolved
//! `Inventory`. Component sections are kept as generic nodes so that each component module
//! owns the list of its own settings (adding a component needs no change here).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::diag::Pos;

pub type S<T> = Spanned<T>;

pub fn pos<T>(s: &S<T>) -> Pos {
    Pos::from_saphyr(&s.referenced)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInventory {
    pub cluster: S<String>,
    #[serde(default)]
    pub defaults: Option<S<RawSettings>>,
    #[serde(default)]
    pub components: Option<S<Pairs>>,
    /// More configuration keys (globs) whose values are secret, beyond stackctl's own list.
    #[serde(default)]
    pub secret_keys: Option<S<Vec<S<String>>>>,
    /// The base release archives are fetched from (a URL or a directory laid out like
    /// `https://archive.apache.org/dist/`).
    #[serde(default)]
    pub mirror: Option<S<String>>,
    pub hosts: S<Vec<S<RawHost>>>,
    /// The position in `hosts:` of each host above, when some were left out because their
    /// shape is wrong (`shape.rs`); empty when every host is there.
    #[serde(skip)]
    pub host_index: Vec<usize>,
}

/// Settings every host inherits from `defaults:` and may override.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub ssh_user: Option<S<String>>,
    pub ssh_port: Option<S<u64>>,
    pub ssh_host: Option<S<String>>,
    pub probe: Option<S<String>>,
    pub java_home: Option<S<String>>,
    pub java_version: Option<S<Scalar>>,
    pub install_dir: Option<S<String>>,
    pub data_dir: Option<S<String>>,
    pub log_dir: Option<S<String>>,
    /// `sudo`: every remote script runs through `sudo -n` (a non-root login).
    pub r#become: Option<S<String>>,
    /// Whether missing service users and groups are created (default: when root or become).
    pub create_users: Option<S<Scalar>>,
}

/// A host: identity, roles, optional pinned ids, and any setting from `defaults` overridden.
/// The settings are spelled out (not `#[serde(flatten)]`) because flattening loses positions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    pub name: S<String>,
    pub address: S<String>,
    pub roles: S<Vec<S<String>>>,
    pub zookeeper_id: Option<S<u64>>,
    pub broker_id: Option<S<u64>>,
    pub controller_id: Option<S<u64>>,
    pub ssh_user: Option<S<String>>,
    pub ssh_port: Option<S<u64>>,
    pub ssh_host: Option<S<String>>,
    pub probe: Option<S<String>>,
    pub java_home: Option<S<String>>,
    pub java_version: Option<S<Scalar>>,
    pub install_dir: Option<S<String>>,
    pub data_dir: Option<S<String>>,
    pub log_dir: Option<S<String>>,
    pub r#become: Option<S<String>>,
    pub create_users: Option<S<Scalar>>,
}

/// A YAML scalar kept as text: `2000`, `true` and `"2000"` all become strings, because every
/// configuration file stackctl writes is text. Typed checks happen in validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Node::deserialize(d)? {
            Node::Scalar(s) | Node::Float(s) => Ok(Scalar(s)),
            Node::Null => Err(de::Error::custom("expected a value, found null")),
            other => Err(de::Error::custom(format!(
                "expected a single value, found {}",
                other.kind()
            ))),
        }
    }
}

/// A generic YAML node with positions on every child, used for component sections.
#[derive(Debug)]
pub enum Node {
    Null,
    Scalar(String),
    /// An unquoted decimal such as `2.10`, which YAML reads as the number 2.1. Fine for a
    /// property value, wrong for a version: those must be quoted.
    Float(String),
    Seq(Vec<S<Node>>),
    Map(Vec<(S<String>, S<Node>)>),
}

impl Node {
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Scalar(_) => "a value",
            Node::Float(_) => "a number",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<S<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<S<String>>()? {
            let value = map.next_value::<S<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

/// A mapping whose order and key positions we keep (used for `components:`).
#[derive(Debug, Default)]
pub struct Pairs(pub Vec<(S<String>, S<Node>)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Node::deserialize(d)? {
            Node::Map(entries) => Ok(Pairs(entries)),
            Node::Null => Ok(Pairs(Vec::new())),
            other => Err(de::Error::custom(format!(
                "expected a mapping, found {}",
                other.kind()
            ))),
        }
    }
}
