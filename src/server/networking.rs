//! Accepting, reading, parsing, replying: the mirror of Redis's `networking.c`.
