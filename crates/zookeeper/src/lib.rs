//! The [`ports::Coordinator`] on Apache ZooKeeper, over the pure-Rust, async
//! [`zookeeper_client`] (0.11).
//!
//! The main type is [`ZkCoordinator`], opened by [`ZkCoordinator::connect`] from a URL
//! `zk://host:port[,host:port...][/chroot]`. Each document is one persistent znode under the
//! chroot (`/lambda-trends/active` is `<chroot>/lambda-trends/active`) and its `Stat.version` is
//! the document version: creating is `create` (`NodeExists` is a conflict), compare-and-set is
//! `setData` with the expected version (`BadVersion`, or `NoNode` after a delete, is a
//! conflict). The flip history uses persistent sequential znodes. Missing parents, and the
//! chroot itself, are created on demand. The conformance suite the embedded coordinator passes
//! runs against a real server in `tests/`.
//!
//! Errors say what to do: connection loss, timeouts and an expired session are
//! [`ports::PortError::Unavailable`] (retry with backoff); a bad URL, path, ACL or quota is
//! [`ports::PortError::Invalid`] (retrying will not help).
//!
//! # One decision explained: one-shot watches, re-armed by a read
//!
//! [`ports::Coordinator::watch`] promises the current value at once and never missing the
//! latest. ZooKeeper 3.6+ also offers persistent watches, but they tell only *that* a znode
//! changed, not its data, and they can lose events across a reconnection (ZOOKEEPER-4698), so a
//! reader has to re-read anyway. Instead, a background task per watch reads the znode *with* a
//! one-shot watch in the same request (`getData` with a watch, or `exists` with a watch while the
//! znode is missing): the watch is set at exactly the version read, so the next change always
//! fires it; the task then reads again with a new watch and publishes the value if it differs.
//! Changes in between are coalesced, which the port allows. One-shot watches also survive a
//! reconnection to another server (the client re-registers them). What they do not survive is
//! session expiry, which is terminal for a client: the expiry fires every watch with a session
//! event, the task's next read finds the session ended, and the coordinator opens a new session
//! (and recreates the chroot) before reading and watching again. The task ends when the last
//! receiver is dropped.

mod address;
mod coordinator;
mod error;

pub use coordinator::ZkCoordinator;
