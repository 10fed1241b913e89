//! (family connection: filled in by its owner)

use super::RedisCommand;

pub const COMMANDS: &[RedisCommand] = &[];
