//! Everything that talks to a host: SSH transport, fact scripts with their pure parsers, and
//! the probes and wire clients (ZooKeeper, Kafka, HTTP/JMX) that health gates and `verify` use.

pub mod facts;
pub mod kafka_wire;
pub mod persist;
pub mod probe;
pub mod sshcfg;
pub mod transport;
pub mod zk;
