//! Integration tests: the real `fnctl` binary against the examples, the
//! templates and a corpus of malformed manifests.

mod arm;
mod aws;
mod azure;
mod azure_classic;
mod azure_ownership;
mod azurite;
mod bench;
mod cli;
mod common;
mod crashes;
mod dev;
mod examples;
mod fault_proxy;
mod faults;
mod fuzz;
mod honest_plan;
mod layering;
mod invoke_requests;
mod local;
mod logs;
mod locking;
mod long_names;
mod malformed;
mod moto;
mod multi_cloud;
mod ownership;
mod packaging;
mod portable;
mod remove_keeps_data;
mod rollback;
mod runtimes;
mod secrets;
mod stage_names;
mod stand_in;
