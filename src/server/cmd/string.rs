//! (family string: filled in by its owner)

use super::RedisCommand;

pub const COMMANDS: &[RedisCommand] = &[];
