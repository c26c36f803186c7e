#![doc = include_str!("../README.md")]

pub mod card;
pub mod config;
pub mod control;
pub mod dataplane;
pub mod defaults;
pub mod faults;
pub mod ike;
pub mod lab;
pub mod metrics;
pub mod packet;
pub mod path;
pub mod sa;
pub mod state;
pub mod stats;
pub mod tun;
