//! Runnable examples of asm; see `src/bin/`. Each runs against a local Secrets Manager.
